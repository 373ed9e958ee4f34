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

{#- text[] of knock-out reasons for talent alias `t` and project alias `p`
    (staging columns plus the normalised skill arrays t.skills,
    p.required_skills, p.preferred_skills); empty array = the pair passes. -#}
{% macro business_ko_reasons(t, p) -%}
    {%- set cfg = business_rule_config() -%}
    array_remove(array[
        {%- if cfg.ko_price %}
        case when {{ t }}.desired_price_min > {{ p }}.monthly_tanka_max then 'price' end,
        {%- endif %}
        {%- if cfg.ko_required_skills %}
        case when cardinality({{ p }}.required_skills) > 0
              and not {{ t }}.skills && {{ p }}.required_skills then 'required_skills' end,
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

{#- Share of the wanted skills the talent has (1.0 when nothing is wanted).
    A correlated count over the few wanted skills: measured faster than
    joining unnested skill lists when one project meets many talents. -#}
{% macro skill_coverage(have, wanted) -%}
    coalesce(
        (select count(*) from unnest({{ wanted }}) as w (skill) where w.skill = any({{ have }}))::float8
        / nullif(cardinality({{ wanted }}), 0),
        1.0
    )
{%- endmacro %}

{#- business_score in [0, 1]: how well a passed pair fits on paper. -#}
{% macro business_score(t, p) -%}
    (
        0.50 * {{ skill_coverage(t ~ '.skills', p ~ '.required_skills') }}
        + 0.15 * {{ skill_coverage(t ~ '.skills', p ~ '.preferred_skills') }}
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

{#- Every (project, talent) pair with its knock-out reasons and business score. -#}
{% macro candidate_pairs(talents_sql, projects_sql) -%}
    select
        p.project_id,
        t.talent_id,
        t.updated_at as talent_updated_at,
        {{ business_ko_reasons('t', 'p') }} as ko_reasons,
        {{ business_score('t', 'p') }} as business_score
    from ({{ projects_sql }}) as p
    cross join ({{ talents_sql }}) as t
{%- endmacro %}

{#- R-33: the one ranking order: best total first, ties to the smaller talent id. -#}
{% macro candidate_rank_order() -%}
    total_score desc, talent_id asc
{%- endmacro %}
