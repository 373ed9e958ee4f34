{#- R-02 in bulk: set-based versions of the write path for loaders (the
    benchmark-volume loader, CRM imports). Each function takes a JSON array of
    rows whose keys are the single-row function's parameter names without
    `p_` (a missing key takes the same default, JSON null is SQL NULL) and:
    - validates every row exactly as the single-row function does: the rows are
      checked set-based, and the first bad row (input order) is handed to the
      single-row function itself, which raises its own error; the message gets
      the row's index appended (`(events[3])`) and keeps its SQLSTATE;
    - writes nothing on error (one statement);
    - otherwise writes all rows in one statement, in input order, with ids drawn
      from the table's sequence in input order: the same rows and ids as the
      single-row calls made one after another. -#}
{% macro migration_r_write_api_batch() %}
-- The row count of a JSON array of objects, or an error naming the first non-object.
create or replace function ses.require_json_rows(p_rows jsonb, p_name text)
returns integer
language plpgsql
immutable
as $fn$
declare
    v_bad record;
begin
    if p_rows is null or jsonb_typeof(p_rows) <> 'array' then
        raise exception '% must be a JSON array of objects, got %', p_name, coalesce(left(p_rows::text, 200), 'NULL')
            using errcode = '22023';
    end if;
    select x.e, x.ord into v_bad
      from jsonb_array_elements(p_rows) with ordinality as x (e, ord)
     where jsonb_typeof(x.e) <> 'object'
     order by x.ord
     limit 1;
    if found then
        raise exception '%[%] must be a JSON object, got %', p_name, v_bad.ord - 1, left(v_bad.e::text, 200)
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
as $fn$
    select coalesce(array_agg(g.id order by g.id), '{}')
    from (select pg_get_serial_sequence(p_table::text, 'id')::regclass as seq) as s
    cross join lateral (select nextval(s.seq) as id from generate_series(1, p_count)) as g
$fn$;

-- JSON rows -> typed rows; a value of the wrong type fails its cast, naming the value.
create or replace function ses.feedback_batch_rows(p_events jsonb)
returns table (
    ord integer, interaction_id bigint, feedback_type text, actor text, source text, meta jsonb,
    created_at timestamptz
)
language sql
stable
as $fn$
    select
        x.ord::integer,
        (x.e ->> 'interaction_id')::bigint,
        x.e ->> 'feedback_type',
        x.e ->> 'actor',
        case when x.e ? 'source' then x.e ->> 'source' else 'gui' end,
        nullif(x.e -> 'meta', 'null'::jsonb),
        (x.e ->> 'created_at')::timestamptz
    from jsonb_array_elements(p_events) with ordinality as x (e, ord)
$fn$;

-- Rows {interaction_id, feedback_type, actor, source?, meta?, created_at?}; returns the ids in input order.
create or replace function ses.record_feedback_batch(p_events jsonb)
returns bigint[]
language plpgsql
volatile
as $fn$
declare
    v_count integer := ses.require_json_rows(p_events, 'events');
    v_bad record;
    v_ids bigint[];
    v_message text;
    v_state text;
begin
    select r.* into v_bad
      from ses.feedback_batch_rows(p_events) as r
     where not exists (select 1 from ses.interaction_logs as il where il.id = r.interaction_id)
        or not exists (select 1 from {{ ses_relation('feedback_types') }} as ft where ft.feedback_type = r.feedback_type)
        or r.actor is null or btrim(r.actor) = ''
        or r.source is null or btrim(r.source) = ''
        or (r.meta is not null and jsonb_typeof(r.meta) <> 'object')
     order by r.ord
     limit 1;
    if found then
        begin
            perform ses.record_feedback(v_bad.interaction_id, v_bad.feedback_type, v_bad.actor, v_bad.source,
                                        v_bad.meta, v_bad.created_at);
        exception when others then
            get stacked diagnostics v_message = message_text, v_state = returned_sqlstate;
            raise exception '% (events[%])', v_message, v_bad.ord - 1 using errcode = v_state;
        end;
        raise exception 'events[%] failed the batch checks but ses.record_feedback accepted it', v_bad.ord - 1
            using errcode = 'XX000';
    end if;

    v_ids := ses.next_ids('ses.feedback_events', v_count);
    insert into ses.feedback_events (id, interaction_id, feedback_type, actor, source, meta, created_at)
    select v_ids[r.ord], r.interaction_id, r.feedback_type, r.actor, r.source, r.meta, coalesce(r.created_at, now())
    from ses.feedback_batch_rows(p_events) as r
    order by r.ord;
    return v_ids;
