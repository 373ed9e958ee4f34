{#- R-35 team-draft interleaving in the match run (docs/interleaving.md). The
    merge itself is ses.team_draft_merge (python_udfs, ses_udf.interleaving);
    this turns the two rankings ses.run_match computed into the candidate rows
    it logs. -#}
{% macro migration_r_interleaving() %}
-- p_control / p_treatment: the candidate rows of each ranking ({talent_id, rank,
-- business_score, two_tower_score, total_score}, rank 1 = best). The shown rows
-- carry the merged rank, the team that picked the talent and that team's
-- scores (total_score: the base score for control, the blended total for
-- treatment). PL/pgSQL: the merge function is built
-- by dbt after the migrations.
create or replace function ses.interleave_candidates(
    p_control jsonb, p_treatment jsonb, p_match_run_id text, p_top_k integer)
returns jsonb
language plpgsql
stable
set search_path = pg_catalog, ses, pg_temp
as $fn$
declare
    v_merged jsonb;
begin
    select jsonb_agg(
               (case when m.team = 'control' then c.e else t.e end - 'rank') || jsonb_build_object('rank', m.rank, 'team', m.team)
               order by m.rank)
      into v_merged
      from {{ ses_function('team_draft_merge') }}(
               array(select (x ->> 'talent_id')::bigint from jsonb_array_elements(p_control) as x
                     order by (x ->> 'rank')::integer),
               array(select (x ->> 'talent_id')::bigint from jsonb_array_elements(p_treatment) as x
                     order by (x ->> 'rank')::integer),
               p_match_run_id, p_top_k) as m
      left join jsonb_array_elements(p_treatment) as t (e) on (t.e ->> 'talent_id')::bigint = m.talent_id
      left join jsonb_array_elements(p_control) as c (e) on (c.e ->> 'talent_id')::bigint = m.talent_id;
    return coalesce(v_merged, '[]'::jsonb);
end;
$fn$;
{% endmacro %}
