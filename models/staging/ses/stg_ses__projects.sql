select
    id as project_id,
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
    english_skill,
    required_skills_normalized,
    preferred_skills_normalized,
    updated_at,
    closed_at
from {{ source('ses', 'projects') }}
