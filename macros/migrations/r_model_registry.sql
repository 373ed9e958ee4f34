{#- R-42 / R-44: switching the active model is one transaction, so a serving
    backend sees the old or the new model, never none. Used by the training
    pipeline, `ses-match models activate` and ses.rollback_model; every switch
    is recorded in ses.model_activations (R__model_activations). -#}
{% macro migration_r_model_registry() %}
create or replace function ses.activate_model(p_version text, p_reason text default null)
returns text
language plpgsql
volatile
as $fn$
declare
    v_status text;
    v_servable boolean;
    v_previous text;
begin
    select status, onnx_model is not null and candle_weights is not null
      into v_status, v_servable
      from ses.model_registry where version = p_version for update;
    if not found then
        raise exception 'unknown model version %', coalesce(p_version, 'NULL') using errcode = '23503';
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
as $fn$
    select version from ses.model_registry where status = 'active'
$fn$;
{% endmacro %}
