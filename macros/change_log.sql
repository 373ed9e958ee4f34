{#- Incremental models driven by ses.change_log (V030): each build processes
    the log rows written since the snapshot it processed last time, so its cost
    follows the changes, not the history.

    A model opts in with
        materialized='incremental', incremental_strategy='replace_changed', full_refresh=false,
        unique_key=<its key>, meta={'change_log': {'entity': 'interaction', 'sources': [...]}},
        pre_hook="{{ change_window_begin() }}", post_hook="{{ change_window_end() }}"
    and reads its inputs through changed_rows() (or changed_entity_ids()).

    The window of a build is (processed, pending]: pending is the snapshot the
    build took at its start, or an upstream model's processed snapshot when that
    one is older (a model never gets ahead of the models it reads). A TRUNCATE
    (entity_id NULL in the log) or a missing watermark means a full rebuild. -#}

{#- is_incremental() for change-log models; false in dbt unit tests, which
    render the model from its given inputs alone. -#}
{% macro change_log_incremental() -%}
    {{- return(not in_unit_test() and is_incremental()) -}}
{%- endmacro %}

{% macro in_unit_test() -%}
    {{- return(model is defined and model.resource_type == 'unit_test') -}}
{%- endmacro %}

{% macro change_consumer(relation=none) -%}
    {%- set r = relation if relation is not none else this -%}
    {{- r.schema ~ '.' ~ r.identifier -}}
{%- endmacro %}

{% macro change_log_config(relation=none) -%}
    {%- if not execute -%}
        {{- return({'entity': 'interaction', 'sources': ['unresolved']}) -}}
    {%- endif -%}
    {%- set cfg = (config.get('meta') or {}).get('change_log') -%}
    {%- if not cfg -%}
        {%- do exceptions.raise_compiler_error(change_consumer(relation) ~ ': meta.change_log {entity, sources} is required') -%}
    {%- endif -%}
    {{- return(cfg) -}}
{%- endmacro %}

{#- pre_hook: serialise builds of this model, then fix the window's end. -#}
{% macro change_window_begin(upstream=[]) -%}
    {%- set consumer = change_consumer() -%}
    {%- set cfg = change_log_config() -%}
-- JIT compiles these scans for longer than it saves them (measured: 0.8 s of
-- 1.9 s on the outcome layer at 2M feedback events)
set local jit = off;
select pg_advisory_xact_lock(hashtext('ses_match.change_window'), hashtext('{{ consumer }}'));
insert into ses.incremental_watermarks as w (consumer, entity, pending)
select
    '{{ consumer }}',
    '{{ cfg.entity }}',
    -- the oldest of this build's snapshot and the upstream models' processed ones
    -- (NULL when an upstream never finished a build: then this one rebuilds in full)
    case when bool_and(s.snap is not null) then (array_agg(s.snap order by pg_snapshot_xmax(s.snap)))[1] end
from (
    select pg_current_snapshot() as snap
    {%- for u in upstream %}
    union all
    select (select u.processed from ses.incremental_watermarks as u where u.consumer = '{{ change_consumer(u) }}')
    {%- endfor %}
) as s
on conflict (consumer) do update set pending = excluded.pending, entity = excluded.entity
{%- endmacro %}

{#- post_hook (same transaction as the data): the window is done. -#}
{% macro change_window_end() -%}
update ses.incremental_watermarks
set processed = pending, updated_at = now()
where consumer = '{{ change_consumer() }}'
{%- endmacro %}

{% macro _watermark(consumer, column) -%}
(select w.{{ column }} from ses.incremental_watermarks as w where w.consumer = '{{ consumer }}')
{%- endmacro %}

{#- Log rows of a consumer's window (alias c): ids, or TRUNCATE markers.
    bounded: the build window (processed, pending]; else everything after
    processed (what a live view has to recompute). -#}
{% macro _change_window_rows(consumer, cfg, which, bounded=true) -%}
select c.entity_id
from ses.change_log as c
where
    c.entity = '{{ cfg.entity }}'
    and c.source in ('{{ cfg.sources | join("', '") }}')
    and c.txid >= pg_snapshot_xmin({{ _watermark(consumer, 'processed') }})
    and not pg_visible_in_snapshot(c.txid, {{ _watermark(consumer, 'processed') }})
    {%- if bounded %}
    and pg_visible_in_snapshot(c.txid, {{ _watermark(consumer, 'pending') }})
    {%- endif %}
    and c.entity_id is {{ 'not null' if which == 'ids' else 'null' }}
{%- endmacro %}

{#- True when the window cannot be applied row by row: no watermark yet, or a TRUNCATE in it. -#}
{% macro _window_needs_full(consumer, cfg, bounded) -%}
(
    coalesce((
        select w.processed is null {{- ' or w.pending is null' if bounded }}
        from ses.incremental_watermarks as w where w.consumer = '{{ consumer }}'
    ), true)
    or exists ({{ _change_window_rows(consumer, cfg, 'truncate', bounded) }})
)
{%- endmacro %}

{% macro _window_ids(consumer, cfg, bounded) -%}
select distinct ch.entity_id from ({{ _change_window_rows(consumer, cfg, 'ids', bounded) }}) as ch
{%- endmacro %}

{#- True when this build must recompute everything; `--full-refresh` forces it
    (in place: the models set full_refresh=false, because dbt's swap would drop
    the views built on them). -#}
{% macro change_window_needs_full(relation=none) -%}
    {%- if flags is defined and flags.FULL_REFRESH -%}
        (true)
    {%- else -%}
        {{- _window_needs_full(change_consumer(relation), change_log_config(relation), true) -}}
    {%- endif -%}
{%- endmacro %}

{#- Distinct ids of the entities changed in this build's window. -#}
{% macro changed_entity_ids(relation=none) -%}
    {{- _window_ids(change_consumer(relation), change_log_config(relation), true) -}}
{%- endmacro %}

{#- A change-log model as a live relation: its rows for the keys unchanged
    since its last build, plus `recompute(events)` for the changed ones (all of
    them when it never built or a TRUNCATE came since). Costs what changed since
    the build, so views over the incremental tables stay exact between builds.
    `events`: the relation recompute reads, restricted by its `id_column`. -#}
{% macro live_change_model(model_name, recompute, events, id_column='interaction_id') -%}
    {%- if in_unit_test() -%}
        {#- a unit test's inputs are fixtures: recompute from the given events -#}
        {%- do ref(model_name) -%}
        {{- return('(' ~ recompute(events) ~ ')') -}}
    {%- endif -%}
    {%- set node = _change_log_node(model_name) -%}
    {%- set consumer, cfg = node.consumer, node.cfg -%}
    {%- set full = _window_needs_full(consumer, cfg, false) -%}
    {%- set changed -%}
(
    select ev.* from {{ events }} as ev where {{ full }}
    union all
    select ev.* from {{ events }} as ev
    where not {{ full }} and ev.{{ id_column }} in ({{ _window_ids(consumer, cfg, false) }})
)
    {%- endset -%}
(
    select t.* from {{ ref(model_name) }} as t
    where not {{ full }} and t.{{ node.key }} not in ({{ _window_ids(consumer, cfg, false) }})
    union all
    select recomputed.* from (
        {{ recompute(changed) | indent(8) }}
    ) as recomputed
)
{%- endmacro %}

{% macro _change_log_node(model_name) -%}
    {%- if not execute -%}
        {{- return({'consumer': 'unresolved.' ~ model_name, 'cfg': {'entity': 'interaction', 'sources': ['unresolved']}, 'key': 'interaction_id'}) -}}
    {%- endif -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == model_name -%}
        {{- return({
            'consumer': node.schema ~ '.' ~ node.alias,
            'cfg': node.config.meta.change_log,
            'key': node.config.unique_key,
        }) -}}
    {%- endfor -%}
    {%- do exceptions.raise_compiler_error('unknown change-log model "' ~ model_name ~ '"') -%}
{%- endmacro %}

{#- Keys of this model changed in the build's window: the changed entity ids,
    or meta.change_log.key_sql mapping them (`changed_ids.entity_id`) to keys. -#}
{% macro changed_keys(relation=none) -%}
    {%- set cfg = change_log_config(relation) -%}
    {%- if cfg.get('key_sql') -%}
select k.key
from ({{ changed_entity_ids(relation) }}) as changed_ids
cross join lateral ({{ cfg.key_sql }}) as k (key)
    {%- else -%}
    {{ changed_entity_ids(relation) }}
    {%- endif -%}
{%- endmacro %}

{#- `rel` restricted to the rows whose `key_column` changed in this build's
    window (everything on a full rebuild). Two branches, each behind a one-time
    filter, so an incremental build reads the changed rows by index only. -#}
{% macro changed_rows(rel, key_column) -%}
    {%- if change_log_incremental() -%}
(
    select r.* from {{ rel }} as r where {{ change_window_needs_full() }}
    union all
    select r.* from {{ rel }} as r
    where not {{ change_window_needs_full() }} and r.{{ key_column }} in ({{ changed_keys() }})
)
    {%- else -%}
    {{ rel }}
    {%- endif -%}
{%- endmacro %}

{#- Incremental strategy: delete the changed keys (all rows on a full rebuild),
    insert the recomputed rows. Unlike delete+insert it also removes the rows of
    keys that no longer produce one. -#}
{% macro get_incremental_replace_changed_sql(arg_dict) %}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set key = arg_dict['unique_key'] -%}
    {%- set cols = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
-- a full rebuild empties the table at once (no dead rows to scan and vacuum;
-- readers wait for this transaction, which a full rebuild may ask of them)
do $full$ begin
    if {{ change_window_needs_full(target) | indent(4) }} then
        truncate table {{ target }};
    end if;
end $full$;
delete from {{ target }} as t
where not {{ change_window_needs_full(target) }} and t.{{ key }} in ({{ changed_keys(target) }});
insert into {{ target }} ({{ cols }})
select {{ cols }} from {{ arg_dict['temp_relation'] }};
{% endmacro %}

{#- on-run-end: drop log rows every consumer has processed. Interaction rows go
    once all incremental models reading them are past them; talent rows (read
    by the per-backend caches of ses.run_match) after a retention period, and
    the horizon records how far, so an older cache reloads in full. -#}
{% macro prune_change_log() %}
    {%- if not execute -%}{{ return('select 1') }}{%- endif -%}
    {%- set consumers = [] -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and (node.config.meta or {}).get('change_log') -%}
        {%- do consumers.append(node.schema ~ '.' ~ node.alias) -%}
    {%- endfor -%}
    {%- set retention = var('talent_change_retention_days', 7) | int -%}
with floor as (
    select min(pg_snapshot_xmin(w.processed)) as below
    from ses.incremental_watermarks as w
    where w.consumer in ('{{ consumers | join("', '") }}')
    having count(w.processed) = {{ consumers | length }}
),

pruned_interactions as (
    delete from ses.change_log as c
    where c.entity = 'interaction' and c.txid < (select f.below from floor as f)
    returning c.txid
),

pruned_talents as (
    delete from ses.change_log as c
    where c.entity = 'talent' and c.changed_at < now() - interval '{{ retention }} days'
    returning c.txid
)

insert into ses.change_log_horizon as h (entity, pruned_below)
select 'talent', max(p.txid) from pruned_talents as p having count(*) > 0
union all
select 'interaction', max(p.txid) from pruned_interactions as p having count(*) > 0
on conflict (entity) do update set pruned_below = greatest(h.pruned_below, excluded.pruned_below)
{% endmacro %}
