{#- The seed's recovery SQL (「正を求めるSQL」), set-based: find interactions whose
    stored outcome differs from the rule and recompute each one through
    ses.refresh_interaction_outcome(), which locks the row first, so a repair
    running beside live writers cannot write a stale value.
    dbt run-operation repair_outcome_drift [--args '{dry_run: true}'] -#}
{% macro repair_outcome_drift(dry_run=false) %}
    {% set drifted_sql %}
        with winners as (
            {{ feedback_outcome_winners(source('ses', 'feedback_events'), ses_relation('feedback_types')) }}
        )
        select il.id
        from {{ source('ses', 'interaction_logs') }} as il
        left join winners as w on il.id = w.interaction_id
        where il.outcome is distinct from w.event_type
           or il.feedback_at is distinct from w.event_created_at
    {% endset %}
    {% if dry_run %}
        {% set result = run_query('select count(*) from (' ~ drifted_sql ~ ') as d') %}
        {% do log('outcome drift: ' ~ result.columns[0].values()[0] ~ ' interaction(s) would be repaired', info=True) %}
    {% else %}
        {% set result = run_query(
            'select count(*) from (select ses.refresh_interaction_outcome(d.id) as repaired from ('
            ~ drifted_sql ~ ') as d) as r') %}
        {% do run_query('commit') %}
        {% do log('outcome drift: repaired ' ~ result.columns[0].values()[0] ~ ' interaction(s)', info=True) %}
    {% endif %}
{% endmacro %}
