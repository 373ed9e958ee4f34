{#- R-42 / R-44: the model registry's write path. Switching the active model
    is one transaction, so a serving backend sees the old or the new model,
    never none; a model that cannot be served is refused before anything
    changes, so the active one keeps serving. The retrain records candidates
    through ses.register_model; `ses-match models activate` and
    ses.rollback_model switch with ses.activate_model; every switch is recorded
    in ses.model_activations (R__model_activations). They run as the owner role
    (SECURITY DEFINER, pinned search_path): the trainer role executes them and
    cannot write the table itself. -#}
{% macro migration_r_model_registry() %}
create or replace function ses.activate_model(p_version text, p_reason text default null)
returns text
language plpgsql
volatile
{{ security_definer() }}
as $fn$
declare
    v_status text;
    v_dimension text;
    v_servable boolean;
    v_previous text;
    v_problem text;
    v_config jsonb := ses.two_tower_config();
begin
    if p_version is null or btrim(p_version) = '' then
        raise exception 'model version is required (got %)', coalesce(ses.wp_shown(p_version), 'NULL')
            using errcode = '22004';
    end if;
    select r.status, r.metadata ->> 'dimension', r.onnx_model is not null and r.candle_weights is not null
      into v_status, v_dimension, v_servable
      from ses.model_registry as r where r.version = p_version for update;
    if not found then
        raise exception 'unknown model version %', ses.wp_shown(p_version) using errcode = '23503';
    end if;
    if v_status = 'active' then
        return p_version;
    end if;
    -- a model the gate refused keeps its bytes and can be deployed on purpose
    if v_status not in ('candidate', 'retired', 'rejected') then
        raise exception 'model % is %, only a candidate, rejected or retired model can be activated', p_version, v_status
            using errcode = '22023';
    end if;
    if not v_servable then
        raise exception 'model % has no model bytes in ses.model_registry (its export failed): it cannot be served', p_version
            using errcode = '22023';
    end if;
    -- Serve it first (both backends, the serving code's own loader and probe).
    v_problem := {{ ses_function('model_serving_problem') }}(p_version);
    if v_problem is null and v_config ->> 'embedder' in ('onnx', 'candle')
       and v_dimension is distinct from v_config ->> 'dimension' then
        v_problem := 'TWO_TOWER_DIMENSION is ' || (v_config ->> 'dimension') || ' but the model has dimension '
            || coalesce(v_dimension, 'none');
    end if;
    if v_problem is not null then
        raise exception 'model % cannot be served, it was not activated (% keeps serving): %',
            p_version, coalesce(ses.active_model_version(), 'no model'), v_problem
            using errcode = '55000';
    end if;
    update ses.model_registry
       set status = 'retired', retired_at = now()
     where status = 'active'
    returning version into v_previous;
    update ses.model_registry
       set status = 'active', activated_at = now(), retired_at = null,
           reason = coalesce(p_reason, reason)
     where version = p_version;
    return v_previous;
end;
$fn$;

-- The version serving now (NULL: none), one indexed row.
create or replace function ses.active_model_version()
returns text
language sql
stable
set search_path = pg_catalog, ses, pg_temp
as $fn$
    select version from ses.model_registry where status = 'active'
$fn$;

-- Record one trained model (every registry column) and, with p_activate,
-- activate it in the same transaction (ses.activate_model's checks apply).
-- A candidate needs both model files; a rejected model may keep them.
create or replace function ses.register_model(
    p_version text,
    p_status text,
    p_trained_at timestamptz,
    p_labeled_count bigint,
    p_max_label_at timestamptz default null,
    p_metrics jsonb default '{}'::jsonb,
    p_metadata jsonb default '{}'::jsonb,
    p_onnx_model bytea default null,
    p_candle_weights bytea default null,
    p_reason text default null,
    p_activate boolean default false
)
returns text
language plpgsql
volatile
{{ security_definer() }}
as $fn$
declare
    v_existing text;
begin
    if p_version is null or p_version !~ '^[0-9]{8}(-[0-9]+)?$' then
        raise exception 'model version must be YYYYMMDD or YYYYMMDD-n, got %', coalesce(ses.wp_shown(p_version), 'NULL')
            using errcode = '22023';
    end if;
    if p_status is null or p_status not in ('candidate', 'rejected') then
        raise exception 'status must be candidate or rejected, got % (activate with p_activate or ses.activate_model)',
            coalesce(ses.wp_shown(p_status), 'NULL') using errcode = '22023';
    end if;
    if p_trained_at is null or not isfinite(p_trained_at) then
        raise exception 'trained_at must be a finite timestamp, got %', coalesce(p_trained_at::text, 'NULL')
            using errcode = '22004';
    end if;
    if p_labeled_count is null or p_labeled_count < 0 then
        raise exception 'labeled_count must be >= 0, got %', coalesce(p_labeled_count::text, 'NULL')
            using errcode = '22023';
    end if;
    if p_metrics is not null and jsonb_typeof(p_metrics) <> 'object'
       or p_metadata is not null and jsonb_typeof(p_metadata) <> 'object' then
        raise exception 'metrics and metadata must be JSON objects, got % and %',
            jsonb_typeof(p_metrics), jsonb_typeof(p_metadata) using errcode = '22023';
    end if;
    if p_status = 'candidate' and (p_onnx_model is null or p_candle_weights is null) then
        raise exception 'candidate model % needs both onnx_model and candle_weights', p_version
            using errcode = '22004';
    end if;
    if p_activate and p_status <> 'candidate' then
        raise exception 'only a candidate can be activated, model % is %', p_version, p_status
            using errcode = '22023';
    end if;
    select status into v_existing from ses.model_registry where version = p_version;
    if found then
        raise exception 'model version % is already registered (%)', p_version, v_existing using errcode = '23505';
    end if;
    insert into ses.model_registry (
        version, status, trained_at, labeled_count, max_label_at, metrics, metadata,
        onnx_model, candle_weights, reason)
    values (
        p_version, p_status, p_trained_at, p_labeled_count, p_max_label_at,
        coalesce(p_metrics, '{}'::jsonb), coalesce(p_metadata, '{}'::jsonb),
        p_onnx_model, p_candle_weights, p_reason);
    if p_activate then
        perform ses.activate_model(p_version, p_reason);
    end if;
    return p_version;
end;
$fn$;
{% endmacro %}
