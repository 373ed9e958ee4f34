-- What the retrain reads: every exposure (a displayed pair) with its R-11 label
-- (NULL = none yet), its outcome, the rank it was shown at, and the profile
-- versions of its talent and project at display time (point in time: the
-- version whose period holds created_at; an exposure older than the first
-- recorded version, e.g. logged before versions were kept, takes the first).
with exposures as (
    select
        il.interaction_id,
        il.talent_id,
        il.project_id,
        il.match_run_id,
        il.created_at,
        mr.shown_rank
    from {{ ref('stg_ses__interaction_logs') }} as il
    left join {{ ref('stg_ses__match_results') }} as mr on il.match_result_id = mr.match_result_id
)

select
    e.interaction_id,
    e.talent_id,
    e.project_id,
    e.match_run_id,
    e.created_at as shown_at,
    e.shown_rank,
    tl.label,
    tl.signal_source,
    coalesce(io.outcome = 'no_response', false) as is_no_response,
    coalesce(
        (
            select max(tv.valid_from)
            from {{ ref('stg_ses__talent_versions') }} as tv
            where tv.talent_id = e.talent_id and tv.valid_from <= e.created_at
        ),
        (
            select min(tv.valid_from)
            from {{ ref('stg_ses__talent_versions') }} as tv
            where tv.talent_id = e.talent_id
        )
    ) as talent_version,
    coalesce(
        (
            select max(pv.valid_from)
            from {{ ref('stg_ses__project_versions') }} as pv
            where pv.project_id = e.project_id and pv.valid_from <= e.created_at
        ),
        (
            select min(pv.valid_from)
            from {{ ref('stg_ses__project_versions') }} as pv
            where pv.project_id = e.project_id
        )
    ) as project_version
from exposures as e
left join {{ ref('training_labels') }} as tl on e.interaction_id = tl.interaction_id
left join {{ ref('interaction_outcomes') }} as io on e.interaction_id = io.interaction_id
