{#- V041: what a match run used and what the baselines said, per displayed pair.
    historical_score: R-30's historical factor the ranking multiplied in (the
    talent's smoothed positive rate as of the last nightly build); hash_score: the
    seed's hash two-tower score of the pair at match time, whatever embedder
    served. Logged at match time, both are free of leakage, so the
    model_evaluation mart compares the served model with the hash tower and the
    popularity baseline on exactly the pairs it showed. NULL for runs logged
    without them (by another client, or before V041). -#}
{% macro migration_v041_match_result_baselines() %}
alter table ses.match_results
    add column if not exists historical_score double precision,
    add column if not exists hash_score double precision;
{% endmacro %}
