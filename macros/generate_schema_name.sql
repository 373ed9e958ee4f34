{#- Custom schemas are used verbatim: the seed's views must be queryable as
    ses.training_pairs etc., not <target>_ses.training_pairs. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
