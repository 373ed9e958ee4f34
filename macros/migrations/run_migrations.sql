{% macro ses_run_migrations() %}
  create extension if not exists plpython3u
{% endmacro %}
