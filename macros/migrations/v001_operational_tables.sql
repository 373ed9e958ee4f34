{#- V001: the operational tables of schema `ses` (R-01). Versioned: applied
    once, recorded in ses.schema_migrations; never edit after release, add a
    new migration instead. interaction_logs, interaction_events and
    conversion_events follow the seed's DDL (appendix C, §3.5) exactly. -#}
{% macro migration_v001_operational_tables() %}
create table if not exists ses.talents (
    id bigint primary key,
    possessed_skills_keywords text[],
    residential_todofuken text,
    residential_area text,
    nearest_station text,
    desired_remote_onsite text,
    min_experience_years integer,
    primary_contract_type text,
    desired_price_min integer,
    japanese_skill text,
    english_skill text,
    updated_at timestamptz not null default now()
);

create table if not exists ses.projects (
    id bigint primary key,
    required_skills_keywords text[],
    preferred_skills_keywords text[],
    work_todofuken text,
    work_area text,
    work_station text,
    remote_onsite text,
    min_experience_years integer,
    contract_type text,
    monthly_tanka_max integer,
    japanese_skill text,
    english_skill text,
    updated_at timestamptz not null default now()
);

-- One row per match run: everything needed to reproduce it (R-36).
create table if not exists ses.match_runs (
    match_run_id varchar(64) primary key,
    project_id bigint not null,
    engine_version varchar(20),
    config_version varchar(20),
    two_tower_embedder varchar(50),
    two_tower_version varchar(20),
    two_tower_weight double precision,
    two_tower_enabled boolean,
    variant varchar(50),
    top_k integer,
    config jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now()
);

-- The seed's match_results: the candidate rows of one match run.
create table if not exists ses.match_results (
    id bigserial primary key,
    match_run_id varchar(64) not null references ses.match_runs (match_run_id),
    talent_id bigint not null,
    project_id bigint not null,
    rank integer not null,
    business_score double precision,
    two_tower_score double precision,
    total_score double precision,
    created_at timestamptz not null default now(),
    constraint match_results_unique_run_talent unique (match_run_id, talent_id)
);

create table if not exists ses.interaction_logs (
    id bigserial primary key,
    match_result_id bigint references ses.match_results (id),
    talent_id bigint not null,
    project_id bigint not null,
    match_run_id varchar(64) not null,
    engine_version varchar(20),
    config_version varchar(20),
    two_tower_score double precision,
    two_tower_embedder varchar(50),
    two_tower_version varchar(20),
    business_score double precision,
    outcome varchar(20),
    feedback_at timestamptz,
    variant varchar(50),
    created_at timestamptz not null default now(),
    run_date date generated always as ((created_at at time zone 'Asia/Tokyo')::date) stored,
    constraint interaction_logs_unique_run_pair unique (match_run_id, talent_id, project_id)
)
-- Room on each page so the trigger's outcome updates stay HOT (no index writes).
with (fillfactor = 80);
create index if not exists interaction_logs_project_idx on ses.interaction_logs (project_id);
create index if not exists interaction_logs_talent_idx on ses.interaction_logs (talent_id);

create table if not exists ses.feedback_events (
    id bigserial primary key,
    interaction_id bigint not null references ses.interaction_logs (id),
    feedback_type text not null,
    actor text not null,
    source text not null default 'gui',
    meta jsonb,
    created_at timestamptz not null default now(),
    is_revoked boolean not null default false,
    revoked_at timestamptz,
    revoked_by text,
    constraint feedback_events_revocation_complete
        check (not is_revoked or (revoked_at is not null and revoked_by is not null))
);
create index if not exists feedback_events_interaction_idx on ses.feedback_events (interaction_id);

create table if not exists ses.interaction_events (
    id bigserial primary key,
    interaction_id bigint not null references ses.interaction_logs (id),
    event_type text not null,
    actor text not null,
    source text not null default 'gui',
    idempotency_key text not null unique,
    meta jsonb,
    created_at timestamptz not null default now()
);
create unique index if not exists uniq_interaction_shortlist_once
    on ses.interaction_events (interaction_id, actor)
    where event_type = 'shortlisted';
create index if not exists interaction_events_interaction_idx on ses.interaction_events (interaction_id);

create table if not exists ses.conversion_events (
    id bigserial primary key,
    interaction_id bigint references ses.interaction_logs (id),
    talent_id bigint not null,
    project_id bigint not null,
    stage text not null,
    actor text not null,
    source text not null default 'gui',
    meta jsonb,
    created_at timestamptz not null default now(),
    constraint conversion_events_source_check check (source in ('gui', 'crm', 'import'))
);
create index if not exists conversion_events_interaction_idx on ses.conversion_events (interaction_id);

-- Embedding caches (seed 10.3, R-24): one row per entity and (embedder, version);
-- source_updated_at says which version of the entity the vector was computed from.
-- embedding = float32 little-endian bytes (ses.embedding_to_array() reads it).
{% for entity in ['talent', 'project'] %}
create table if not exists ses.{{ entity }}_embeddings (
    {{ entity }}_id bigint not null references ses.{{ entity }}s (id) on delete cascade,
    embedder varchar(50) not null,
    version varchar(20) not null,
    dimension integer not null,
    embedding bytea not null,
    source_updated_at timestamptz not null,
    created_at timestamptz not null default now(),
    primary key ({{ entity }}_id, embedder, version),
    constraint {{ entity }}_embeddings_length check (octet_length(embedding) = 4 * dimension)
);
create index if not exists {{ entity }}_embeddings_embedder_version_idx
    on ses.{{ entity }}_embeddings (embedder, version);
{% endfor %}
{% endmacro %}
