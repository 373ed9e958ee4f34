{#- R-20: the seed's v2 tokenizer ("common tokens + weights", appendix B.3),
    the one home of the token scheme. Project and talent emit the same tokens
    (skill:java, loc:東京都, ...) so a shared vocabulary makes the hash tower
    work; weights stress required skills. Bump two_tower_tokenizer_version()
    whenever a token or weight changes: cached embeddings key on it. -#}

{% macro two_tower_tokenizer_version() %}{{ return('v2') }}{% endmacro %}

{#- Experience buckets 0-2 / 3-5 / 6-10 / 11+ (anything else, negatives too, is 11+). -#}
{% macro exp_years_bucket(years) -%}
    case
        when {{ years }} between 0 and 2 then '0-2'
        when {{ years }} between 3 and 5 then '3-5'
        when {{ years }} between 6 and 10 then '6-10'
        else '11+'
    end
{%- endmacro %}

{#- Monthly price buckets in 万円: under30 / 30-50 / 50-70 / 70-100 / 100+. -#}
{% macro tanka_bucket(yen) -%}
    case
        when {{ yen }} < 300000 then 'under30'
        when {{ yen }} < 500000 then '30-50'
        when {{ yen }} < 700000 then '50-70'
        when {{ yen }} < 1000000 then '70-100'
        else '100+'
    end
{%- endmacro %}

{#- Per side: skill lists (column, weight) and single-valued fields
    (prefix, SQL expression, weight), in the seed's order. -#}
{% macro two_tower_token_spec(side) %}
    {%- if side == 'project' -%}
        {{ return({
            'id': 'project_id',
            'skills': [('required_skills_keywords', 2.0), ('preferred_skills_keywords', 1.0)],
            'fields': [
                ('loc:', 'work_todofuken', 1.5),
                ('loc:area:', 'work_area', 1.0),
                ('loc:station:', 'work_station', 0.5),
                ('remote:', 'remote_onsite', 1.5),
                ('exp:', exp_years_bucket('min_experience_years'), 1.0),
                ('contract:', 'contract_type', 1.0),
                ('tanka:', tanka_bucket('monthly_tanka_max'), 1.0),
                ('lang:ja:', 'japanese_skill', 1.0),
                ('lang:en:', 'english_skill', 1.0),
            ],
            'null_checks': {'exp:': 'min_experience_years', 'tanka:': 'monthly_tanka_max'},
        }) }}
    {%- elif side == 'talent' -%}
        {{ return({
            'id': 'talent_id',
            'skills': [('possessed_skills_keywords', 1.0)],
            'fields': [
                ('loc:', 'residential_todofuken', 1.5),
                ('loc:area:', 'residential_area', 1.0),
                ('loc:station:', 'nearest_station', 0.5),
                ('remote:', 'desired_remote_onsite', 1.5),
                ('exp:', exp_years_bucket('min_experience_years'), 1.0),
                ('contract:', 'primary_contract_type', 1.0),
                ('tanka:', tanka_bucket('desired_price_min'), 1.0),
                ('lang:ja:', 'japanese_skill', 1.0),
                ('lang:en:', 'english_skill', 1.0),
            ],
            'null_checks': {'exp:': 'min_experience_years', 'tanka:': 'desired_price_min'},
        }) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error('two_tower_token_spec: side must be project or talent, got ' ~ side) }}
    {%- endif -%}
{% endmacro %}

{#- Rows (entity_id, token_position, token, weight) for every entity of
    `relation` (staging columns); with `version_column` also that column (as
    version_from), for relations holding several versions of an entity. NULL
    fields and NULL array elements emit no token; an empty string is a value, as
    in the seed's Option<String>. Skills are Unicode lower-cased (ICU root locale
    = Rust's to_lowercase). -#}
{% macro two_tower_tokens(relation, side, version_column=none) %}
    {%- set spec = two_tower_token_spec(side) -%}
    {%- set version = (", e." ~ version_column ~ " as version_from") if version_column else "" -%}
    {%- set parts = [] -%}
    {%- for column, weight in spec.skills -%}
        {%- do parts.append(
            "select e." ~ spec.id ~ " as entity_id" ~ version ~ ", " ~ (loop.index * 10000) ~ " + s.ordinality as token_position, "
            ~ "'skill:' || " ~ normalize_skill('s.skill') ~ " as token, " ~ weight ~ "::float8 as weight "
            ~ "from " ~ relation ~ " as e cross join lateral unnest(e." ~ column ~ ") with ordinality as s (skill, ordinality) "
            ~ "where s.skill is not null") -%}
    {%- endfor -%}
    {%- for prefix, expression, weight in spec.fields -%}
        {%- set source_column = spec.null_checks.get(prefix, expression) -%}
        {%- do parts.append(
            "select e." ~ spec.id ~ version ~ ", " ~ (100000 + loop.index) ~ ", '" ~ prefix ~ "' || " ~ expression | replace('\n', ' ')
            ~ ", " ~ weight ~ "::float8 from " ~ relation ~ " as e where e." ~ source_column ~ " is not null") -%}
    {%- endfor -%}
    {{ parts | join('\nunion all\n') }}
{% endmacro %}
