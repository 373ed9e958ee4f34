{#- Point-in-time profiles: every version of every talent and project (SCD2:
    valid_from = the row's updated_at, valid_to = the next version's start, NULL
    while current), kept by triggers on every insert and update, so training
    uses the tokens a pair had when it was shown (a skill added or a price
    raised afterwards must not leak into that exposure's features). Triggers
    rather than a nightly snapshot: a snapshot sees one state per build and
    loses the versions in between. -#}

{#- The profile columns a version keeps, per side (R-01 minus id / updated_at). -#}
{% macro profile_version_columns() %}
    {{ return({
        'talent': ['possessed_skills_keywords', 'residential_todofuken', 'residential_area',
                   'nearest_station', 'desired_remote_onsite', 'min_experience_years',
                   'primary_contract_type', 'desired_price_min', 'japanese_skill', 'english_skill'],
        'project': ['required_skills_keywords', 'preferred_skills_keywords', 'work_todofuken',
                    'work_area', 'work_station', 'remote_onsite', 'min_experience_years',
                    'contract_type', 'monthly_tanka_max', 'japanese_skill', 'english_skill'],
    }) }}
{% endmacro %}

{%- macro _profile_column_type(column) -%}
    {{ 'text[]' if column.endswith('_keywords')
       else ('integer' if column in ('min_experience_years', 'desired_price_min', 'monthly_tanka_max')
       else 'text') }}
{%- endmacro %}

{#- V040: the version tables; existing rows become their first version. -#}
{% macro migration_v040_profile_versions() %}
{%- for side, columns in profile_version_columns().items() %}
create table if not exists ses.{{ side }}_versions (
    {{ side }}_id bigint not null,
    valid_from timestamptz not null,
    valid_to timestamptz,
    {%- for c in columns %}
    {{ c }} {{ _profile_column_type(c) }},
    {%- endfor %}
    primary key ({{ side }}_id, valid_from),
    constraint {{ side }}_versions_period check (valid_to is null or valid_to > valid_from)
);
create unique index if not exists {{ side }}_versions_one_current
    on ses.{{ side }}_versions ({{ side }}_id) where valid_to is null;

insert into ses.{{ side }}_versions ({{ side }}_id, valid_from, valid_to{% for c in columns %}, {{ c }}{% endfor %})
select id, updated_at, null{% for c in columns %}, {{ c }}{% endfor %}
from ses.{{ side }}s
on conflict do nothing;
{%- endfor %}
{% endmacro %}

{#- The version-keeping triggers (repeatable: a fix re-applies). An update that
    changes no profile column (only updated_at, say) makes no version; an edit
    stamped at or before the current version's start corrects that version. -#}
{% macro migration_r_profile_versions() %}
{%- for side, columns in profile_version_columns().items() %}
create or replace function ses.record_{{ side }}_version()
returns trigger
language plpgsql
as $fn$
declare
    v_from timestamptz := new.updated_at;
    v_open timestamptz;
begin
    if tg_op = 'UPDATE'
       and ({% for c in columns %}new.{{ c }}{{ ', ' if not loop.last }}{% endfor %})
           is not distinct from
           ({% for c in columns %}old.{{ c }}{{ ', ' if not loop.last }}{% endfor %}) then
        return null;
    end if;
    select valid_from into v_open
      from ses.{{ side }}_versions
     where {{ side }}_id = new.id and valid_to is null
       for update;
    v_from := greatest(v_from, coalesce(v_open, v_from));
    if v_open is not null and v_open < v_from then
        update ses.{{ side }}_versions set valid_to = v_from
         where {{ side }}_id = new.id and valid_to is null;
    end if;
    insert into ses.{{ side }}_versions ({{ side }}_id, valid_from, valid_to{% for c in columns %}, {{ c }}{% endfor %})
    values (new.id, v_from, null{% for c in columns %}, new.{{ c }}{% endfor %})
    on conflict ({{ side }}_id, valid_from) do update
        set valid_to = null{% for c in columns %}, {{ c }} = excluded.{{ c }}{% endfor %};
    return null;
end;
$fn$;

drop trigger if exists {{ side }}s_record_version on ses.{{ side }}s;
create trigger {{ side }}s_record_version
    after insert or update on ses.{{ side }}s
    for each row execute function ses.record_{{ side }}_version();
{%- endfor %}
{% endmacro %}
