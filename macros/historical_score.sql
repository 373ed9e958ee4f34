{#- R-30's historical factor: how the staff and clients received a talent so far.

    rate  = (positive pairs + m * g) / (labelled pairs + m)   (Beta prior around g)
    score = (1 - a) + a * rate                                 in [1 - a, 1]

    labelled pairs: the talent's distinct (talent, project) pairs with an R-11 label;
    positive: best label >= evaluation_positive_threshold; g: the positive share of
    all labelled pairs; m = historical_prior_strength pseudo-pairs; a =
    historical_weight. Bounded below 1 and above 1 - a, it multiplies the base score
    of passed candidates only, so it reorders them and never lets a knocked-out pair
    in. training.baselines.Popularity computes the same rate for the popularity
    baseline (a database test keeps the two equal). -#}

{#- without_history: the factor of a talent with no labelled pair yet (no row in
    talent_historical_scores): the top of the range, so a new talent is not
    ranked down for lack of history. The ranking reads it through
    ses.historical_factor_without_history() (SQL and the vectorised shortlist). -#}
{% macro historical_settings() %}
    {{ return({
        'weight': var('historical_weight', 0.2) | float,
        'prior_strength': var('historical_prior_strength', 10) | float,
        'positive_threshold': var('evaluation_positive_threshold', 0.5) | float,
        'without_history': 1.0,
    }) }}
{% endmacro %}

{% macro smoothed_rate(positives, labelled, global_rate) -%}
    {%- set h = historical_settings() -%}
    (({{ positives }} + {{ h.prior_strength }} * {{ global_rate }}) / nullif({{ labelled }} + {{ h.prior_strength }}, 0))
{%- endmacro %}

{% macro historical_factor(rate) -%}
    {%- set h = historical_settings() -%}
    ((1.0 - {{ h.weight }}) + {{ h.weight }} * {{ rate }})
{%- endmacro %}

{#- Bad settings stop the build (the config migration calls this). -#}
{% macro validate_historical_settings() %}
    {%- set h = historical_settings() -%}
    {%- if not (0 <= h.weight <= 1) -%}
        {{ exceptions.raise_compiler_error('historical_weight must lie in [0, 1], got "' ~ var('historical_weight') ~ '"') }}
    {%- endif -%}
    {%- if not (h.prior_strength >= 0) -%}
        {{ exceptions.raise_compiler_error('historical_prior_strength must be >= 0, got "' ~ var('historical_prior_strength') ~ '"') }}
    {%- endif -%}
{% endmacro %}
