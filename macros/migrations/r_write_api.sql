{#- R-02: the in-database write path the matching app calls. Each function
    validates everything before its first write and runs in the caller's
    transaction, so bad input raises an error naming the bad value and writes
    nothing. Allowed types/stages come from the seeds (R-13). -#}
{% macro migration_r_write_api() %}
create or replace function ses.require_text(p_value text, p_name text)
returns text
language plpgsql
immutable
as $fn$
begin
    if p_value is null or btrim(p_value) = '' then
        raise exception '% is required (got %)', p_name, coalesce(quote_literal(p_value), 'NULL')
            using errcode = '22004';
    end if;
    return p_value;
end;
$fn$;

create or replace function ses.require_json_object(p_meta jsonb, p_name text default 'meta')
returns jsonb
language plpgsql
immutable
as $fn$
begin
    if p_meta is not null and jsonb_typeof(p_meta) <> 'object' then
        raise exception '% must be a JSON object, got %: %', p_name, jsonb_typeof(p_meta), left(p_meta::text, 200)
            using errcode = '22023';
    end if;
    return p_meta;
end;
$fn$;

-- p_value must appear in column p_column of the seed p_seed.
create or replace function ses.require_known(p_value text, p_name text, p_seed regclass, p_column text)
returns text
language plpgsql
stable
as $fn$
declare
    v_known boolean;
    v_expected text;
begin
    perform ses.require_text(p_value, p_name);
    execute format('select exists (select 1 from %s where %I = $1)', p_seed, p_column)
        into v_known using p_value;
    if not v_known then
        execute format('select string_agg(%I, '', '' order by %I) from %s', p_column, p_column, p_seed)
            into v_expected;
        raise exception 'unknown % "%" (expected one of: %)', p_name, p_value, v_expected
            using errcode = '22023';
    end if;
    return p_value;
end;
$fn$;

create or replace function ses.require_interaction(p_interaction_id bigint)
returns ses.interaction_logs
language plpgsql
stable
as $fn$
declare
    v_row ses.interaction_logs;
begin
    if p_interaction_id is null then
        raise exception 'interaction_id is required (got NULL)' using errcode = '22004';
    end if;
    select * into v_row from ses.interaction_logs where id = p_interaction_id;
    if not found then
        raise exception 'unknown interaction_id %', p_interaction_id using errcode = '23503';
    end if;
    return v_row;
end;
$fn$;

create or replace function ses.record_feedback(
    p_interaction_id bigint,
    p_feedback_type text,
    p_actor text,
    p_source text default 'gui',
    p_meta jsonb default null,
    p_created_at timestamptz default null
)
returns bigint
language plpgsql
volatile
as $fn$
declare
    v_id bigint;
begin
    perform ses.require_interaction(p_interaction_id);
    perform ses.require_known(p_feedback_type, 'feedback_type', '{{ ses_relation('feedback_types') }}', 'feedback_type');
    perform ses.require_text(p_actor, 'actor');
    perform ses.require_text(p_source, 'source');
    perform ses.require_json_object(p_meta);
    insert into ses.feedback_events (interaction_id, feedback_type, actor, source, meta, created_at)
    values (p_interaction_id, p_feedback_type, p_actor, p_source, p_meta, coalesce(p_created_at, now()))
    returning id into v_id;
    return v_id;
end;
$fn$;

-- Revocation UPDATEs the original row (no new row); the trigger recomputes.
create or replace function ses.revoke_feedback(
    p_feedback_id bigint,
    p_revoked_by text,
    p_revoked_at timestamptz default null
)
returns jsonb
language plpgsql
volatile
as $fn$
declare
    v_event ses.feedback_events;
    v_outcome text;
begin
    perform ses.require_text(p_revoked_by, 'revoked_by');
    select * into v_event from ses.feedback_events where id = p_feedback_id for update;
    if not found then
        raise exception 'unknown feedback event id %', coalesce(p_feedback_id::text, 'NULL')
            using errcode = '23503';
    end if;
    if v_event.is_revoked then
        raise exception 'feedback event % is already revoked (by % at %)',
            p_feedback_id, v_event.revoked_by, v_event.revoked_at using errcode = '55000';
    end if;
    update ses.feedback_events
       set is_revoked = true, revoked_at = coalesce(p_revoked_at, now()), revoked_by = p_revoked_by
     where id = p_feedback_id;
    select outcome into v_outcome from ses.interaction_logs where id = v_event.interaction_id;
    return jsonb_build_object(
        'feedback_id', p_feedback_id, 'interaction_id', v_event.interaction_id, 'outcome', v_outcome);
end;
$fn$;

-- The seed's API contract: {id, status: created} or {id: null, status: already_exists}
-- for a repeated idempotency key (or a second shortlist by the same actor).
create or replace function ses.record_interaction_event(
    p_interaction_id bigint,
    p_event_type text,
    p_actor text,
    p_idempotency_key text,
    p_meta jsonb default null,
    p_source text default 'gui',
    p_created_at timestamptz default null
)
returns jsonb
language plpgsql
volatile
as $fn$
declare
    v_id bigint;
begin
    perform ses.require_interaction(p_interaction_id);
    perform ses.require_known(p_event_type, 'event_type', '{{ ses_relation('behavior_event_types') }}', 'event_type');
    perform ses.require_text(p_actor, 'actor');
    perform ses.require_text(p_idempotency_key, 'idempotency_key');
    perform ses.require_text(p_source, 'source');
    perform ses.require_json_object(p_meta);
    insert into ses.interaction_events (interaction_id, event_type, actor, source, idempotency_key, meta, created_at)
    values (p_interaction_id, p_event_type, p_actor, p_source, p_idempotency_key, p_meta,
            coalesce(p_created_at, now()))
    on conflict do nothing
    returning id into v_id;
    if v_id is null then
        return jsonb_build_object('id', null, 'status', 'already_exists');
    end if;
    return jsonb_build_object('id', v_id, 'status', 'created');
end;
$fn$;

-- Conversions may come without interaction (CRM import); with one, its pair must match.
create or replace function ses.record_conversion(
    p_talent_id bigint,
    p_project_id bigint,
    p_stage text,
    p_actor text,
    p_interaction_id bigint default null,
    p_source text default 'gui',
    p_meta jsonb default null,
    p_created_at timestamptz default null
)
returns bigint
language plpgsql
volatile
as $fn$
declare
    v_interaction ses.interaction_logs;
    v_id bigint;
begin
    if p_interaction_id is not null then
        v_interaction := ses.require_interaction(p_interaction_id);
        if (p_talent_id, p_project_id) is distinct from (v_interaction.talent_id, v_interaction.project_id) then
            raise exception 'conversion pair (talent %, project %) does not match interaction % (talent %, project %)',
                coalesce(p_talent_id::text, 'NULL'), coalesce(p_project_id::text, 'NULL'), p_interaction_id,
                v_interaction.talent_id, v_interaction.project_id
                using errcode = '22023';
        end if;
    elsif p_talent_id is null or p_project_id is null then
        raise exception 'talent_id and project_id are required (got talent %, project %)',
            coalesce(p_talent_id::text, 'NULL'), coalesce(p_project_id::text, 'NULL') using errcode = '22004';
    end if;
    perform ses.require_known(p_stage, 'stage', '{{ ses_relation('conversion_stages') }}', 'stage');
    perform ses.require_text(p_actor, 'actor');
    if p_source is null or p_source not in ('gui', 'crm', 'import') then
        raise exception 'unknown source "%" (expected one of: crm, gui, import)', coalesce(p_source, 'NULL')
            using errcode = '22023';
    end if;
    perform ses.require_json_object(p_meta);
    insert into ses.conversion_events (interaction_id, talent_id, project_id, stage, actor, source, meta, created_at)
    values (p_interaction_id, p_talent_id, p_project_id, p_stage, p_actor, p_source, p_meta,
            coalesce(p_created_at, now()))
    returning id into v_id;
    return v_id;
end;
$fn$;

-- Log one match run: the run's configuration, its candidate rows and one
-- interaction_logs row per shown pair. Replaying a match_run_id writes no
-- duplicates. p_candidates: [{"talent_id", "rank", "business_score",
-- "two_tower_score", "total_score"}, ...].
create or replace function ses.log_match_run(
    p_project_id bigint,
    p_candidates jsonb,
    p_engine_version text default null,
    p_config_version text default null,
    p_two_tower_embedder text default null,
    p_two_tower_version text default null,
    p_two_tower_weight double precision default null,
    p_two_tower_enabled boolean default null,
    p_variant text default null,
    p_config jsonb default '{}'::jsonb,
    p_match_run_id text default null,
    p_created_at timestamptz default null
)
returns text
language plpgsql
volatile
as $fn$
declare
    v_run_id text := coalesce(p_match_run_id, ses.new_ulid(coalesce(p_created_at, clock_timestamp())));
    v_existing_project bigint;
    v_bad jsonb;
    v_at timestamptz := coalesce(p_created_at, now());
begin
    if p_project_id is null then
        raise exception 'project_id is required (got NULL)' using errcode = '22004';
    end if;
    if p_candidates is null or jsonb_typeof(p_candidates) <> 'array' then
        raise exception 'candidates must be a JSON array, got %', coalesce(left(p_candidates::text, 200), 'NULL')
            using errcode = '22023';
    end if;
    select c into v_bad
      from jsonb_array_elements(p_candidates) as c
     where jsonb_typeof(c) <> 'object'
        or jsonb_typeof(c -> 'talent_id') is distinct from 'number'
        or jsonb_typeof(c -> 'rank') is distinct from 'number'
     limit 1;
    if v_bad is not null then
        raise exception 'each candidate needs numeric talent_id and rank, got %', left(v_bad::text, 200)
            using errcode = '22023';
    end if;
    perform ses.require_json_object(p_config, 'config');

    select project_id into v_existing_project from ses.match_runs where match_run_id = v_run_id;
    if found and v_existing_project <> p_project_id then
        raise exception 'match_run_id % belongs to project %, not %', v_run_id, v_existing_project, p_project_id
            using errcode = '22023';
    end if;

    insert into ses.match_runs (
        match_run_id, project_id, engine_version, config_version, two_tower_embedder, two_tower_version,
        two_tower_weight, two_tower_enabled, variant, top_k, config, created_at)
    values (
        v_run_id, p_project_id, p_engine_version, p_config_version, p_two_tower_embedder, p_two_tower_version,
        p_two_tower_weight, p_two_tower_enabled, p_variant, jsonb_array_length(p_candidates),
        coalesce(p_config, '{}'::jsonb), v_at)
    on conflict (match_run_id) do nothing;

    with candidates as (
        select
            (c ->> 'talent_id')::bigint as talent_id,
            (c ->> 'rank')::integer as rank,
            (c ->> 'business_score')::double precision as business_score,
            (c ->> 'two_tower_score')::double precision as two_tower_score,
            (c ->> 'total_score')::double precision as total_score
        from jsonb_array_elements(p_candidates) as c
    ),
    results as (
        insert into ses.match_results (
            match_run_id, talent_id, project_id, rank, business_score, two_tower_score, total_score, created_at)
        select v_run_id, talent_id, p_project_id, rank, business_score, two_tower_score, total_score, v_at
        from candidates
        on conflict (match_run_id, talent_id) do nothing
        returning id, talent_id, business_score, two_tower_score
    )
    insert into ses.interaction_logs (
        match_result_id, talent_id, project_id, match_run_id, engine_version, config_version,
        two_tower_score, two_tower_embedder, two_tower_version, business_score, variant, created_at)
    select r.id, r.talent_id, p_project_id, v_run_id, p_engine_version, p_config_version,
           r.two_tower_score, p_two_tower_embedder, p_two_tower_version, r.business_score, p_variant, v_at
    from results as r
    on conflict (match_run_id, talent_id, project_id) do nothing;

    return v_run_id;
end;
$fn$;
{% endmacro %}
