{#- Reference business rules (R-32): hard knock-outs and the business score.
    The one home of the rules. Each rule reads one talent feature (a column, or
    how many of the project's listed skills the talent has) and the project, so
    the same SQL expression is rendered two ways:
      * per pair (candidate_pairs: int_candidate_pairs, knocked_out_pairs, and
        the ranking's final check of every candidate it returns), and
      * over the distinct values of the feature (ses.business_rule_tables): the
        match run evaluates each rule once per distinct value and the
        vectorised shortlist (ses_udf.candidates) looks the results up per
        talent, which is what keeps ses.run_match fast against 1M talents.
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

{#- The talent features the rules read (rule_ready_talents columns, or
    `skills_of`: how many of the project's listed skills the talent has). -#}
{% macro talent_rule_features() %}
    {{ return([
        {'name': 'required_matched', 'skills_of': 'required_skills', 'type': 'integer'},
        {'name': 'preferred_matched', 'skills_of': 'preferred_skills', 'type': 'integer'},
        {'name': 'experience', 'column': 'min_experience_years', 'type': 'integer'},
        {'name': 'price', 'column': 'desired_price_min', 'type': 'integer'},
        {'name': 'home', 'column': 'residential_todofuken', 'type': 'text'},
        {'name': 'remote_wish', 'column': 'desired_remote_onsite', 'type': 'text'},
    ]) }}
{% endmacro %}

{#- Knock-outs in the order of ko_reasons: (reason, feature, condition). A
    condition that is NULL does not knock out. `x` is the feature, `p` the project. -#}
{% macro ko_price(x, p) -%}
    {{ x }} > {{ p }}.monthly_tanka_max
{%- endmacro %}

{% macro ko_required_skills(x, p) -%}
    cardinality({{ p }}.required_skills) > 0 and {{ x }} = 0
{%- endmacro %}

{% macro ko_onsite_location(x, p) -%}
    {{ p }}.remote_onsite = 'onsite' and {{ x }} is distinct from {{ p }}.work_todofuken
{%- endmacro %}

{% macro ko_remote_mismatch(x, p) -%}
    {{ p }}.remote_onsite = 'onsite' and {{ x }} = 'full_remote'
{%- endmacro %}

{% macro knock_out_rules() %}
    {%- set cfg = business_rule_config() -%}
    {%- set enabled = [] -%}
    {%- for rule in [
        {'reason': 'price', 'feature': 'price', 'condition': ko_price},
        {'reason': 'required_skills', 'feature': 'required_matched', 'condition': ko_required_skills},
        {'reason': 'onsite_location', 'feature': 'home', 'condition': ko_onsite_location},
        {'reason': 'remote_mismatch', 'feature': 'remote_wish', 'condition': ko_remote_mismatch},
    ] if cfg['ko_' ~ rule.reason] -%}
        {%- do enabled.append(rule) -%}
    {%- endfor -%}
    {{ return(enabled) }}
{% endmacro %}

{#- The business score in [0, 1]: the sum of these terms, in this order. -#}
{% macro score_required(x, p) -%}
    0.50 * coalesce({{ x }}::float8 / nullif(cardinality({{ p }}.required_skills), 0), 1.0)
{%- endmacro %}

{% macro score_preferred(x, p) -%}
    0.15 * coalesce({{ x }}::float8 / nullif(cardinality({{ p }}.preferred_skills), 0), 1.0)
{%- endmacro %}

{% macro score_experience(x, p) -%}
    0.15 * case
        when {{ p }}.min_experience_years is null or {{ p }}.min_experience_years <= 0 then 1.0
        else least(1.0, greatest(0.0, coalesce({{ x }}, 0)::float8 / {{ p }}.min_experience_years))
    end
{%- endmacro %}

{% macro score_price(x, p) -%}
    0.10 * case
        when {{ x }} is null or {{ p }}.monthly_tanka_max is null then 1.0
        when {{ x }} <= 0.9 * {{ p }}.monthly_tanka_max then 1.0
        else greatest(0.0, least(1.0, ({{ p }}.monthly_tanka_max - {{ x }})::float8 / (0.1 * {{ p }}.monthly_tanka_max)))
    end
{%- endmacro %}

{% macro score_location(x, p) -%}
    0.10 * case
        when {{ p }}.remote_onsite = 'full_remote' then 1.0
        when {{ x }} = {{ p }}.work_todofuken then 1.0
        else 0.5
    end
{%- endmacro %}

{% macro business_score_terms() %}
    {{ return([
        {'feature': 'required_matched', 'score': score_required},
        {'feature': 'preferred_matched', 'score': score_preferred},
        {'feature': 'experience', 'score': score_experience},
        {'feature': 'price', 'score': score_price},
        {'feature': 'home', 'score': score_location},
    ]) }}
{% endmacro %}

{#- A feature's value for the pair (talent alias t, project alias p). -#}
{% macro talent_feature(feature, t, p) -%}
    {%- set f = talent_rule_features() | selectattr('name', 'equalto', feature) | first -%}
    {%- if f.skills_of -%}
        (select count(*) from unnest({{ p }}.{{ f.skills_of }}) as w (skill) where w.skill = any({{ t }}.skills))
    {%- else -%}
        {{ t }}.{{ f.column }}
    {%- endif -%}
{%- endmacro %}

{#- text[] of knock-out reasons for talent alias `t` and project alias `p`
    (rule_ready_talents / rule_ready_projects columns); empty array = the pair passes. -#}
{% macro business_ko_reasons(t, p) -%}
    array_remove(array[
        {%- for rule in knock_out_rules() %}
        case when {{ rule.condition(talent_feature(rule.feature, t, p), p) }} then '{{ rule.reason }}' end,
        {%- endfor %}
        null::text
    ], null)
{%- endmacro %}

{#- business_score in [0, 1]: how well a passed pair fits on paper. -#}
{% macro business_score(t, p) -%}
    (
        {%- for term in business_score_terms() %}
        {{ '+ ' if not loop.first }}{{ term.score(talent_feature(term.feature, t, p), p) | indent(8) }}
        {%- endfor %}
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

{#- The order of the business-only ranking (the same candidates without the
    two-tower blend): best base score first, ties to the smaller talent id. -#}
{% macro candidate_base_rank_order() -%}
    base_score desc, talent_id asc
{%- endmacro %}

{#- An open project (V031): closed_at NULL or in the future. ranked_candidates
    ranks the open projects only; the bounded tests of int_candidate_pairs and
    knocked_out_pairs (YAML, where macros are not rendered) spell it out. -#}
{% macro is_open_project(alias) -%}
    ({{ alias }}.closed_at is null or {{ alias }}.closed_at > now())
{%- endmacro %}
