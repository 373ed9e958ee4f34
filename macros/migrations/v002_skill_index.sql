{#- V002: normalised skill arrays for the knock-out rules, stored as generated
    columns so matching never re-normalises (ICU lower-casing of every skill of
    every talent per match run costs more than the whole rest of a run). The
    required-skill KO is `talent skills && project required skills`; the GIN
    index finds passing talents without scanning them all. -#}
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

alter table ses.talents
    add column if not exists skills_normalized text[]
    generated always as (ses.normalize_skills(possessed_skills_keywords)) stored;
alter table ses.projects
    add column if not exists required_skills_normalized text[]
    generated always as (ses.normalize_skills(required_skills_keywords)) stored;
alter table ses.projects
    add column if not exists preferred_skills_normalized text[]
    generated always as (ses.normalize_skills(preferred_skills_keywords)) stored;

create index if not exists talents_skills_normalized_gin on ses.talents using gin (skills_normalized);
{% endmacro %}