end;
$fn$;

create or replace function ses.revocation_batch_rows(p_revocations jsonb)
returns table (ord integer, feedback_id bigint, revoked_by text, revoked_at timestamptz)
language sql
stable
as $fn$
    select
        x.ord::integer,
        (x.e ->> 'feedback_id')::bigint,
        x.e ->> 'revoked_by',
        (x.e ->> 'revoked_at')::timestamptz
    from jsonb_array_elements(p_revocations) with ordinality as x (e, ord)
$fn$;

-- Rows {feedback_id, revoked_by, revoked_at?}; returns how many events were revoked.
-- A feedback id twice in one batch fails like the second single call would.
create or replace function ses.revoke_feedback_batch(p_revocations jsonb)
returns integer
language plpgsql
volatile
as $fn$
declare
    v_count integer := ses.require_json_rows(p_revocations, 'revocations');
    v_bad record;
    v_first record;
    v_message text;
    v_state text;
begin
    select r.* into v_bad
      from (
        select b.*, row_number() over (partition by b.feedback_id order by b.ord) as nth
        from ses.revocation_batch_rows(p_revocations) as b
      ) as r
      left join ses.feedback_events as f on r.feedback_id = f.id
     where r.revoked_by is null or btrim(r.revoked_by) = ''
        or f.id is null
        or f.is_revoked
        or r.nth > 1
     order by r.ord
     limit 1;
    if found then
        begin
            perform ses.revoke_feedback(v_bad.feedback_id, v_bad.revoked_by, v_bad.revoked_at);
        exception when others then
            get stacked diagnostics v_message = message_text, v_state = returned_sqlstate;
            raise exception '% (revocations[%])', v_message, v_bad.ord - 1 using errcode = v_state;
        end;
        -- Only a repeat inside this batch gets here: the earlier row revokes it first.
        select r.* into v_first
          from ses.revocation_batch_rows(p_revocations) as r
         where r.feedback_id = v_bad.feedback_id
         order by r.ord
         limit 1;
        raise exception 'feedback event % is already revoked (by % at %) (revocations[%])',
            v_bad.feedback_id, v_first.revoked_by, coalesce(v_first.revoked_at, now()), v_bad.ord - 1
            using errcode = '55000';
    end if;

    update ses.feedback_events as f
       set is_revoked = true, revoked_at = coalesce(r.revoked_at, now()), revoked_by = r.revoked_by
      from ses.revocation_batch_rows(p_revocations) as r
     where f.id = r.feedback_id;
    return v_count;
end;
$fn$;

create or replace function ses.interaction_event_batch_rows(p_events jsonb)
returns table (
    ord integer, interaction_id bigint, event_type text, actor text, idempotency_key text, meta jsonb,
    source text, created_at timestamptz
)
language sql
stable
as $fn$
    select
        x.ord::integer,
        (x.e ->> 'interaction_id')::bigint,
        x.e ->> 'event_type',
        x.e ->> 'actor',
        x.e ->> 'idempotency_key',
        nullif(x.e -> 'meta', 'null'::jsonb),
        case when x.e ? 'source' then x.e ->> 'source' else 'gui' end,
        (x.e ->> 'created_at')::timestamptz
    from jsonb_array_elements(p_events) with ordinality as x (e, ord)
$fn$;

