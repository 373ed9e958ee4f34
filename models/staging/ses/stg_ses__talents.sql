select
    id as talent_id,
    possessed_skills_keywords,
    residential_todofuken,
    residential_area,
    nearest_station,
    desired_remote_onsite,
    min_experience_years,
    primary_contract_type,
    desired_price_min,
    japanese_skill,
    english_skill,
    skills_normalized,
    updated_at
from {{ source('ses', 'talents') }}
