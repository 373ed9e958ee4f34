-- R-11 CV layer: per interaction the best stage reached (a later `lost` does
-- not erase an earlier `offer`). Phase 1: only conversions with an interaction.
{{ best_event_per_interaction(ref('stg_ses__conversion_events'), 'stage', ref('conversion_stages'), 'stage', 'stage_rank') }}
