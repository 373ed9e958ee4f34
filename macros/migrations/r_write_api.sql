{#- R-02: the in-database write path the matching app calls, generated from
    the column specs of macros/write_api/write_api_spec.sql. For each kind of
    write (feedback, revocation, behaviour event, conversion):

      ses.<single>(p_<column>, ...)    the call the app makes, one row: lock,
                                       check the parameters with the rules of
                                       write_api_rules.sql, write
      ses.<batch>(p_<rows> jsonb)      the same for a JSON array of rows (keys =
                                       the parameter names without p_), through
      ses.wp_write_<kind>(rows, name)  parse the JSON rows, lock what the write
                                       serialises on, find the first bad row
                                       with the same rules, write in one
                                       statement

    A bad row raises the rule's SQLSTATE with a message naming the value (and,
    in a batch, the row: `(events[3])`), and nothing is written: each call is
    one statement of the caller's transaction. Ids come from the table's
    sequence in input order, so a batch writes the rows and ids that the
    single-row calls made one after another would.

    Concurrency: writes that change an interaction's stored outcome (feedback,
    revocations) and behaviour events first lock the interaction rows they
    touch, in id order, so concurrent batches cannot deadlock on them; a
    revocation then locks its feedback rows, also in id order. At REPEATABLE
    READ or SERIALIZABLE a call that meets a concurrent write on the same
    interaction fails with 40001 (retry the transaction) instead of computing
    the outcome from a stale snapshot (see r_outcome_rule.sql).

    The public functions are SECURITY DEFINER (run as the owner role) with a
    pinned search_path, and every name inside is schema-qualified, so objects
    in a caller's search_path cannot change what they do. -#}
{% macro migration_r_write_api() %}
-- Old helpers of the hand-written write path (one rule home now).
drop function if exists ses.require_text(text, text);
drop function if exists ses.require_json_object(jsonb, text);
drop function if exists ses.require_known(text, text, regclass, text);
drop function if exists ses.require_interaction(bigint);
drop function if exists ses.feedback_batch_rows(jsonb);
drop function if exists ses.revocation_batch_rows(jsonb);
drop function if exists ses.interaction_event_batch_rows(jsonb);
drop function if exists ses.conversion_batch_rows(jsonb);

-- A value for an error message: at most 120 characters, control and bidi
-- characters as \uXXXX, quoted (JSON text: p_quote false, it delimits itself).
drop function if exists ses.wp_shown(text);
create or replace function ses.wp_shown(p_value text, p_quote boolean default true)
returns text
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $fn$
declare
    v_head text := left(p_value, 120);
    v_out text := '';
    v_char text;
begin
    if p_value is null then
        return null;
    end if;
    for i in 1..char_length(v_head) loop
        v_char := substr(v_head, i, 1);
        if v_char ~ {{ wp_bad_chars() }} then
            v_out := v_out || '\u' || lpad(to_hex(ascii(v_char)), 4, '0');
        else
            v_out := v_out || v_char;
        end if;
    end loop;
    if p_quote then
        v_out := '''' || replace(v_out, '''', '''''') || '''';
    end if;
    return v_out || case when char_length(p_value) > 120 then '...' else '' end;
end;
$fn$;

-- A JSON string as a timestamp; NULL when it is not one (the caller names it).
-- Only strings starting like a date (or +/-infinity, which the event time rule
-- then rejects): not 'now', 'epoch' and the other special inputs.
create or replace function ses.wp_timestamptz(p_value text)
returns timestamptz
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $fn$
begin
    if p_value !~ '^\s*([0-9]|[+-]?infinity\s*$)' then
        return null;
    end if;
    return p_value::timestamptz;
exception when data_exception or feature_not_supported then
    return null;
end;
$fn$;

-- Raise a rule's '<SQLSTATE>|<message>', naming the row in a batch.
create or replace function ses.wp_raise(p_problem text, p_rows_name text default null, p_ord bigint default null)
returns void
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $fn$
declare
    v_state text := split_part(p_problem, '|', 1);
    v_message text := substr(p_problem, length(split_part(p_problem, '|', 1)) + 2);
