{#- The one home of "which event wins for an interaction" (R-03, R-11, R-13).
    Used by the dbt models, by the outcome trigger and by the drift repair, so
    the set-based rule and the stored column cannot disagree by construction.

    best_event_per_interaction: per interaction, the event whose type has the
    best (lowest) rank in the lookup seed; ties go to the latest created_at,
    then the highest id (two events in one transaction share created_at). -#}
{% macro best_event_per_interaction(events, type_column, lookup, lookup_key, rank_column, where=none, first_by=none) -%}
    select distinct on (ev.interaction_id)
        ev.interaction_id,
        ev.id as event_id,
        ev.{{ type_column }} as event_type,
        ev.created_at as event_created_at,
        lk.{{ rank_column }} as event_rank,
        lk.label as event_label
        {%- if first_by %},
        {{ first_by }} as first_by
        {%- endif %}
    from {{ events }} as ev
    inner join {{ lookup }} as lk on ev.{{ type_column }} = lk.{{ lookup_key }}
    where ev.interaction_id is not null
    {%- if where %}
        and {{ where }}
    {%- endif %}
    order by ev.interaction_id asc, {{ first_by ~ ' asc, ' if first_by }}lk.{{ rank_column }} asc, ev.created_at desc, ev.id desc
{%- endmacro %}

{#- The feedback outcome rule: non-revoked feedback with the best priority. -#}
{% macro feedback_outcome_winners(feedback_events, feedback_types, where=none) -%}
    {%- set filters = ['not ev.is_revoked'] + ([where] if where else []) -%}
    {{ best_event_per_interaction(feedback_events, 'feedback_type', feedback_types, 'feedback_type', 'priority', filters | join(' and ')) }}
{%- endmacro %}

{#- R-03 outcome layer: one row per interaction with any feedback event, the
    rule's winner or NULLs when every event is revoked. One sort: revoked events
    go last, so an interaction's first event is its winner unless all are revoked. -#}
{% macro outcome_layer(feedback_events) -%}
select
    w.interaction_id,
    case when not w.first_by then w.event_type end as outcome,
    case when not w.first_by then w.event_created_at end as feedback_at,
    case when not w.first_by then w.event_id end as winning_feedback_id,
    case when not w.first_by then w.event_rank end as outcome_priority,
    case when not w.first_by then w.event_label end as feedback_label
from (
    {{ best_event_per_interaction(feedback_events, 'feedback_type', ref('feedback_types'), 'feedback_type', 'priority', first_by='ev.is_revoked') | indent(4) }}
) as w
{%- endmacro %}

{#- R-11 CV layer: per interaction the best stage reached (a later `lost` does
    not erase an earlier `offer`). Phase 1: only conversions with an interaction. -#}
{% macro conversion_layer(conversion_events) -%}
    {{ best_event_per_interaction(conversion_events, 'stage', ref('conversion_stages'), 'stage', 'stage_rank') }}
{%- endmacro %}

{#- R-11 behaviour layer: per interaction the strongest behaviour signal. -#}
{% macro behavior_layer(interaction_events) -%}
    {{ best_event_per_interaction(interaction_events, 'event_type', ref('behavior_event_types'), 'event_type', 'event_rank') }}
{%- endmacro %}

{#- R-11 merge: label = coalesce(CV, FB, behaviour) and where it came from. -#}
{% macro merged_label(cv_label, fb_label, behavior_label) -%}
    coalesce({{ cv_label }}, {{ fb_label }}, {{ behavior_label }})
{%- endmacro %}

{% macro label_signal_source(cv_label, fb_label, behavior_label) -%}
    case
        when {{ cv_label }} is not null then 'conversion'
        when {{ fb_label }} is not null then 'feedback'
        when {{ behavior_label }} is not null then 'behavior'
    end
{%- endmacro %}

{#- A model's or seed's relation, for code that cannot use ref(): on-run-start
    migrations and run-operation macros. Resolved from the manifest, so schemas
    stay configured only in dbt_project.yml. -#}
{% macro ses_relation(node_name) -%}
    {%- if not execute -%}
        {{ return('"unresolved"."' ~ node_name ~ '"') }}
    {%- endif -%}
    {%- for node in graph.nodes.values() if node.resource_type in ('seed', 'model') and node.name == node_name -%}
        {{ return(adapter.quote(node.schema) ~ '.' ~ adapter.quote(node.alias)) }}
    {%- endfor -%}
    {%- do exceptions.raise_compiler_error('unknown model or seed "' ~ node_name ~ '"') -%}
{%- endmacro %}

{#- A dbt function's relation (schema from dbt_project.yml), for migrations. -#}
{% macro ses_function(function_name) -%}
    {%- if not execute -%}
        {{ return('"unresolved"."' ~ function_name ~ '"') }}
    {%- endif -%}
    {%- for node in graph.get('functions', {}).values() if node.name == function_name -%}
        {{ return(adapter.quote(node.schema) ~ '.' ~ adapter.quote(node.alias or node.name)) }}
    {%- endfor -%}
    {{ return('ses.' ~ function_name) }}
{%- endmacro %}
