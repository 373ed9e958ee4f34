{#- Wilson score interval bounds for a binomial proportion (95% by default);
    sound at small n and at rates near 0, unlike the normal approximation. -#}
{% macro wilson_bound(successes, n, side, z=1.96) -%}
    case when {{ n }} > 0 then
        (
            ({{ successes }})::float8 / {{ n }} + {{ z * z }} / (2.0 * {{ n }})
            {{ '-' if side == 'lower' else '+' }} {{ z }} * sqrt(
                ({{ successes }})::float8 / {{ n }} * (1 - ({{ successes }})::float8 / {{ n }}) / {{ n }}
                + {{ z * z }} / (4.0 * {{ n }} * {{ n }})
            )
        ) / (1 + {{ z * z }} / {{ n }})
    end
{%- endmacro %}
