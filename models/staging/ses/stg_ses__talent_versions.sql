select
    talent_id,
    valid_from,
    valid_to,
    possessed_skills_keywords,
    residential_todofuken,
    residential_area,
    nearest_station,
    desired_remote_onsite,
    min_experience_years,
    primary_contract_type,
    desired_price_min,
    japanese_skill,
    english_skill
from {{ source('ses', 'talent_versions') }}
