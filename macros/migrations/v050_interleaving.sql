{#- V050: team-draft interleaving (R-35, docs/interleaving.md). For a pair shown by
    an interleaved match run: the team that picked it (control = the business
    score with w = 0, treatment = blended with the two-tower) and the version of
    each ranker, so credit and the report need no join back to the run's config.
    NULL for pairs of other variants. -#}
{% macro migration_v050_interleaving() %}
alter table ses.match_results
    add column if not exists team varchar(20),
    add column if not exists control_version varchar(64),
    add column if not exists treatment_version varchar(64);
alter table ses.match_results
    drop constraint if exists match_results_team_check;
alter table ses.match_results
    add constraint match_results_team_check check (team in ('control', 'treatment'));
{% endmacro %}
