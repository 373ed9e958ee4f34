-- R-35: per A/B variant, exposures and the seed's three rates. A rate counts
-- exposures with at least one non-revoked feedback event of that type (an
-- accepted pair that was also thumbed up counts in both). Variants are assigned
-- per project, so the intervals are clustered by project (macros/clustered_interval.sql):
-- the effective sample size replaces the exposure count; the plain Wilson
-- interval over exposures is kept as a labelled naive column.
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

per_project as (
    select
        variant,
        project_id,
        count(*) as exposures,
    {% for rate in rates -%}
        count(*) filter (where has_{{ rate }}) as {{ rate }}_count{{ ',' if not loop.last }}
    {% endfor %}
    from exposure_feedback
    group by 1, 2
),

by_variant as (
    select
        variant,
        sum(exposures)::bigint as exposures,
        count(*) as projects,
    {% for rate in rates -%}
        sum({{ rate }}_count)::bigint as {{ rate }}_count,
        {{ cluster_ratio(rate ~ '_count', 'exposures') }} as {{ rate }}_rate,
        {{ cluster_ratio_variance(rate ~ '_count', 'exposures') }} as {{ rate }}_variance{{ ',' if not loop.last }}
    {% endfor %}
    from per_project
    group by 1
),

with_effective_n as (
    select
        *,
    {% for rate in rates -%}
        {{ effective_sample_size(rate ~ '_rate', rate ~ '_variance', 'exposures') }}
            as {{ rate }}_effective_exposures{{ ',' if not loop.last }}
    {% endfor %}
    from by_variant
)

select
    v.variant,
    v.exposures,
    v.projects,
{% for rate in rates -%}
    v.{{ rate }}_count,
    v.{{ rate }}_rate,
    {% set n_eff = 'v.' ~ rate ~ '_effective_exposures' -%}
    {{ wilson_bound('v.' ~ rate ~ '_rate * ' ~ n_eff, n_eff, 'lower') }} as {{ rate }}_rate_lower,
    {{ wilson_bound('v.' ~ rate ~ '_rate * ' ~ n_eff, n_eff, 'upper') }} as {{ rate }}_rate_upper,
    v.{{ rate }}_effective_exposures,
    {{ wilson_bound('v.' ~ rate ~ '_count', 'v.exposures', 'lower') }} as {{ rate }}_rate_naive_lower,
    {{ wilson_bound('v.' ~ rate ~ '_count', 'v.exposures', 'upper') }} as {{ rate }}_rate_naive_upper,
    -- against control, projects independent: the variances add (delta method, 95%)
    v.{{ rate }}_rate - c.{{ rate }}_rate as {{ rate }}_diff_vs_control,
    {{ cluster_diff_bound('v.' ~ rate ~ '_rate', 'v.' ~ rate ~ '_variance',
                          'c.' ~ rate ~ '_rate', 'c.' ~ rate ~ '_variance', 'lower') }} as {{ rate }}_diff_lower,
    {{ cluster_diff_bound('v.' ~ rate ~ '_rate', 'v.' ~ rate ~ '_variance',
                          'c.' ~ rate ~ '_rate', 'c.' ~ rate ~ '_variance', 'upper') }} as {{ rate }}_diff_upper{{ ',' if not loop.last }}
{% endfor %}
from with_effective_n as v
left join with_effective_n as c on v.variant <> 'control' and c.variant = 'control'
