{#- Two-tower settings (R-23, R-31, R-34, R-35): dbt vars mirroring the seed's
    TWO_TOWER_* env vars (an env var wins, see dbt_project.yml). Rendered into
    ses.two_tower_config() by the R__two_tower_config migration so the online
    match path and the batch models read the same values, and every match run
    stores them (R-36). -#}
{% macro two_tower_settings() %}
    {%- set weight = var('two_tower_weight') | string | trim -%}
    {{ return({
        'embedder': var('two_tower_embedder') | string | trim,
        'dimension': var('two_tower_dimension') | string | trim | int,
        'weight_override': (weight | float) if weight not in ('', 'none', 'None', 'schedule') else none,
        'enabled': (var('two_tower_enabled') | string | trim | lower) in ('true', '1'),
        'mode': var('two_tower_mode') | string | trim,
        'rollout_pct': var('two_tower_rollout_pct') | string | trim | int,
        'interleaving_pct': var('two_tower_interleaving_pct') | string | trim | int,
        'mature_weight': var('two_tower_mature_weight') | string | trim | float,
        'engine_version': var('engine_version') | string,
    }) }}
{% endmacro %}

{#- Bad settings stop `dbt build` before anything runs (the migration calls this). -#}
{% macro validate_two_tower_settings() %}
    {%- set checks = [
        ('two_tower_embedder', var('two_tower_embedder') | string | trim in ('hash', 'onnx', 'candle'), 'hash, onnx or candle'),
        ('two_tower_dimension', (var('two_tower_dimension') | string | trim).isdigit() and (var('two_tower_dimension') | int) >= 1, 'an integer >= 1'),
        ('two_tower_weight', (var('two_tower_weight') | string | trim) in ('', 'none', 'None', 'schedule')
            or (var('two_tower_weight') | string | trim | replace('.', '', 1)).isdigit(), 'empty (schedule) or a number >= 0'),
        ('two_tower_enabled', var('two_tower_enabled') | string | trim | lower in ('true', '1', 'false', '0', ''), 'true or false'),
        ('two_tower_mode', var('two_tower_mode') | string | trim in ('shadow', 'serving'), 'shadow or serving'),
        ('two_tower_rollout_pct', var('two_tower_rollout_pct') | string | trim in ('0', '10', '20', '30', '40', '50', '60', '70', '80', '90', '100'), 'a multiple of 10 in 0..100'),
        ('two_tower_interleaving_pct', var('two_tower_interleaving_pct') | string | trim in ('0', '10', '20', '30', '40', '50', '60', '70', '80', '90', '100'), 'a multiple of 10 in 0..100'),
        ('two_tower_interleaving_pct', (var('two_tower_mode') | string | trim) != 'serving'
            or (var('two_tower_rollout_pct') | string | trim | int(0)) + (var('two_tower_interleaving_pct') | string | trim | int(0)) <= 100,
            'at most 100 - two_tower_rollout_pct in serving mode (the interleaved and served projects are disjoint)'),
        ('two_tower_mature_weight', 0.1 <= (var('two_tower_mature_weight') | float(-1)) <= 0.3, 'in [0.1, 0.3]'),
    ] -%}
    {%- for name, ok, expected in checks if not ok -%}
        {{ exceptions.raise_compiler_error(name ~ ' must be ' ~ expected ~ ', got "' ~ var(name) ~ '"') }}
    {%- endfor -%}
{% endmacro %}

{% macro migration_r_two_tower_config() %}
{%- do validate_two_tower_settings() -%}
{%- do validate_historical_settings() -%}
{%- set s = two_tower_settings() -%}
-- The settings this build was configured with (R-23); config_version is their digest.
create or replace function ses.two_tower_config()
returns jsonb
language sql
immutable
as $fn$
    select cfg || jsonb_build_object('config_version', left(md5(cfg::text), 12))
    from (select {{ "'" ~ tojson(s) | replace("'", "''") ~ "'" }}::jsonb || jsonb_build_object(
        'business_rules', {{ "'" ~ tojson(business_rule_config()) | replace("'", "''") ~ "'" }}::jsonb,
        'historical', {{ "'" ~ tojson(historical_settings()) | replace("'", "''") ~ "'" }}::jsonb) as cfg) as c
$fn$;

-- R-34 cold start: < 500 labels => 0; 500-999 => 0.05; >= 1000 => the configured weight.
create or replace function ses.cold_start_weight(p_labeled_count bigint)
returns double precision
language sql
immutable
as $fn$
    select case
        when coalesce(p_labeled_count, 0) < 500 then 0.0
        when p_labeled_count < 1000 then 0.05
        else (ses.two_tower_config() ->> 'mature_weight')::double precision
    end
$fn$;

-- The weight in force: an explicit TWO_TOWER_WEIGHT override, else the
-- schedule's weight as of the last nightly build (two_tower_weight_schedule),
-- so a match run reads one row instead of counting every label, and the weight
-- stays fixed through the day. PL/pgSQL: the table is built after this.
create or replace function ses.two_tower_weight()
returns double precision
language plpgsql
stable
as $fn$
declare
    v_weight double precision := (ses.two_tower_config() ->> 'weight_override')::double precision;
begin
    if v_weight is null and to_regclass('{{ ses_relation('two_tower_weight_schedule') }}') is not null then
        select cold_start_weight into v_weight from {{ ses_relation('two_tower_weight_schedule') }};
    end if;
    return coalesce(v_weight, 0.0);
end;
$fn$;

-- Whether a variant ranks by the blended total (else by the base score).
create or replace function ses.variant_serves_two_tower(p_variant text)
returns boolean
language sql
immutable
parallel safe
as $fn$
    select coalesce(p_variant like 'two\_tower\_%', false)
$fn$;

-- R-35: stable project-level bucket 0..9 (not id % 10, which follows id issuance).
create or replace function ses.ab_bucket(p_project_id bigint)
returns integer
language sql
immutable
parallel safe
as $fn$
    select (((hashint8extended(p_project_id, 20261124) % 10) + 10) % 10)::integer
$fn$;

-- control: two-tower off; shadow: scored and logged, never used; two_tower_<pct>pct:
-- the project's bucket is inside the rollout and the blended total ranks;
-- interleaving: the bucket is among the top interleaving_pct / 10 buckets and the
-- shown list is the team-draft merge of control and blended (docs/interleaving.md).
create or replace function ses.ab_variant(p_project_id bigint)
returns text
language sql
immutable
as $fn$
    select case
        when not (c ->> 'enabled')::boolean then 'control'
        when ses.ab_bucket(p_project_id) >= 10 - coalesce((c ->> 'interleaving_pct')::integer, 0) / 10
            then 'interleaving'
        when c ->> 'mode' = 'shadow' then 'shadow'
        when ses.ab_bucket(p_project_id) < (c ->> 'rollout_pct')::integer / 10
            then 'two_tower_' || (c ->> 'rollout_pct') || 'pct'
        else 'control'
    end
    from (select ses.two_tower_config() as c) as cfg
$fn$;

-- R-31: total = (base + w * two_tower) / (1 + w); missing two-tower => 0.5;
-- w = 0 or a variant that does not serve => base exactly; clamped to [0, 1].
create or replace function ses.blend_total(
    p_base double precision, p_two_tower double precision, p_weight double precision, p_serving boolean)
returns double precision
language sql
immutable
parallel safe
as $fn$
    select case
        when not p_serving or coalesce(p_weight, 0) = 0 then p_base
        else least(1.0, greatest(0.0, (p_base + p_weight * coalesce(p_two_tower, 0.5)) / (1 + p_weight)))
    end
$fn$;

-- R-30: base = business x semantic x historical, a missing factor counting as 1.0.
create or replace function ses.base_score(
    p_business double precision, p_semantic double precision default null, p_historical double precision default null)
returns double precision
language sql
immutable
parallel safe
as $fn$
    select coalesce(p_business, 1.0) * coalesce(p_semantic, 1.0) * coalesce(p_historical, 1.0)
$fn$;
{% endmacro %}