begin
    if p_rows_name is not null then
        v_message := v_message || ' (' || p_rows_name || '[' || (p_ord - 1) || '])';
    end if;
    raise exception using errcode = v_state, message = v_message;
end;
$fn$;

-- The row count of a JSON array of objects, or an error naming the first non-object.
create or replace function ses.require_json_rows(p_rows jsonb, p_name text)
returns integer
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $fn$
declare
    v_bad record;
begin
    if p_rows is null or jsonb_typeof(p_rows) <> 'array' then
        raise exception '% must be a JSON array of objects, got %', p_name,
            coalesce(ses.wp_shown(p_rows::text, false), 'NULL')
            using errcode = '22023';
    end if;
    select x.e, x.ord into v_bad
      from jsonb_array_elements(p_rows) with ordinality as x (e, ord)
     where jsonb_typeof(x.e) <> 'object'
     order by x.ord
     limit 1;
    if found then
        raise exception '%[%] must be a JSON object, got %', p_name, v_bad.ord - 1, ses.wp_shown(v_bad.e::text, false)
            using errcode = '22023';
    end if;
    return jsonb_array_length(p_rows);
end;
$fn$;

-- p_count ids of p_table's serial `id`, ascending (one nextval each, like single inserts).
create or replace function ses.next_ids(p_table regclass, p_count integer)
returns bigint[]
language sql
volatile
set search_path = pg_catalog, pg_temp
as $fn$
    select coalesce(array_agg(g.id order by g.id), '{}')
    from (select pg_get_serial_sequence(p_table::text, 'id')::regclass as seq) as s
    cross join lateral (select nextval(s.seq) as id from generate_series(1, p_count)) as g
$fn$;

{% for spec in write_api_spec() %}
{{ wp_rows_function(spec) }}
{{ wp_core_function(spec) }}
{{ wp_single_function(spec) }}
{{ wp_batch_function(spec) }}
{% endfor %}

{{ wp_rows_function(match_candidate_spec()) }}
{{ wp_log_match_run() }}
{% endmacro %}


{#- ses.wp_<kind>_rows(rows jsonb): one typed row per JSON object, in input
    order, with the first JSON-shape problem of each. -#}
{% macro wp_rows_function(spec) %}
-- dropped first: its result columns follow the spec (nothing stores it)
drop function if exists ses.wp_{{ spec.kind }}_rows(jsonb);
create function ses.wp_{{ spec.kind }}_rows(p_rows jsonb)
returns table (
    ord integer,
    e jsonb,
    {%- for col in spec.columns %}
    {{ col.name }}__raw jsonb,
    {{ col.name }} {{ col.type }},
    {%- endfor %}
    shape_problem text
)
language sql
stable
-- no SET clause: the planner inlines it into the core's statements (which run
-- under the pinned search_path of the public functions)
as $fn$
    select
        x.ord,
        x.e,
        {%- for col in spec.columns %}
        x.{{ col.name }}__raw,
        x.{{ col.name }},
        {%- endfor %}
        {{ wp_shape_problem(spec, 'x.') | indent(8) }}
    from (
        select
            j.ord::integer as ord,
            j.e,
            {%- for col in spec.columns %}
            j.e -> '{{ col.name }}' as {{ col.name }}__raw,
            {{ wp_json_value(col, 'j.e') | indent(12) }} as {{ col.name }}{{ ',' if not loop.last }}
            {%- endfor %}
        from jsonb_array_elements(p_rows) with ordinality as j (e, ord)
    ) as x
$fn$;
{% endmacro %}


