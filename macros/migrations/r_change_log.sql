{#- R__change_log: the statement triggers that fill ses.change_log (V030).
    One insert per write statement (transition tables), so a batch of events
    costs one trigger call, not one per row. -#}

{#- (table, entity, id column, events) the log follows. feedback_events is
    append-only except revocation (its guard trigger refuses the rest). Deleted
    exposures (an administrator's cleanup) count as a TRUNCATE: the daily
    summary could not find their day any more. -#}
{% macro change_log_sources() %}
    {{ return([
        {'table': 'interaction_logs', 'entity': 'interaction', 'id': 'id', 'events': ['insert'], 'rebuild_on': ['delete']},
        {'table': 'feedback_events', 'entity': 'interaction', 'id': 'interaction_id', 'events': ['insert', 'update']},
        {'table': 'interaction_events', 'entity': 'interaction', 'id': 'interaction_id', 'events': ['insert', 'update', 'delete']},
        {'table': 'conversion_events', 'entity': 'interaction', 'id': 'interaction_id', 'events': ['insert', 'update', 'delete']},
        {'table': 'talents', 'entity': 'talent', 'id': 'id', 'events': ['insert', 'update', 'delete']},
    ]) }}
{% endmacro %}

{% macro migration_r_change_log() %}
-- TRUNCATE: every entity may have changed (entity_id NULL); consumers rebuild in full.
create or replace function ses.trg_change_log_truncate()
returns trigger
language plpgsql
as $fn$
begin
    insert into ses.change_log (entity, entity_id, source) values (tg_argv[0], null, tg_table_name);
    return null;
end;
$fn$;
{% for s in change_log_sources() %}
{%- for event in s.events %}
{%- set name = 'change_log_' ~ s.table ~ '_' ~ event %}
create or replace function ses.trg_{{ name }}()
returns trigger
language plpgsql
as $fn$
begin
    insert into ses.change_log (entity, entity_id, source)
    select distinct '{{ s.entity }}', c.{{ s.id }}, '{{ s.table }}'
    from (
    {%- if event == 'insert' %}
        select {{ s.id }} from changed_new
    {%- elif event == 'delete' %}
        select {{ s.id }} from changed_old
    {%- elif s.table == 'feedback_events' %}
        -- a revocation: the only update the guard allows
        select n.{{ s.id }} from changed_new as n inner join changed_old as o on n.id = o.id
        where n.is_revoked is distinct from o.is_revoked
    {%- else %}
        select {{ s.id }} from changed_new
        union all
        select {{ s.id }} from changed_old
    {%- endif %}
    ) as c
    where c.{{ s.id }} is not null;
    return null;
end;
$fn$;
drop trigger if exists {{ name }} on ses.{{ s.table }};
create trigger {{ name }}
    after {{ event }} on ses.{{ s.table }}
    referencing {% if event in ('insert', 'update') %}new table as changed_new {% endif %}{% if event in ('update', 'delete') %}old table as changed_old {% endif %}
    for each statement execute function ses.trg_{{ name }}();
{%- endfor %}
{%- for event in ['truncate'] + s.get('rebuild_on', []) %}
drop trigger if exists change_log_{{ s.table }}_{{ event }} on ses.{{ s.table }};
create trigger change_log_{{ s.table }}_{{ event }}
    after {{ event }} on ses.{{ s.table }}
    for each statement execute function ses.trg_change_log_truncate('{{ s.entity }}');
{%- endfor %}
{% endfor %}
{% endmacro %}
