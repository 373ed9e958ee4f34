{#- R-30..R-36: the ranking and the match run the app calls.

    ses.rank_candidates(project, n, ...) is the one definition of the ranking,
    used by ses.run_match and by the ranked_candidates mart:
      1. the vectorised shortlist (ses.candidate_shortlist, ses_udf.candidates)
         evaluates the business rules of macros/business_rules.sql for every
         talent through ses.business_rule_tables, and returns the candidates
         that can reach the top n plus an upper bound on everything it left out;
      2. ses.rank_shortlist ranks them in SQL: the rules again per pair (a
         knocked-out pair never passes, R-32), the base score factors (R-30),
         the blend (R-31) and the order (total desc, talent id asc, R-33);
      3. the shortlist is accepted when its n-th candidate by total (and by
         base score) comes before the bound in the ranking order, ties to the
         smaller talent id; otherwise it is asked again, four times deeper.
    ses.run_match logs the top k of it with a ULID match_run_id. -#}

{#- The rows both ranking functions return (ses.rank_shortlist ranks a shortlist,
    ses.rank_candidates returns its accepted top n). -#}
{% macro ranking_result_columns() -%}
returns table (
    talent_id bigint,
    rank bigint,
    base_rank bigint,
    business_score double precision,
    historical_score double precision,
    base_score double precision,
    two_tower_score double precision,
    total_score double precision
)
{%- endmacro %}

{#- Talent features of the rules, packed for the per-backend store of
    ses_udf.candidates: ids, update times, each value feature dictionary-coded
    (values as JSON in code order, codes as int4send), the skills (chr(31)
    between a talent's, chr(30) between talents, with the counts to check the
    split) and the snapshot the rows were read in. p_ids NULL = every talent. -#}
{% macro rule_feature_functions() %}
{%- set features = talent_rule_features() -%}
{%- set value_features = features | selectattr('column') | list -%}
create or replace function ses.business_rule_spec()
returns jsonb
language sql
immutable
as $fn$
    select {{ "'" ~ tojson({
        'features': features,
        'knock_outs': knock_out_rules() | map(attribute='reason') | list,
        'knock_out_features': knock_out_rules() | map(attribute='feature') | list,
        'scores': business_score_terms() | map(attribute='feature') | list,
    }) | replace("'", "''") ~ "'" }}::jsonb
$fn$;

-- (dropped first: its columns follow the features of the rules)
drop function if exists ses.talent_rule_features(bigint[]);
create function ses.talent_rule_features(p_ids bigint[] default null)
returns table (
    snapshot text,
    ids bytea,
    updated_at bytea,
    {%- for f in value_features %}
    {{ f.name }}_values jsonb,
    {{ f.name }}_codes bytea,
    {%- endfor %}
    skill_counts bytea,
    skills text
)
language sql
stable
-- sorts every talent's row (skills included) in memory: ~150 MB at 1M talents
set work_mem = '256MB'
as $fn$
    with t as materialized (
        {{ rule_ready_talents('ses.talents where p_ids is null or id = any(p_ids)', 'id') | indent(8) }}
    ),
    {%- for f in value_features %}

    {{ f.name }}_dictionary as (
        select d.value, (row_number() over (order by d.value nulls first) - 1)::integer as code
        from (select distinct t.{{ f.column }} as value from t) as d
    ),
    {%- endfor %}

    -- Talent order; the aggregates below read every column in one scan, so
    -- their streams line up (the store checks the ids come back sorted).
    coded as materialized (
        select
            t.talent_id,
            t.updated_at,
            t.skills,
            {%- for f in value_features %}
            -- NULL's code once per query (a join on "value is null" ran per talent)
            coalesce(
                {{ f.name }}_d.code,
                (select n.code from {{ f.name }}_dictionary as n where n.value is null)
            ) as {{ f.name }}_code{{ ',' if not loop.last }}
            {%- endfor %}
        from t
        {%- for f in value_features %}
        left join {{ f.name }}_dictionary as {{ f.name }}_d on t.{{ f.column }} = {{ f.name }}_d.value
        {%- endfor %}
        order by t.talent_id
    )

    select
        pg_current_snapshot()::text,
        a.ids,
        a.updated_at,
        {%- for f in value_features %}
        (select jsonb_agg(d.value order by d.code) from {{ f.name }}_dictionary as d),
        a.{{ f.name }}_codes,
        {%- endfor %}
        a.skill_counts,
        a.skills
    from (
        select
            string_agg(int8send(c.talent_id), ''::bytea) as ids,
            string_agg(float8send(extract(epoch from c.updated_at)::float8), ''::bytea) as updated_at,
            {%- for f in value_features %}
            string_agg(int4send(c.{{ f.name }}_code), ''::bytea) as {{ f.name }}_codes,
            {%- endfor %}
            string_agg(int4send(cardinality(c.skills)), ''::bytea) as skill_counts,
            -- unit separator between a talent's skills, record separator between talents
            string_agg(array_to_string(c.skills, chr(31)), chr(30)) as skills
        from coded as c
    ) as a
$fn$;

-- Every rule evaluated once per distinct value of its feature, for one project:
-- {"required_skills", "preferred_skills", "knock_outs": [per rule, per value:
-- knocked out?], "scores": [per score term, per value: its share]}. p_domains
-- holds the values of the column features; a skill feature's values are 0..the
-- number of skills the project lists. NULL for an unknown project.
create or replace function ses.business_rule_tables(p_project_id bigint, p_domains jsonb)
returns jsonb
language sql
stable
as $fn$
    with p as (
        {{ rule_ready_projects('ses.projects where id = p_project_id', 'id') | indent(8) }}
    )

    select jsonb_build_object(
        'required_skills', to_jsonb(p.required_skills),
        'preferred_skills', to_jsonb(p.preferred_skills),
        'knock_outs', jsonb_build_array(
            {%- for rule in knock_out_rules() %}
            ({{ _rule_table(rule.feature, 'coalesce(' ~ rule.condition('d.x', 'p') ~ ', false)') }}){{ ',' if not loop.last }}
            {%- endfor %}
        ),
        'scores', jsonb_build_array(
            {%- for term in business_score_terms() %}
            ({{ _rule_table(term.feature, term.score('d.x', 'p')) }}){{ ',' if not loop.last }}
            {%- endfor %}
        )
    )
    from p
$fn$;
{% endmacro %}

{#- One rule over its feature's values (d.x), in value order, as a JSON array. -#}
{% macro _rule_table(feature, expression) -%}
    {%- set f = talent_rule_features() | selectattr('name', 'equalto', feature) | first -%}
    select coalesce(jsonb_agg({{ expression }} order by d.ord), '[]'::jsonb)
    from (
    {%- if f.skills_of %}
        select g.x::{{ f.type }} as x, g.x as ord from generate_series(0, cardinality(p.{{ f.skills_of }})) as g (x)
    {%- else %}
        select v.x::{{ f.type }} as x, v.ord from jsonb_array_elements_text(p_domains -> '{{ f.name }}') with ordinality as v (x, ord)
    {%- endif %}
    ) as d
{%- endmacro %}

{% macro migration_r_match_run() %}
{{ rule_feature_functions() }}

-- R-30: the historical factor of a talent without a row in
-- talent_historical_scores (macros/historical_score.sql).
create or replace function ses.historical_factor_without_history()
returns double precision
language sql
immutable
parallel safe
as $fn$
    select {{ historical_settings().without_history }}::double precision
$fn$;

-- Dropped first so a changed result row replaces them (nothing stores them).
drop function if exists ses.rank_candidates(bigint, integer, text, integer, double precision, boolean);
drop function if exists ses.rank_shortlist(bigint, bigint[], double precision[], double precision, boolean);

-- The ranking of a shortlist (ses.candidate_shortlist's talents with their
-- business and two-tower scores): the rules per pair, the base score, the
-- blend, the order. Every row is a passed pair; rank 1 = best.
create function ses.rank_shortlist(
    p_project_id bigint,
    p_talent_ids bigint[],
    p_two_tower double precision[],
    p_weight double precision,
    p_serving boolean
)
{{ ranking_result_columns() }}
language plpgsql
stable
as $fn$
#variable_conflict use_column
begin
    return query
    with shortlist as (
        select s.talent_id, s.two_tower_score
        from unnest(p_talent_ids, p_two_tower) as s (talent_id, two_tower_score)
    ),

    -- the rules, per pair: the HardKO guarantee does not rest on the shortlist
    candidates as (
        {{ candidate_pairs(
            rule_ready_talents('ses.talents as t0 where t0.id in (select sl.talent_id from shortlist as sl)', 't0.id'),
            rule_ready_projects('ses.projects where id = p_project_id', 'id')
        ) | indent(8) }}
    ),

    -- R-30 factors of the base score, joined per talent / per project here
    -- (NULL = 1.0). A factor must lie in [0, 1]: ses.rank_candidates checks
    -- base <= business, which the shortlist's bound relies on. historical: the
    -- talent's factor as of the last nightly build (talent_historical_scores,
    -- macros/historical_score.sql), ses.historical_factor_without_history()
    -- for a talent without a row; it only
    -- multiplies passed pairs, so it reorders them and admits nobody.
    factors as (
        select
            c.talent_id,
            c.business_score,
            null::double precision as semantic_score,
            coalesce(h.historical_score, ses.historical_factor_without_history()) as historical_score
        from candidates as c
        left join ses.talent_historical_scores as h on c.talent_id = h.talent_id
        where cardinality(c.ko_reasons) = 0
    ),

    scored as (
        select
            f.talent_id,
            f.business_score,
            f.historical_score,
            ses.base_score(f.business_score, f.semantic_score, f.historical_score) as base_score,
            sl.two_tower_score
        from factors as f
        inner join shortlist as sl on f.talent_id = sl.talent_id
    ),

    blended as (
        select
            s.*,
            ses.blend_total(s.base_score, s.two_tower_score, p_weight, p_serving) as total_score
        from scored as s
    )

    select
        b.talent_id,
        row_number() over (order by {{ candidate_rank_order() }}) as rank,
        row_number() over (order by {{ candidate_base_rank_order() }}) as base_rank,
        b.business_score,
        b.historical_score,
        b.base_score,
        b.two_tower_score,
        b.total_score
    from blended as b;
end;
$fn$;

-- The top p_limit passed candidates of a project (R-30..R-33), best first:
-- rank by the blended total (ties: smaller talent id), base_rank by the base
-- score alone (the business-only order of the same candidates). Exact: see the
-- top of macros/migrations/r_match_run.sql.
create function ses.rank_candidates(
    p_project_id bigint,
    p_limit integer,
    p_embedder text,
    p_dimension integer,
    p_weight double precision,
    p_serving boolean
)
{{ ranking_result_columns() }}
language plpgsql
stable
as $fn$
declare
    v_depth integer := p_limit;
    v_short record;
    v_ranked record;
begin
    if p_limit is null or p_limit < 1 then
        raise exception 'limit must be >= 1 (got %)', coalesce(p_limit::text, 'NULL') using errcode = '22023';
    end if;
    loop
        select * into v_short
          from {{ ses_function('candidate_shortlist') }}(p_project_id, v_depth, p_embedder, p_dimension, p_weight, p_serving);
        -- the top p_limit (floats survive jsonb exactly), and what the check needs
        select
            coalesce(jsonb_agg(to_jsonb(r) order by r.rank) filter (where r.rank <= p_limit), '[]') as top,
            max(r.total_score) filter (where r.rank = p_limit) as kth_total,
            max(r.talent_id) filter (where r.rank = p_limit) as kth_total_talent,
            max(r.base_score) filter (where r.base_rank = p_limit) as kth_base,
            max(r.talent_id) filter (where r.base_rank = p_limit) as kth_base_talent,
            (array_agg(r.talent_id) filter (where r.base_score > r.business_score))[1] as bad_talent
          into v_ranked
          from ses.rank_shortlist(p_project_id, v_short.talent_ids, v_short.two_tower_scores, p_weight, p_serving) as r;
        if v_ranked.bad_talent is not null then
            raise exception 'the base score of talent % exceeds its business score: base score factors must lie in [0, 1]',
                v_ranked.bad_talent using errcode = '22003';
        end if;
        -- the shortlist holds every passed talent, or provably the best ones
        exit when cardinality(v_short.talent_ids) >= v_short.passed;
        -- (score, talent id) ahead of the bound in the ranking order: a higher
        -- score, or the same and a smaller id (row comparison, negated id)
        exit when (v_ranked.kth_total, -v_ranked.kth_total_talent)
                  > (coalesce(v_short.cutoff_total, '-infinity'), -coalesce(v_short.cutoff_total_talent, 0))
              and (v_ranked.kth_base, -v_ranked.kth_base_talent)
                  > (coalesce(v_short.cutoff_base, '-infinity'), -coalesce(v_short.cutoff_base_talent, 0));
        v_depth := v_depth * 4;
    end loop;
    return query
        select
            (e ->> 'talent_id')::bigint,
            (e ->> 'rank')::bigint,
            (e ->> 'base_rank')::bigint,
            (e ->> 'business_score')::double precision,
            (e ->> 'historical_score')::double precision,
            (e ->> 'base_score')::double precision,
            (e ->> 'two_tower_score')::double precision,
            (e ->> 'total_score')::double precision
        from jsonb_array_elements(v_ranked.top) as e
        order by (e ->> 'rank')::bigint;
end;
$fn$;

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

    v_variant := ses.ab_variant(p_project_id);
    v_weight := ses.two_tower_weight();
    v_version := {{ ses_function('embedder_version') }}(v_embedder, v_dimension);

    -- The ranking, then per displayed pair the baselines the evaluation compares
    -- the served model with (V041): the historical factor the ranking used and
    -- the seed's hash two-tower score (the served score itself when hash serves).
    -- Interleaving (R-35): rank twice, control (w = 0) then treatment, and show
    -- their team-draft merge, seeded by the run id (docs/interleaving.md).
    foreach v_serves_two_tower in array case when v_variant = 'interleaving' then array[false, true]
                                             else array[ses.variant_serves_two_tower(v_variant)] end loop
        v_control := v_candidates;
        with ranked as (
            select r.*
            from ses.rank_candidates(p_project_id, p_top_k, v_embedder, v_dimension, v_weight,
                                     v_serves_two_tower) as r
        ),

        hashed as (
            select
                array_agg(r.talent_id order by r.rank) as talent_ids,
                case
                    when count(*) = 0 then null
                    when v_embedder = 'hash' then array_agg(r.two_tower_score order by r.rank)
                    else {{ ses_function('two_tower_project_score_array') }}(
                        'hash', v_dimension, p_project_id,
                        array_agg(r.talent_id order by r.rank),
                        array_agg(extract(epoch from t.updated_at)::float8 order by r.rank))
                end as hash_scores
            from ranked as r
            inner join ses.talents as t on r.talent_id = t.id
        )

        select jsonb_agg(jsonb_build_object(
                   'talent_id', r.talent_id, 'rank', r.rank, 'business_score', r.business_score,
                   'two_tower_score', r.two_tower_score, 'total_score', r.total_score,
                   'historical_score', r.historical_score, 'hash_score', hs.hash_score) order by r.rank)
          into v_candidates
          from ranked as r
          cross join hashed as h
          left join unnest(h.talent_ids, h.hash_scores) as hs (talent_id, hash_score)
            on r.talent_id = hs.talent_id;
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
