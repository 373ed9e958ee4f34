{#- Registry operations on top of ses.activate_model (R-44): the activation
    history (who / why / from which version) and the rollback. Who is the
    `ses.actor` setting when the caller set one (ses-match sets the OS user),
    else the database login. -#}
{% macro migration_r_model_activations() %}
create or replace function ses.trg_record_model_activation()
returns trigger
language plpgsql
set search_path = pg_catalog, ses, pg_temp
as $fn$
begin
    insert into ses.model_activations (version, previous_version, action, reason, activated_by)
    values (
        new.version,
        -- the model activated last (retired a moment ago by ses.activate_model)
        (select a.version from ses.model_activations as a order by a.id desc limit 1),
        coalesce(nullif(current_setting('ses.activation_action', true), ''), 'activate'),
        new.reason,
        coalesce(nullif(current_setting('ses.actor', true), ''), session_user)
    );
    return null;
end;
$fn$;

drop trigger if exists model_registry_activation_insert on ses.model_registry;
create trigger model_registry_activation_insert
    after insert on ses.model_registry
    for each row
    when (new.status = 'active')
    execute function ses.trg_record_model_activation();
drop trigger if exists model_registry_activation_update on ses.model_registry;
create trigger model_registry_activation_update
    after update of status on ses.model_registry
    for each row
    when (new.status = 'active' and old.status <> 'active')
    execute function ses.trg_record_model_activation();

-- Back to the model that was active before the current one: the version the
-- current model's last activation replaced. Rollbacks are skipped, so repeated
-- rollbacks walk further back (C -> B -> A) instead of toggling. Returns the
-- version now active.
create or replace function ses.rollback_model(p_reason text default null)
returns text
language plpgsql
volatile
{{ security_definer() }}
as $fn$
declare
    v_current text;
    v_target text;
    v_found boolean;
begin
    select version into v_current from ses.model_registry where status = 'active' for update;
    if v_current is null then
        raise exception 'no active model: nothing to roll back' using errcode = '22023';
    end if;
    select true, a.previous_version into v_found, v_target
    from ses.model_activations as a
    where a.version = v_current and a.action = 'activate'
    order by a.id desc
    limit 1;
    if not coalesce(v_found, false) then
        raise exception 'model % has no activation in ses.model_activations: roll back with ses.activate_model(version)', v_current
            using errcode = '22023';
    end if;
    if v_target is null then
        raise exception 'model % was the first active model: there is no earlier one to roll back to', v_current
            using errcode = '22023';
    end if;
    perform set_config('ses.activation_action', 'rollback', true);
    perform ses.activate_model(v_target, coalesce(p_reason, 'rollback from ' || v_current));
    perform set_config('ses.activation_action', '', true);
    return v_target;
end;
$fn$;
{% endmacro %}
