{#- The one home of the write path's input rules (R-02). Every rule renders a
    SQL expression that is NULL for a good value and otherwise
    '<SQLSTATE>|<message naming the value>'; ses.wp_raise() turns it into the
    error. The single-row functions, their batch twins and ses.log_match_run /
    ses.run_match all evaluate these expressions, so a value is good or bad
    the same way everywhere. SQLSTATEs (docs/access.md lists them):
      22004 a required value is missing (NULL, empty or blank)
      22001 a value is too long
      22003 a number is out of range (scores, weights)
      22008 an event time outside the accepted window (or +/-infinity)
      22023 any other invalid value: wrong JSON type, unknown type/stage/source,
            control or bidirectional-format characters, bad ranks, duplicates
      23503 a reference to a row that does not exist
      23505 a match_run_id logged before with another payload
      55000 a feedback event that is already revoked -#}

{#- Characters never accepted in names, keys and versions: C0/C1 controls and
    the bidirectional formatting marks that make a logged name display as
    something else. Blank = nothing but (Unicode) white space. -#}
{% macro wp_bad_chars() -%}
'[\u0001-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]'
{%- endmacro %}

{% macro wp_blank() -%}
'^[\s\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]*$'
{%- endmacro %}

{#- A text value: required (or optional), at most `max` characters, no
    control or bidi-format characters. -#}
{% macro wp_text_problem(name, v, max, required=true) -%}
case
    {%- if required %}
    when {{ v }} is null or {{ v }} ~ {{ wp_blank() }}
        then '22004|{{ name }} is required (got ' || coalesce(ses.wp_shown({{ v }}), 'NULL') || ')'
    {%- else %}
    when {{ v }} is null then null
    when {{ v }} ~ {{ wp_blank() }}
        then '22004|{{ name }} must not be blank (got ' || ses.wp_shown({{ v }}) || ')'
    {%- endif %}
    when char_length({{ v }}) > {{ max }}
        then '22001|{{ name }} is too long: ' || char_length({{ v }}) || ' characters (max {{ max }}): '
            || ses.wp_shown({{ v }})
    when {{ v }} ~ {{ wp_bad_chars() }}
        then '22023|{{ name }} contains a control or bidirectional-format character: ' || ses.wp_shown({{ v }})
end
{%- endmacro %}

{#- No row of `table` (alias t) matches `condition`. A correlated scalar
    subquery, so each row probes the index: a NOT EXISTS inside a CASE may be
    planned as a hashed subplan that reads the whole table for every call. -#}
{% macro wp_missing(table, condition) -%}
(select true from {{ table }} as t where {{ condition }} limit 1) is null
{%- endmacro %}

{#- The problem of column `col` whose value is `prefix ~ name` (r.actor in a
    set of rows, p_actor for a parameter). `rows`: the value is one of several
    rows of one call, so repeats inside the call are checked too. -#}
{% macro wp_value_problem(col, prefix, rows=true) -%}
{%- set name = col.name -%}
{%- set v = prefix ~ name -%}
{%- set lim = write_api_limits() -%}
{%- if col.rule == 'name' -%}
    {{ wp_text_problem(name, v, col.max) }}
{%- elif col.rule == 'optional_name' -%}
    {{ wp_text_problem(name, v, col.max, required=false) }}
{%- elif col.rule == 'known' -%}
    {%- set seed = ses_relation(col.seed) -%}
case
    when {{ v }} is null or {{ v }} ~ {{ wp_blank() }}
        then '22004|{{ name }} is required (got ' || coalesce(ses.wp_shown({{ v }}), 'NULL') || ')'
    when not exists (select 1 from {{ seed }} as s where s.{{ name }} = {{ v }})
        then '22023|unknown {{ name }} ' || ses.wp_shown({{ v }}) || ' (expected one of: '
            || (select string_agg(s.{{ name }}, ', ' order by s.{{ name }}) from {{ seed }} as s) || ')'
end
{%- elif col.rule == 'one_of' -%}
case
    {%- if col.get('optional') %}
    when {{ v }} is null then null
    {%- endif %}
    when {{ v }} is null or {{ v }} not in ('{{ col['values'] | join("', '") }}')
        then '22023|unknown {{ name }} ' || coalesce(ses.wp_shown({{ v }}), 'NULL')
            || ' (expected one of: {{ col['values'] | join(', ') }})'
end
{%- elif col.rule == 'reference' -%}
case
    when {{ v }} is null then '22004|{{ name }} is required (got NULL)'
    when {{ wp_missing(col.table, 't.id = ' ~ v) }}
        then '23503|{{ col.unknown }} ' || {{ v }}
end
{%- elif col.rule == 'revocable' -%}
case
    when {{ v }} is null then '22004|{{ name }} is required (got NULL)'
    when {{ wp_missing('ses.feedback_events', 't.id = ' ~ v) }}
        then '23503|unknown feedback event id ' || {{ v }}
    when (select t.is_revoked from ses.feedback_events as t where t.id = {{ v }})
        then (select '55000|feedback event ' || t.id || ' is already revoked (by ' || left(t.revoked_by, 120)
                     || ' at ' || t.revoked_at || ')'
              from ses.feedback_events as t where t.id = {{ v }})
    {%- if rows %}
    when {{ prefix }}{{ name }}__nth > 1
        then '55000|feedback event ' || {{ v }} || ' is already revoked (by '
            || left({{ prefix }}{{ name }}__first_by, 120) || ' at ' || {{ prefix }}{{ name }}__first_at
            || ') earlier in this call'
    {%- endif %}
end
{%- elif col.rule == 'conversion_pair' -%}
case
    when {{ prefix }}interaction_id is not null then null
    when {{ prefix }}talent_id is null or {{ prefix }}project_id is null
        then '22004|talent_id and project_id are required without interaction_id (got talent '
            || coalesce({{ prefix }}talent_id::text, 'NULL') || ', project '
            || coalesce({{ prefix }}project_id::text, 'NULL') || ')'
    when {{ wp_missing(col.table, 't.id = ' ~ v) }}
        then '23503|unknown {{ name }} ' || {{ v }}
end
{%- elif col.rule == 'conversion_interaction' -%}
case
    when {{ v }} is null then null
    when {{ wp_missing('ses.interaction_logs', 't.id = ' ~ v) }}
        then '23503|unknown interaction_id ' || {{ v }}
    when {{ wp_missing('ses.interaction_logs',
                       't.id = ' ~ v ~ ' and t.talent_id = ' ~ prefix ~ 'talent_id and t.project_id = ' ~ prefix ~ 'project_id') }}
        then (select '22023|conversion pair (talent ' || coalesce({{ prefix }}talent_id::text, 'NULL')
                     || ', project ' || coalesce({{ prefix }}project_id::text, 'NULL')
                     || ') does not match interaction ' || t.id || ' (talent ' || t.talent_id
                     || ', project ' || t.project_id || ')'
              from ses.interaction_logs as t where t.id = {{ v }})
end
{%- elif col.rule == 'object' -%}
case
    when {{ v }} is null then null
    when jsonb_typeof({{ v }}) <> 'object'
        then '22023|{{ name }} must be a JSON object, got ' || jsonb_typeof({{ v }}) || ': '
            || ses.wp_shown({{ v }}::text, false)
    when octet_length({{ v }}::text) > {{ lim.json_max_bytes }}
        then '22001|{{ name }} is too large: ' || octet_length({{ v }}::text)
            || ' bytes as JSON text (max {{ lim.json_max_bytes }})'
end
{%- elif col.rule == 'event_time' -%}
case
    when {{ v }} is null then null
    when not ({{ v }} >= timestamptz '{{ lim.event_time_min }}' and {{ v }} < timestamptz '{{ lim.event_time_max }}')
        then '22008|{{ name }} ' || {{ v }} || ' is outside the accepted event time range ['
            || timestamptz '{{ lim.event_time_min }}' || ', ' || timestamptz '{{ lim.event_time_max }}' || ')'
end
{%- elif col.rule == 'score' -%}
case
    when {{ v }} is null then null
    when not ({{ v }} >= 0 and {{ v }} <= 1)
        then '22003|{{ name }} must be in [0, 1], got ' || {{ v }}
end
{%- elif col.rule == 'weight' -%}
case
    when {{ v }} is null then null
    when not ({{ v }} >= 0 and {{ v }} < 'infinity'::float8)
        then '22003|{{ name }} must be a finite number >= 0, got ' || {{ v }}
end
{%- elif col.rule == 'rank' -%}
case
    when {{ v }} is null then '22004|{{ name }} is required (got NULL)'
    when {{ v }} < 1 or {{ v }} > {{ prefix }}{{ name }}__count
        then '22023|{{ name }} must be between 1 and ' || {{ prefix }}{{ name }}__count
            || ' (the number of candidates), got ' || {{ v }}
end
{%- elif col.rule == 'run_id' -%}
case
    when {{ v }} is null then null
    when {{ v }} ~ {{ wp_blank() }}
        then '22004|{{ name }} must not be blank (got ' || ses.wp_shown({{ v }}) || ')'
    when char_length({{ v }}) > 64
        then '22001|{{ name }} is too long: ' || char_length({{ v }}) || ' characters (max 64): '
            || ses.wp_shown({{ v }})
    when {{ v }} !~ '^[0-9A-Za-z_.:-]+$'
        then '22023|{{ name }} may hold only letters, digits and _ . : - (got ' || ses.wp_shown({{ v }}) || ')'
end
{%- elif col.rule == 'candidate_list' -%}
case
    when {{ v }} is null or jsonb_typeof({{ v }}) <> 'array'
        then '22023|{{ name }} must be a JSON array, got ' || coalesce(ses.wp_shown({{ v }}::text, false), 'NULL')
    when jsonb_array_length({{ v }}) > {{ col.max }}
        then '22023|{{ name }} holds ' || jsonb_array_length({{ v }}) || ' rows (max {{ col.max }} per match run)'
end
{%- elif col.rule == 'any' -%}
    null::text
{%- else -%}
    {%- do exceptions.raise_compiler_error('unknown write-path rule ' ~ col.rule ~ ' for ' ~ name) -%}
{%- endif -%}
{%- endmacro %}

{#- A repeated value of a `unique` column inside one call. -#}
{% macro wp_unique_problem(col, prefix, rows_name) -%}
case
    when {{ prefix }}{{ col.name }}__nth > 1
        then '22023|{{ col.name }} ' || {{ prefix }}{{ col.name }} || ' appears more than once (first at {{ rows_name }}['
            || ({{ prefix }}{{ col.name }}__first - 1) || '])'
end
{%- endmacro %}

{#- The first problem of a row: its JSON shape (batch rows), then each
    column's rule in column order. -#}
{% macro wp_row_problem(spec, prefix='r.', shape=true, rows=true) -%}
coalesce(
    {{ prefix ~ 'shape_problem' if shape else 'null::text' }}
    {%- for col in spec.columns %},
    {{ wp_value_problem(col, prefix, rows) | indent(4) }}
    {%- if col.get('unique') and rows %},
    {{ wp_unique_problem(col, prefix, spec.rows_name) | indent(4) }}
    {%- endif %}
    {%- endfor %}
)
{%- endmacro %}

{#- JSON -> typed value of column `col` of row object `e` (NULL when the JSON
    has the wrong type: wp_shape_problem names it). -#}
{% macro wp_json_value(col, e) -%}
{%- set j = e ~ " -> '" ~ col.name ~ "'" -%}
{%- set missing = col.get('default', 'null') -%}
case
    when not ({{ e }} ? '{{ col.name }}') then {{ missing }}
    {%- if col.type in ('bigint', 'integer') %}
    {%- set bound = '9223372036854775807' if col.type == 'bigint' else '2147483647' %}
    when jsonb_typeof({{ j }}) = 'number'
        and ({{ j }} #>> '{}')::numeric = trunc(({{ j }} #>> '{}')::numeric)
        and ({{ j }} #>> '{}')::numeric between -{{ bound }} and {{ bound }}
        then ({{ j }} #>> '{}')::numeric::{{ col.type }}
    {%- elif col.type == 'float8' %}
    when jsonb_typeof({{ j }}) = 'number'
        and (({{ j }} #>> '{}')::numeric = 0 or abs(({{ j }} #>> '{}')::numeric) between 1e-300 and 1e300)
        then ({{ j }} #>> '{}')::numeric::float8
    {%- elif col.type == 'text' %}
    when jsonb_typeof({{ j }}) = 'string' then {{ j }} #>> '{}'
    {%- elif col.type == 'timestamptz' %}
    when jsonb_typeof({{ j }}) = 'string' then ses.wp_timestamptz({{ j }} #>> '{}')
    {%- elif col.type == 'boolean' %}
    when jsonb_typeof({{ j }}) = 'boolean' then ({{ j }} #>> '{}')::boolean
    {%- elif col.type == 'jsonb' %}
    when jsonb_typeof({{ j }}) <> 'null' then {{ j }}
    {%- else %}
    {%- do exceptions.raise_compiler_error('unknown write-path type ' ~ col.type) %}
    {%- endif %}
end
{%- endmacro %}

{% macro wp_type_words(type) -%}
{{ {'bigint': 'an integer', 'integer': 'an integer', 'float8': 'a number', 'text': 'a string',
    'timestamptz': 'a timestamp string', 'boolean': 'true or false', 'jsonb': 'JSON'}[type] }}
{%- endmacro %}

{#- The JSON problem of a row object (raw JSON in `<name>__raw`, typed value in
    `<name>`): not an object, an unknown key, or a value of the wrong type. -#}
{% macro wp_shape_problem(spec, prefix) -%}
coalesce(
    (select '22023|unknown key ' || ses.wp_shown(k.key) || ' (expected: {{ spec.columns | map(attribute='name') | join(', ') }})'
     from jsonb_object_keys({{ prefix }}e) as k (key)
     where k.key not in ('{{ spec.columns | map(attribute='name') | join("', '") }}')
     limit 1)
    {%- for col in spec.columns if col.type != 'jsonb' %},
    case
        when {{ prefix }}{{ col.name }}__raw is not null and jsonb_typeof({{ prefix }}{{ col.name }}__raw) <> 'null'
            and {{ prefix }}{{ col.name }} is null
            then '22023|{{ col.name }} must be {{ wp_type_words(col.type) }}, got ' || ses.wp_shown({{ prefix }}{{ col.name }}__raw::text, false)
    end
    {%- endfor %}
)
{%- endmacro %}
