-- R-34: the cold-start weight as of this build, from training_stats.labeled_count.
-- ses.two_tower_weight() serves it to match runs until the next nightly build.
{{ config(materialized='table') }}

select
    labeled_count,
    ses.cold_start_weight(labeled_count) as cold_start_weight,
    now() as computed_at
from {{ ref('training_stats') }}
