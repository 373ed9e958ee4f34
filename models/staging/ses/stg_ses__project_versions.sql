select
    project_id,
    valid_from,
    valid_to,
    required_skills_keywords,
    preferred_skills_keywords,
    work_todofuken,
    work_area,
    work_station,
    remote_onsite,
    min_experience_years,
    contract_type,
    monthly_tanka_max,
    japanese_skill,
    english_skill
from {{ source('ses', 'project_versions') }}
