{#- V030: the change log that lets builds and caches do work in proportion to
    what changed, not to history.

    ses.change_log gets one row per changed entity and write statement (filled
    by the R__change_log triggers): `interaction` rows when feedback (insert or
    revocation), behaviour events, conversions or new exposures touch an
    interaction; `talent` rows when a talent is inserted, edited or deleted.
    entity_id NULL means "every entity" (a TRUNCATE).
    txid is the writing transaction: a consumer remembers the snapshot up to
    which it processed the log, and its next window is the rows visible now but
    not in that snapshot. This is exact under concurrency (a transaction that
    commits late is simply in a later window) and ignores event times, so late
    and out-of-order events are picked up like any other.

    ses.incremental_watermarks: per consumer (an incremental model), the
    snapshot processed and the snapshot of the build in progress.

    The run_date index serves the daily label summary (recomputes touched days). -#}
{% macro migration_v030_change_log() %}
create table if not exists ses.change_log (
    entity text not null,
    entity_id bigint,
    source text not null,
    txid xid8 not null default pg_current_xact_id(),
    changed_at timestamptz not null default now(),
    constraint change_log_entity_check check (entity in ('interaction', 'talent'))
);
create index if not exists change_log_entity_txid_idx on ses.change_log (entity, txid);

create table if not exists ses.incremental_watermarks (
    consumer text primary key,
    entity text not null,
    processed pg_snapshot,
    pending pg_snapshot,
    updated_at timestamptz not null default now()
);

-- Entries older than this were pruned; a cache that loaded before it reloads in full.
create table if not exists ses.change_log_horizon (
    entity text primary key,
    pruned_below xid8 not null
);

create index if not exists interaction_logs_run_date_idx on ses.interaction_logs (run_date);
{% endmacro %}
