{#- V002: normalised skill arrays for the knock-out rules. The required-skill
    KO is `talent skills && project required skills`; the GIN expression index
    lets the online match path find passing talents without scanning them all. -#}
{% macro migration_v002_skill_index() %}
create or replace function ses.normalize_skills(p_skills text[])
returns text[]
language sql
immutable
parallel safe
as $fn$
    select coalesce(array_agg(distinct {{ normalize_skill('s.skill') }} order by {{ normalize_skill('s.skill') }}), '{}')
    from unnest(p_skills) as s (skill)
    where s.skill is not null
$fn$;

create index if not exists talents_normalized_skills_gin
    on ses.talents using gin (ses.normalize_skills(possessed_skills_keywords));
{% endmacro %}