-- Rows {interaction_id, event_type, actor, idempotency_key, meta?, source?, created_at?};
-- returns one {id, status} per row in input order (the seed's contract): a key
-- already stored, or repeated earlier in the batch, is {id: null, status: already_exists}.
create or replace function ses.record_interaction_events_batch(p_events jsonb)
returns jsonb
language plpgsql
volatile
as $fn$
declare
    v_count integer := ses.require_json_rows(p_events, 'events');
    v_bad record;
    v_ids bigint[];
    v_result jsonb;
    v_message text;
    v_state text;
begin
    select r.* into v_bad
      from ses.interaction_event_batch_rows(p_events) as r
     where not exists (select 1 from ses.interaction_logs as il where il.id = r.interaction_id)
        or not exists (
            select 1 from {{ ses_relation('behavior_event_types') }} as bt where bt.event_type = r.event_type)
        or r.actor is null or btrim(r.actor) = ''
        or r.idempotency_key is null or btrim(r.idempotency_key) = ''
        or r.source is null or btrim(r.source) = ''
        or (r.meta is not null and jsonb_typeof(r.meta) <> 'object')
     order by r.ord
     limit 1;
    if found then
        begin
            perform ses.record_interaction_event(v_bad.interaction_id, v_bad.event_type, v_bad.actor,
                                                 v_bad.idempotency_key, v_bad.meta, v_bad.source, v_bad.created_at);
        exception when others then
            get stacked diagnostics v_message = message_text, v_state = returned_sqlstate;
            raise exception '% (events[%])', v_message, v_bad.ord - 1 using errcode = v_state;
        end;
        raise exception 'events[%] failed the batch checks but ses.record_interaction_event accepted it',
            v_bad.ord - 1 using errcode = 'XX000';
    end if;

    -- Rows go in in input order, so a key (or shortlist) repeated in the batch
    -- keeps its first row, as sequential calls would.
    v_ids := ses.next_ids('ses.interaction_events', v_count);
    with inserted as (
        insert into ses.interaction_events (
            id, interaction_id, event_type, actor, source, idempotency_key, meta, created_at)
        select v_ids[r.ord], r.interaction_id, r.event_type, r.actor, r.source, r.idempotency_key, r.meta,
               coalesce(r.created_at, now())
        from ses.interaction_event_batch_rows(p_events) as r
        order by r.ord
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
    return v_result;
end;
$fn$;

create or replace function ses.conversion_batch_rows(p_events jsonb)
returns table (
    ord integer, talent_id bigint, project_id bigint, stage text, actor text, interaction_id bigint, source text,
    meta jsonb, created_at timestamptz
)
language sql
stable
as $fn$
    select
        x.ord::integer,
        (x.e ->> 'talent_id')::bigint,
        (x.e ->> 'project_id')::bigint,
        x.e ->> 'stage',
        x.e ->> 'actor',
        (x.e ->> 'interaction_id')::bigint,
        case when x.e ? 'source' then x.e ->> 'source' else 'gui' end,
        nullif(x.e -> 'meta', 'null'::jsonb),
        (x.e ->> 'created_at')::timestamptz
    from jsonb_array_elements(p_events) with ordinality as x (e, ord)
$fn$;

-- Rows {talent_id, project_id, stage, actor, interaction_id?, source?, meta?, created_at?};
-- returns the ids in input order.
create or replace function ses.record_conversions_batch(p_events jsonb)
returns bigint[]
language plpgsql
volatile
as $fn$
declare
    v_count integer := ses.require_json_rows(p_events, 'events');
    v_bad record;
    v_ids bigint[];
    v_message text;
    v_state text;
begin
    select r.* into v_bad
      from ses.conversion_batch_rows(p_events) as r
      left join ses.interaction_logs as il on r.interaction_id = il.id
     where (r.interaction_id is not null
            and (il.id is null or (r.talent_id, r.project_id) is distinct from (il.talent_id, il.project_id)))
        or (r.interaction_id is null and (r.talent_id is null or r.project_id is null))
        or not exists (select 1 from {{ ses_relation('conversion_stages') }} as cs where cs.stage = r.stage)
        or r.actor is null or btrim(r.actor) = ''
        or r.source is null or r.source not in ('gui', 'crm', 'import')
        or (r.meta is not null and jsonb_typeof(r.meta) <> 'object')
     order by r.ord
     limit 1;
    if found then
        begin
            perform ses.record_conversion(v_bad.talent_id, v_bad.project_id, v_bad.stage, v_bad.actor,
                                          v_bad.interaction_id, v_bad.source, v_bad.meta, v_bad.created_at);
        exception when others then
            get stacked diagnostics v_message = message_text, v_state = returned_sqlstate;
            raise exception '% (events[%])', v_message, v_bad.ord - 1 using errcode = v_state;
        end;
        raise exception 'events[%] failed the batch checks but ses.record_conversion accepted it', v_bad.ord - 1
            using errcode = 'XX000';
    end if;

    v_ids := ses.next_ids('ses.conversion_events', v_count);
    insert into ses.conversion_events (id, interaction_id, talent_id, project_id, stage, actor, source, meta, created_at)
    select v_ids[r.ord], r.interaction_id, r.talent_id, r.project_id, r.stage, r.actor, r.source, r.meta,
           coalesce(r.created_at, now())
    from ses.conversion_batch_rows(p_events) as r
    order by r.ord;
    return v_ids;
end;
$fn$;
{% endmacro %}
