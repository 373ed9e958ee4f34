{#- V010: who activated which model, why, when, and what it replaced. One row
    per activation (a deploy by the retrain job, `ses-match models activate`,
    a rollback), written by a trigger on ses.model_registry, so every way of
    switching the active model is recorded; `models rollback` walks it back.
    An audit log: no foreign key, it outlives deleted registry rows. -#}
{% macro migration_v010_model_activations() %}
create table if not exists ses.model_activations (
    id bigint generated always as identity primary key,
    version varchar(20) not null,
    previous_version varchar(20),
    action text not null default 'activate',
    reason text,
    activated_by text not null,
    db_user text not null default session_user,
    activated_at timestamptz not null default now(),
    constraint model_activations_action_check check (action in ('activate', 'rollback'))
);
create index if not exists model_activations_version_idx on ses.model_activations (version, id);

-- Activations before this table: their order from activated_at (who is unknown).
insert into ses.model_activations (version, previous_version, action, reason, activated_by, activated_at)
select
    version,
    lag(version) over (order by activated_at, version),
    'activate',
    reason,
    'unknown (before V010)',
    activated_at
from ses.model_registry
where activated_at is not null
order by activated_at, version;

-- A model once served keeps its bytes, so a rollback can always return to it.
alter table ses.model_registry drop constraint if exists model_registry_servable_check;
alter table ses.model_registry add constraint model_registry_servable_check
    check (status not in ('candidate', 'active', 'retired') or (onnx_model is not null and candle_weights is not null));
{% endmacro %}
