{#- V031: when a project stopped taking candidates (filled or cancelled). NULL
    = open. The ranked_candidates mart ranks the open projects only; set it from
    the app or the CRM sync like any other project column. -#}
{% macro migration_v031_project_closed_at() %}
alter table ses.projects add column if not exists closed_at timestamptz;
{% endmacro %}