{#- Window columns some rules read: repeats of a unique value, the row count
    for ranks, the first revocation of a feedback event in one call. -#}
{% macro wp_window_columns(spec) -%}
{%- for col in spec.columns -%}
{%- if col.get('unique') or col.rule == 'revocable' %},
        row_number() over (partition by r0.{{ col.name }} order by r0.ord) as {{ col.name }}__nth,
        min(r0.ord) over (partition by r0.{{ col.name }}) as {{ col.name }}__first
{%- endif -%}
{%- if col.rule == 'revocable' %},
        first_value(r0.revoked_by) over (partition by r0.{{ col.name }} order by r0.ord) as {{ col.name }}__first_by,
        first_value(coalesce(r0.revoked_at, now())) over (partition by r0.{{ col.name }} order by r0.ord)
            as {{ col.name }}__first_at
{%- endif -%}
{%- if col.rule == 'rank' %},
        count(*) over () as {{ col.name }}__count
{%- endif -%}
{%- endfor -%}
{%- endmacro %}

{#- plpgsql: the first bad row of `rows_sql` (by input order) into v_bad. -#}
{% macro wp_first_problem(spec, rows_sql) -%}
select p.ord, p.problem into v_bad
  from (
    select r.ord, {{ wp_row_problem(spec) | indent(4) }} as problem
    from (
        select r0.*{{ wp_window_columns(spec) }}
        from {{ rows_sql }} as r0
    ) as r
  ) as p
 where p.problem is not null
 order by p.ord
 limit 1;
{%- endmacro %}


{#- The core of one kind: parse, lock, validate, write. -#}
{% macro wp_core_function(spec) %}
{%- set rows = 'ses.wp_' ~ spec.kind ~ '_rows(p_rows)' -%}
create or replace function ses.wp_write_{{ spec.kind }}(p_rows jsonb, p_rows_name text)
returns {{ spec.core_returns }}
language plpgsql
volatile
set search_path = pg_catalog, ses, pg_temp
-- one plan per statement, reused: re-planning these statements on every call
-- (custom plans for the rows parameter) costs more than running them
set plan_cache_mode = force_generic_plan
as $fn$
declare
    v_count integer := ses.require_json_rows(p_rows, coalesce(p_rows_name, '{{ spec.rows_name }}'));
    v_bad record;
    v_ids bigint[];
    v_result {{ spec.core_returns }};
begin
    {%- if spec.lock == 'interactions' %}
    -- the interactions this call writes to, locked in id order (no deadlock between batches)
    perform 1
       from ses.interaction_logs as il
      where il.id in (select r.interaction_id from {{ rows }} as r)
      order by il.id
        for no key update;
    {%- elif spec.lock == 'revoked_feedback' %}
    -- the interactions, then the feedback events, in id order (no deadlock between batches)
    perform 1
       from ses.interaction_logs as il
      where il.id in (
            select fe.interaction_id from ses.feedback_events as fe
            where fe.id in (select r.feedback_id from {{ rows }} as r))
      order by il.id
        for no key update;
    perform 1
       from ses.feedback_events as fe
      where fe.id in (select r.feedback_id from {{ rows }} as r)
      order by fe.id
        for no key update;
    {%- endif %}

    {{ wp_first_problem(spec, rows) | indent(4) }}
    if found then
        perform ses.wp_raise(v_bad.problem, p_rows_name, v_bad.ord);
    end if;

    {%- if spec.write == 'insert' %}
    v_ids := ses.next_ids('{{ spec.table }}', v_count);
    {{ wp_insert_rows(spec, rows) | indent(4) }};
    v_result := v_ids;
    {%- elif spec.write == 'insert_idempotent' %}
    -- Rows go in in input order, so a key (or shortlist) repeated in the call
    -- keeps its first row, as sequential calls would; a key already stored,
    -- or repeated, is {id: null, status: already_exists} (the seed's contract).
    v_ids := ses.next_ids('{{ spec.table }}', v_count);
    with inserted as (
        {{ wp_insert_rows(spec, rows) | indent(8) }}
        on conflict do nothing
        returning id
    )
    select coalesce(jsonb_agg(
               case when i.id is null then jsonb_build_object('id', null, 'status', 'already_exists')
                    else jsonb_build_object('id', i.id, 'status', 'created') end
               order by a.ord), '[]'::jsonb)
      into v_result
      from unnest(v_ids) with ordinality as a (id, ord)
      left join inserted as i on a.id = i.id;
    {%- elif spec.write == 'revoke' %}
    update ses.feedback_events as f
       set is_revoked = true, revoked_at = coalesce(r.revoked_at, now()), revoked_by = r.revoked_by
      from {{ rows }} as r
     where f.id = r.feedback_id;
    select coalesce(jsonb_agg(jsonb_build_object(
               'feedback_id', f.id, 'interaction_id', f.interaction_id, 'outcome', il.outcome) order by r.ord),
               '[]'::jsonb)
      into v_result
      from {{ rows }} as r
      inner join ses.feedback_events as f on r.feedback_id = f.id
      inner join ses.interaction_logs as il on f.interaction_id = il.id;
    {%- else %}
    {%- do exceptions.raise_compiler_error('unknown write ' ~ spec.write) %}
    {%- endif %}
    return v_result;
end;
$fn$;
{% endmacro %}


{#- INSERT of the parsed rows in input order, with the ids drawn for them
    (v_ids) and now() for a missing event time. -#}
{% macro wp_insert_rows(spec, rows) -%}
insert into {{ spec.table }} (id, {{ spec.columns | map(attribute='name') | join(', ') }})
select
    v_ids[r.ord],
    {%- for col in spec.columns %}
    {{ 'coalesce(r.' ~ col.name ~ ', now())' if col.rule == 'event_time' else 'r.' ~ col.name }}{{ ',' if not loop.last }}
    {%- endfor %}
from {{ rows }} as r
order by r.ord
{%- endmacro %}


{#- The single-row function the app calls: its parameters are the columns.
    The same steps as the core on one row, without the JSON: lock, the same
    rules on the parameters, the same write (one INSERT through the table's
    sequence, or the revocation's UPDATE). -#}
{% macro wp_single_function(spec) %}
{%- set columns = spec.columns | map(attribute='name') | list -%}
create or replace function ses.{{ spec.single }}(
    {%- for col in spec.columns %}
    p_{{ col.name }} {{ col.type }}{{ ' default ' ~ col.default if 'default' in col }}{{ ',' if not loop.last }}
    {%- endfor %}
)
returns {{ spec.single_returns }}
language plpgsql
volatile
{{ security_definer() }}
as $fn$
declare
    v_problem text;
    v_id bigint;
    v_outcome text;
begin
    {%- if spec.lock == 'interactions' %}
    perform 1 from ses.interaction_logs as il where il.id = p_interaction_id for no key update;
    {%- elif spec.lock == 'revoked_feedback' %}
    perform 1
       from ses.interaction_logs as il
      where il.id = (select fe.interaction_id from ses.feedback_events as fe where fe.id = p_feedback_id)
        for no key update;
    perform 1 from ses.feedback_events as fe where fe.id = p_feedback_id for no key update;
    {%- endif %}
    v_problem := {{ wp_row_problem(spec, 'p_', shape=false, rows=false) | indent(4) }};
    if v_problem is not null then
        perform ses.wp_raise(v_problem);
    end if;
    {%- if spec.write in ('insert', 'insert_idempotent') %}
    insert into {{ spec.table }} ({{ columns | join(', ') }})
    values (
        {%- for col in spec.columns %}
        {{ 'coalesce(p_' ~ col.name ~ ', now())' if col.rule == 'event_time' else 'p_' ~ col.name }}{{ ',' if not loop.last }}
        {%- endfor %}
    )
    {%- if spec.write == 'insert_idempotent' %}
    on conflict do nothing
    {%- endif %}
    returning id into v_id;
    {%- if spec.write == 'insert' %}
    return v_id;
    {%- else %}
    if v_id is null then
        return jsonb_build_object('id', null, 'status', 'already_exists');
    end if;
    return jsonb_build_object('id', v_id, 'status', 'created');
    {%- endif %}
    {%- elif spec.write == 'revoke' %}
    update ses.feedback_events
       set is_revoked = true, revoked_at = coalesce(p_revoked_at, now()), revoked_by = p_revoked_by
     where id = p_feedback_id
    returning interaction_id into v_id;
    select il.outcome into v_outcome from ses.interaction_logs as il where il.id = v_id;
    return jsonb_build_object('feedback_id', p_feedback_id, 'interaction_id', v_id, 'outcome', v_outcome);
    {%- endif %}
end;
$fn$;
{% endmacro %}


{#- The batch twin: a JSON array of rows keyed like the parameters. -#}
{% macro wp_batch_function(spec) %}
create or replace function ses.{{ spec.batch }}(p_{{ spec.rows_name }} jsonb)
returns {{ spec.batch_returns }}
language plpgsql
volatile
{{ security_definer() }}
as $fn$
declare
    v_result {{ spec.core_returns }};
begin
    v_result := ses.wp_write_{{ spec.kind }}(p_{{ spec.rows_name }}, '{{ spec.rows_name }}');
    return {{ spec.batch_result }};
end;
$fn$;
{% endmacro %}


{#- ses.log_match_run: a run's configuration, its candidate rows and one
    interaction_logs row per shown pair (R-36). p_candidates: [{"talent_id",
    "rank", "business_score", "two_tower_score", "total_score", "historical_score",
    "hash_score"}, ...]; ranks
    1..n, each talent once, scores in [0, 1]. A match_run_id is logged once:
    replaying it with the same payload returns it and writes nothing, with
    another payload is an error (23505). Replays are serialised on the run id
    (a transaction-scoped advisory lock), so concurrent replays cannot merge. -#}
{% macro wp_log_match_run() %}
{%- set run = match_run_spec() -%}
{%- set cand = match_candidate_spec() -%}
-- before V050's control_version / treatment_version parameters
drop function if exists ses.log_match_run(
    bigint, jsonb, text, text, text, text, float8, boolean, text, jsonb, text, timestamptz);
create or replace function ses.log_match_run(
    {%- for col in run.columns %}
    p_{{ col.name }} {{ col.type }}{{ ' default ' ~ col.default if 'default' in col }}{{ ',' if not loop.last }}
    {%- endfor %}
)
returns text
language plpgsql
volatile
{{ security_definer() }}
as $fn$
declare
    v_problem text;
    v_bad record;
    v_run_id text;
    v_at timestamptz := coalesce(p_created_at, now());
    v_config jsonb := coalesce(p_config, '{}'::jsonb);
    v_existing ses.match_runs;
begin
    v_problem := {{ wp_row_problem(run, 'p_', shape=false) | indent(4) }};
    if v_problem is not null then
        perform ses.wp_raise(v_problem);
    end if;
    perform ses.require_json_rows(p_candidates, 'candidates');
    {{ wp_first_problem(cand, 'ses.wp_candidate_rows(p_candidates)') | indent(4) }}
    if found then
        perform ses.wp_raise(v_bad.problem, 'candidates', v_bad.ord);
    end if;

    v_run_id := coalesce(p_match_run_id, ses.new_ulid(coalesce(p_created_at, clock_timestamp())));
    perform pg_advisory_xact_lock(hashtextextended('ses_match.match_run_id:' || v_run_id, 0));
    select * into v_existing from ses.match_runs where match_run_id = v_run_id;
    if found then
        v_problem := ses.match_run_replay_problem(
            v_existing, p_project_id, p_candidates,
            jsonb_build_object(
                'engine_version', p_engine_version, 'config_version', p_config_version,
                'two_tower_embedder', p_two_tower_embedder, 'two_tower_version', p_two_tower_version,
                'two_tower_weight', p_two_tower_weight, 'two_tower_enabled', p_two_tower_enabled,
                'variant', p_variant, 'config', v_config));
        if v_problem is not null then
            perform ses.wp_raise(v_problem);
        end if;
        return v_run_id;
    end if;

    insert into ses.match_runs (
        match_run_id, project_id, engine_version, config_version, two_tower_embedder, two_tower_version,
        two_tower_weight, two_tower_enabled, variant, top_k, config, created_at)
    values (
        v_run_id, p_project_id, p_engine_version, p_config_version, p_two_tower_embedder, p_two_tower_version,
        p_two_tower_weight, p_two_tower_enabled, p_variant, jsonb_array_length(p_candidates), v_config, v_at)
    on conflict (match_run_id) do nothing;
    if not found then
        -- Not at READ COMMITTED (the lock above serialises replays); PostgreSQL
        -- normally raises 40001 itself for a run committed after the snapshot.
        raise exception 'match_run_id % was logged by a concurrent transaction; retry', v_run_id
            using errcode = '40001';
    end if;

    with results as (
        insert into ses.match_results (
            match_run_id, talent_id, project_id, rank, business_score, two_tower_score, total_score,
            historical_score, hash_score, created_at, team, control_version, treatment_version)
        select v_run_id, c.talent_id, p_project_id, c.rank, c.business_score, c.two_tower_score, c.total_score,
               c.historical_score, c.hash_score, v_at,
               c.team, case when c.team is not null then p_control_version end,
               case when c.team is not null then p_treatment_version end
        from ses.wp_candidate_rows(p_candidates) as c
        order by c.rank
        returning id, talent_id, business_score, two_tower_score
    )
    insert into ses.interaction_logs (
        match_result_id, talent_id, project_id, match_run_id, engine_version, config_version,
        two_tower_score, two_tower_embedder, two_tower_version, business_score, variant, created_at)
    select r.id, r.talent_id, p_project_id, v_run_id, p_engine_version, p_config_version,
           r.two_tower_score, p_two_tower_embedder, p_two_tower_version, r.business_score, p_variant, v_at
    from results as r
    order by r.id;

    return v_run_id;
end;
$fn$;

-- Why a replayed match_run_id may not be returned as it is (NULL: same payload).
create or replace function ses.match_run_replay_problem(
    p_existing ses.match_runs, p_project_id bigint, p_candidates jsonb, p_settings jsonb)
returns text
language plpgsql
stable
set search_path = pg_catalog, ses, pg_temp
as $fn$
declare
    v_stored jsonb := to_jsonb(p_existing);
    v_key text;
    v_differs bigint;
begin
    if p_existing.project_id <> p_project_id then
        return '23505|match_run_id ' || p_existing.match_run_id || ' belongs to project '
            || p_existing.project_id || ', not ' || p_project_id;
    end if;
    for v_key in select jsonb_object_keys(p_settings) loop
        if (v_stored -> v_key) is distinct from (p_settings -> v_key) then
            return '23505|match_run_id ' || p_existing.match_run_id || ' was logged with ' || v_key || ' '
                || ses.wp_shown((v_stored -> v_key)::text, false) || ', not ' || ses.wp_shown((p_settings -> v_key)::text, false);
        end if;
    end loop;
    select count(*) into v_differs
      from (
        (select mr.talent_id, mr.rank, mr.business_score, mr.two_tower_score, mr.total_score,
                mr.historical_score, mr.hash_score
         from ses.match_results as mr where mr.match_run_id = p_existing.match_run_id
         except
         select c.talent_id, c.rank, c.business_score, c.two_tower_score, c.total_score,
                c.historical_score, c.hash_score
         from ses.wp_candidate_rows(p_candidates) as c)
        union all
        (select c.talent_id, c.rank, c.business_score, c.two_tower_score, c.total_score,
                c.historical_score, c.hash_score
         from ses.wp_candidate_rows(p_candidates) as c
         except
         select mr.talent_id, mr.rank, mr.business_score, mr.two_tower_score, mr.total_score,
                mr.historical_score, mr.hash_score
         from ses.match_results as mr where mr.match_run_id = p_existing.match_run_id)
      ) as d;
    if v_differs > 0 then
        return '23505|match_run_id ' || p_existing.match_run_id || ' was logged with other candidates ('
            || p_existing.top_k || ' stored, ' || jsonb_array_length(p_candidates) || ' given, '
            || v_differs || ' rows differ)';
    end if;
    return null;
end;
$fn$;
{% endmacro %}
