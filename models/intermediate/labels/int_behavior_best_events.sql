-- R-11 behaviour layer: per interaction the strongest behaviour signal.
{{ best_event_per_interaction(ref('stg_ses__interaction_events'), 'event_type', ref('behavior_event_types'), 'event_type', 'event_rank') }}
