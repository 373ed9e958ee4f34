{#- V004: the model registry of the learned two-tower (R-42, R-44). One row per
    trained candidate, whatever the gate said; at most one is active (partial
    unique index). The active row's bytes are what the onnx / candle embedders
    serve, so the database loads a model without filesystem access. The sha256
    columns are generated: a serving backend compares them (with the version) on
    every call and reloads when the active model or its bytes change. -#}
{% macro migration_v004_model_registry() %}
create table if not exists ses.model_registry (
    version varchar(20) primary key,
    status text not null,
    created_at timestamptz not null default now(),
    trained_at timestamptz not null,
    labeled_count bigint not null,
    max_label_at timestamptz,
    metrics jsonb not null default '{}'::jsonb,
    metadata jsonb not null default '{}'::jsonb,
    onnx_model bytea,
    candle_weights bytea,
    onnx_sha256 text generated always as (encode(sha256(onnx_model), 'hex')) stored,
    candle_sha256 text generated always as (encode(sha256(candle_weights), 'hex')) stored,
    reason text,
    activated_at timestamptz,
    retired_at timestamptz,
    constraint model_registry_status_check
        check (status in ('candidate', 'active', 'rejected', 'retired')),
    constraint model_registry_version_check check (version ~ '^[0-9]{8}(-[0-9]+)?$'),
    constraint model_registry_servable_check
        check (status not in ('candidate', 'active') or (onnx_model is not null and candle_weights is not null))
);
create unique index if not exists model_registry_one_active
    on ses.model_registry (status) where status = 'active';
create index if not exists model_registry_trained_at_idx on ses.model_registry (trained_at);
{% endmacro %}
