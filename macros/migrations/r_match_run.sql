{#- R-36: the match run the app calls. Scores one project against every talent
    right now (business rules in SQL, two-tower from the cached talent matrix),
    ranks the passed candidates, logs the top k through ses.log_match_run and
    returns the match_run_id. Knocked-out talents never enter the ranking (R-32);
    the two-tower score only reorders (R-33); ties go to the smaller talent id. -#}
{#- The ranking statement of ses.run_match, `talent_filter` restricting the
    talents considered before the rules run. -#}
{% macro match_run_ranking(talent_filter) %}
with candidates as (
    {{ candidate_pairs(
        rule_ready_talents('(select * from ses.talents as t0 where ' ~ talent_filter ~ ') as t1', 'id'),
        rule_ready_projects('ses.projects where id = p_project_id', 'id')
    ) | indent(4) }}
),
passed as (
    select talent_id, talent_updated_at, business_score
    from candidates
    where cardinality(ko_reasons) = 0
),
passed_arrays as (
    select
        array_agg(talent_id order by talent_id) as talent_ids,
        array_agg(extract(epoch from talent_updated_at)::float8 order by talent_id) as updated_at
    from passed
),
-- one float8[] back, not a row per talent: PL/Python's row output was most of
-- the latency for projects whose required skills pass tens of thousands of talents
scores as (
    select s.talent_id, s.two_tower_score
    from passed_arrays as a
    cross join lateral unnest(
        a.talent_ids,
        {{ ses_function('two_tower_project_score_array') }}(
            v_embedder, v_dimension, p_project_id, a.talent_ids, a.updated_at)
    ) as s (talent_id, two_tower_score)
),
ranked as (
    select
        p.talent_id,
        p.business_score,
        sc.two_tower_score,
        ses.blend_total(ses.base_score(p.business_score), sc.two_tower_score, v_weight,
                        v_serves_two_tower) as total_score
    from passed as p
    left join scores as sc on p.talent_id = sc.talent_id
),
top as (
    select *, row_number() over (order by {{ candidate_rank_order() }}) as rank
    from ranked
    order by {{ candidate_rank_order() }}
    limit p_top_k
)
select jsonb_agg(jsonb_build_object(
           'talent_id', talent_id, 'rank', rank, 'business_score', business_score,
           'two_tower_score', two_tower_score, 'total_score', total_score) order by rank)
  into v_candidates
  from top;
{% endmacro %}

{% macro migration_r_match_run() %}
create or replace function ses.run_match(
    p_project_id bigint,
    p_top_k integer default 20,
    p_match_run_id text default null,
    p_created_at timestamptz default null
)
returns text
language plpgsql
volatile
{{ security_definer() }}
as $fn$
declare
    v_problem text;
    v_existing ses.match_runs;
    v_config jsonb := ses.two_tower_config();
    v_embedder text := v_config ->> 'embedder';
    v_dimension integer := (v_config ->> 'dimension')::integer;
    v_required text[];
    v_variant text;
    v_weight double precision;
    v_version text;
    v_candidates jsonb;
    v_serves_two_tower boolean;
    v_control jsonb;
    v_run_id text := p_match_run_id;
    v_interleaving jsonb;
begin
    -- the write path's rules (macros/write_api/write_api_rules.sql), in parameter order
    v_problem := coalesce(
        {{ wp_value_problem({'name': 'project_id', 'rule': 'reference', 'table': 'ses.projects',
                             'unknown': 'unknown project_id'}, 'p_') | indent(8) }},
        case
            when p_top_k is null or p_top_k < 1 or p_top_k > {{ write_api_limits().max_candidates }}
                then '22023|top_k must be between 1 and {{ write_api_limits().max_candidates }}, got '
                    || coalesce(p_top_k::text, 'NULL')
        end,
        {{ wp_value_problem({'name': 'match_run_id', 'rule': 'run_id'}, 'p_') | indent(8) }},
        {{ wp_value_problem({'name': 'created_at', 'rule': 'event_time'}, 'p_') | indent(8) }}
    );
    if v_problem is not null then
        perform ses.wp_raise(v_problem);
    end if;
    if p_match_run_id is not null then
        -- A replayed run is logged once: concurrent replays wait here for the
        -- first, then return it and write nothing (ses.log_match_run takes the
        -- same lock).
        perform pg_advisory_xact_lock(hashtextextended('ses_match.match_run_id:' || p_match_run_id, 0));
        select * into v_existing from ses.match_runs where match_run_id = p_match_run_id;
        if found then
            if v_existing.project_id <> p_project_id then
                raise exception 'match_run_id % belongs to project %, not %', p_match_run_id,
                    v_existing.project_id, p_project_id using errcode = '23505';
            end if;
            if (v_existing.config ->> 'top_k')::integer is distinct from p_top_k then
                raise exception 'match_run_id % was logged with top_k %, not %', p_match_run_id,
                    coalesce(v_existing.config ->> 'top_k', 'NULL'), p_top_k using errcode = '23505';
            end if;
            return p_match_run_id;
        end if;
    end if;
    select required_skills_normalized into v_required from ses.projects where id = p_project_id;

    v_variant := ses.ab_variant(p_project_id);
    v_weight := ses.two_tower_weight();
    v_version := {{ ses_function('embedder_version') }}(v_embedder, v_dimension);

    -- Two static variants of one query: with the GIN-indexed required-skill
    -- prefilter when it applies, without it otherwise (a single query with an
    -- OR would make the planner scan every talent).
    -- Interleaving (R-35): rank twice, control (w = 0) then treatment, and show
    -- their team-draft merge, seeded by the run id (docs/interleaving.md).
    foreach v_serves_two_tower in array case when v_variant = 'interleaving' then array[false, true]
                                             else array[ses.variant_serves_two_tower(v_variant)] end loop
        v_control := v_candidates;
        if {{ 'cardinality(v_required) > 0' if business_rule_config().ko_required_skills else 'false' }} then
            {{ match_run_ranking('t0.skills_normalized && v_required') | indent(12) }}
        else
            {{ match_run_ranking('true') | indent(12) }}
        end if;
    end loop;
    if v_variant = 'interleaving' then
        v_run_id := coalesce(v_run_id, ses.new_ulid(coalesce(p_created_at, clock_timestamp())));
        v_interleaving := jsonb_build_object(
            'control_version', v_config ->> 'engine_version',
            'treatment_version', v_embedder || ':' || v_version || '@' || v_weight,
            'control', coalesce((select jsonb_agg(x -> 'talent_id' order by (x ->> 'rank')::integer)
                                 from jsonb_array_elements(v_control) as x), '[]'::jsonb),
            'treatment', coalesce((select jsonb_agg(x -> 'talent_id' order by (x ->> 'rank')::integer)
                                   from jsonb_array_elements(v_candidates) as x), '[]'::jsonb));
        v_candidates := ses.interleave_candidates(
            coalesce(v_control, '[]'::jsonb), coalesce(v_candidates, '[]'::jsonb), v_run_id, p_top_k);
    end if;

    return ses.log_match_run(
        p_project_id => p_project_id,
        p_candidates => coalesce(v_candidates, '[]'::jsonb),
        p_engine_version => v_config ->> 'engine_version',
        p_config_version => v_config ->> 'config_version',
        p_two_tower_embedder => v_embedder,
        p_two_tower_version => v_version,
        p_two_tower_weight => v_weight,
        p_two_tower_enabled => (v_config ->> 'enabled')::boolean,
        p_variant => v_variant,
        p_config => v_config || jsonb_build_object('two_tower_weight', v_weight, 'top_k', p_top_k)
            || case when v_interleaving is not null then jsonb_build_object('interleaving', v_interleaving)
                    else '{}'::jsonb end,
        p_match_run_id => v_run_id,
        p_created_at => p_created_at,
        p_control_version => v_interleaving ->> 'control_version',
        p_treatment_version => v_interleaving ->> 'treatment_version'
    );
end;
$fn$;
{% endmacro %}
