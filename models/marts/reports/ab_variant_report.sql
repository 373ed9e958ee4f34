-- R-35: per A/B variant, exposures and the seed's three rates with 95% Wilson
-- intervals. A rate counts exposures with at least one non-revoked feedback
-- event of that type (an accepted pair that was also thumbed up counts in both).
{% set rates = ['thumbs_up', 'accepted', 'interview_scheduled'] %}

with exposure_feedback as (
    select
        il.interaction_id,
        coalesce(il.variant, 'unassigned') as variant,
        il.project_id,
    {% for rate in rates -%}
        coalesce(bool_or(fe.feedback_type = '{{ rate }}'), false) as has_{{ rate }}{{ ',' if not loop.last }}
    {% endfor %}
    from {{ ref('stg_ses__interaction_logs') }} as il
    left join {{ ref('stg_ses__feedback_events') }} as fe
        on il.interaction_id = fe.interaction_id and not fe.is_revoked
    group by 1, 2, 3
),

counts as (
    select
        variant,
        count(*) as exposures,
        count(distinct project_id) as projects,
    {% for rate in rates -%}
        count(*) filter (where has_{{ rate }}) as {{ rate }}_count{{ ',' if not loop.last }}
    {% endfor %}
    from exposure_feedback
    group by 1
)

select
    variant,
    exposures,
    projects,
{% for rate in rates -%}
    {{ rate }}_count,
    {{ rate }}_count::float8 / exposures as {{ rate }}_rate,
    {{ wilson_bound(rate ~ '_count', 'exposures', 'lower') }} as {{ rate }}_rate_lower,
    {{ wilson_bound(rate ~ '_count', 'exposures', 'upper') }} as {{ rate }}_rate_upper{{ ',' if not loop.last }}
{% endfor %}
from counts
