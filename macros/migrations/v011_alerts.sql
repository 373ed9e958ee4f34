{#- V011: alerts raised by the scheduler when a run fails (the Dagster run-failure
    sensor, or `ses-match nightly|retrain --alert` under cron). A row per failure;
    webhook_status says whether the POST to SES_ALERT_WEBHOOK went out. -#}
{% macro migration_v011_alerts() %}
create table if not exists ses.alerts (
    id bigint generated always as identity primary key,
    created_at timestamptz not null default now(),
    source text not null,
    job_name text not null,
    run_id text,
    severity text not null default 'error',
    message text not null,
    details jsonb not null default '{}'::jsonb,
    webhook_status text,
    acknowledged_at timestamptz,
    acknowledged_by text,
    constraint alerts_severity_check check (severity in ('warning', 'error')),
    constraint alerts_message_check check (btrim(message) <> '')
);
create index if not exists alerts_open_idx on ses.alerts (created_at desc) where acknowledged_at is null;
{% endmacro %}
