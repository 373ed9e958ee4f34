{#- Intervals for a ratio of sums when the randomisation unit is a cluster (the
    project): the exposures or match runs of one project are correlated, so
    their count overstates the information (docs/interleaving.md).

    Call inside an aggregate over one row per cluster: `num` and `den` are that
    cluster's numerator and denominator (e.g. thumbs-up exposures and exposures
    of one project). The ratio r = sum(num) / sum(den) gets the delta-method
    (linearised) variance of a ratio estimator over K clusters,
        K / (K - 1) * sum((num - r den)^2) / sum(den)^2,
    written with sums of squares so it needs one pass (and works under grouping
    sets). With one cluster it is undefined (NULL). -#}
{% macro cluster_ratio(num, den) -%}
    (sum({{ num }})::float8 / nullif(sum({{ den }}), 0))
{%- endmacro %}

{% macro cluster_ratio_variance(num, den) -%}
    case when count(*) > 1 and sum({{ den }}) > 0 then
        greatest(0.0,
            count(*)::float8 / (count(*) - 1) * (
                sum(({{ num }})::float8 * ({{ num }}))
                - 2 * {{ cluster_ratio(num, den) }} * sum(({{ num }})::float8 * ({{ den }}))
                + {{ cluster_ratio(num, den) }} ^ 2 * sum(({{ den }})::float8 * ({{ den }}))
            ) / (sum({{ den }})::float8 ^ 2))
    end
{%- endmacro %}

{#- Effective sample size of a proportion under clustering: rate (1 - rate) /
    variance (the columns computed with the macros above), never more than the
    units counted, `n` (a design effect below 1 is not claimed); `n` itself when
    the variance is unknown (one cluster) or zero. Scalar: use it on the columns
    of a CTE, then wilson_bound(rate * n_eff, n_eff). -#}
{% macro effective_sample_size(rate, variance, n) -%}
    case when {{ variance }} > 0 then least({{ n }}::float8, {{ rate }} * (1 - {{ rate }}) / {{ variance }}) else {{ n }}::float8 end
{%- endmacro %}

{#- 95% bound of the difference of two independent ratios (delta method: the
    variances add), e.g. a variant's rate minus control's. -#}
{% macro cluster_diff_bound(rate_a, variance_a, rate_b, variance_b, side) -%}
    ({{ rate_a }} - {{ rate_b }} {{ '-' if side == 'lower' else '+' }} 1.96 * sqrt({{ variance_a }} + {{ variance_b }}))
{%- endmacro %}
