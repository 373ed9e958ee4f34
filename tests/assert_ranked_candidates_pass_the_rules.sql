-- R-32 / R-33 on the batch mart: every ranked pair passes the business rules
-- (read per pair from int_candidate_pairs) with the same business score, and
-- the ranks follow the total, ties to the smaller talent id. Cost follows the
-- ranked rows, not talents x projects.
with checked as (
    select
        r.project_id,
        r.talent_id,
        r.rank,
        c.ko_reasons,
        r.business_score,
        c.business_score as rule_business_score,
        lag(r.total_score) over (partition by r.project_id order by r.rank) as previous_total,
        lag(r.talent_id) over (partition by r.project_id order by r.rank) as previous_talent
    from {{ ref('ranked_candidates') }} as r
    left join {{ ref('int_candidate_pairs') }} as c
        on r.project_id = c.project_id and r.talent_id = c.talent_id
),

ranked_totals as (
    select
        ch.*,
        r.total_score
    from checked as ch
    inner join {{ ref('ranked_candidates') }} as r
        on ch.project_id = r.project_id and ch.talent_id = r.talent_id
)

select *
from ranked_totals
where
    ko_reasons is null
    or cardinality(ko_reasons) > 0
    or business_score is distinct from rule_business_score
    or previous_total < total_score
    or (previous_total = total_score and previous_talent > talent_id)
