{#- Reference business rules (R-32): hard knock-outs and the business score.
    The one home of the rules: the batch model int_candidate_pairs and the
    online match function (ses.run_match) both render these macros.
    Knobs are dbt vars (dbt_project.yml `vars:`), recorded with every match run. -#}

{#- Unicode lower-casing shared by the tokenizer and the skill rules. -#}
{% macro normalize_skill(expression) -%}
    lower({{ expression }} collate "und-x-icu")
{%- endmacro %}

{% macro business_rule_config() %}
    {{ return({
        'ko_price': var('ko_price', true),
        'ko_required_skills': var('ko_required_skills', true),
        'ko_onsite_location': var('ko_onsite_location', true),
        'ko_remote_mismatch': var('ko_remote_mismatch', true),
    }) }}
{% endmacro %}

{#- text[] of knock-out reasons for talent alias `t`, project alias `p` and
    skill-hit alias `h` (required_hits / preferred_hits, NULL = none); empty
    array = the pair passes. -#}
{% macro business_ko_reasons(t, p, h) -%}
    {%- set cfg = business_rule_config() -%}
    array_remove(array[
        {%- if cfg.ko_price %}
        case when {{ t }}.desired_price_min > {{ p }}.monthly_tanka_max then 'price' end,
        {%- endif %}
        {%- if cfg.ko_required_skills %}
        case when cardinality({{ p }}.required_skills) > 0
              and coalesce({{ h }}.required_hits, 0) = 0 then 'required_skills' end,
        {%- endif %}
        {%- if cfg.ko_onsite_location %}
        case when {{ p }}.remote_onsite = 'onsite'
              and {{ t }}.residential_todofuken is distinct from {{ p }}.work_todofuken then 'onsite_location' end,
        {%- endif %}
        {%- if cfg.ko_remote_mismatch %}
        case when {{ p }}.remote_onsite = 'onsite' and {{ t }}.desired_remote_onsite = 'full_remote'
            then 'remote_mismatch' end,
        {%- endif %}
        null::text
    ], null)
{%- endmacro %}

{#- Share of the wanted skills the talent has (1.0 when nothing is wanted). -#}
{% macro skill_coverage(hits, wanted) -%}
    coalesce(coalesce({{ hits }}, 0)::float8 / nullif(cardinality({{ wanted }}), 0), 1.0)
{%- endmacro %}

{#- business_score in [0, 1]: how well a passed pair fits on paper. -#}
{% macro business_score(t, p, h) -%}
    (
        0.50 * {{ skill_coverage(h ~ '.required_hits', p ~ '.required_skills') }}
        + 0.15 * {{ skill_coverage(h ~ '.preferred_hits', p ~ '.preferred_skills') }}
        + 0.15 * case
            when {{ p }}.min_experience_years is null or {{ p }}.min_experience_years <= 0 then 1.0
            else least(1.0, greatest(0.0, coalesce({{ t }}.min_experience_years, 0)::float8 / {{ p }}.min_experience_years))
        end
        + 0.10 * case
            when {{ t }}.desired_price_min is null or {{ p }}.monthly_tanka_max is null then 1.0
            when {{ t }}.desired_price_min <= 0.9 * {{ p }}.monthly_tanka_max then 1.0
            else greatest(0.0, least(1.0, ({{ p }}.monthly_tanka_max - {{ t }}.desired_price_min)::float8
                                        / (0.1 * {{ p }}.monthly_tanka_max)))
        end
        + 0.10 * case
            when {{ p }}.remote_onsite = 'full_remote' then 1.0
            when {{ t }}.residential_todofuken = {{ p }}.work_todofuken then 1.0
            else 0.5
        end
    )
{%- endmacro %}

{#- Talents / projects shaped for the rules: staging column names plus the
    normalised skill arrays (generated columns of ses.talents / ses.projects).
    `from_sql` is a relation or a subquery. -#}
{% macro rule_ready_talents(from_sql, id_column='talent_id') -%}
    select
        {{ id_column }} as talent_id,
        desired_price_min,
        residential_todofuken,
        desired_remote_onsite,
        min_experience_years,
        updated_at,
        skills_normalized as skills
    from {{ from_sql }}
{%- endmacro %}

{% macro rule_ready_projects(from_sql, id_column='project_id') -%}
    select
        {{ id_column }} as project_id,
        monthly_tanka_max,
        remote_onsite,
        work_todofuken,
        min_experience_years,
        required_skills_normalized as required_skills,
        preferred_skills_normalized as preferred_skills
    from {{ from_sql }}
{%- endmacro %}

{#- Every (project, talent) pair with its knock-out reasons and business score.
    Skill overlaps are counted by joining unnested skill lists on the skill
    (set-based: only matching (pair, skill) rows are ever produced). -#}
{% macro candidate_pairs(talents_sql, projects_sql) -%}
    with rule_talents as (
        {{ talents_sql }}
    ),

    rule_projects as (
        {{ projects_sql }}
    ),

    talent_skills as (
        select
            t.talent_id,
            s.skill
        from rule_talents as t
        cross join lateral unnest(t.skills) as s (skill)
    ),

    wanted_skills as (
        select
            p.project_id,
            s.skill,
            true as is_required
        from rule_projects as p
        cross join lateral unnest(p.required_skills) as s (skill)
        union all
        select
            p.project_id,
            s.skill,
            false as is_required
        from rule_projects as p
        cross join lateral unnest(p.preferred_skills) as s (skill)
    ),

    skill_hits as (
        select
            w.project_id,
            ts.talent_id,
            count(*) filter (where w.is_required) as required_hits,
            count(*) filter (where not w.is_required) as preferred_hits
        from wanted_skills as w
        inner join talent_skills as ts on w.skill = ts.skill
        group by 1, 2
    )

    select
        p.project_id,
        t.talent_id,
        t.updated_at as talent_updated_at,
        {{ business_ko_reasons('t', 'p', 'h') }} as ko_reasons,
        {{ business_score('t', 'p', 'h') }} as business_score
    from rule_projects as p
    cross join rule_talents as t
    left join skill_hits as h on p.project_id = h.project_id and t.talent_id = h.talent_id
{%- endmacro %}
