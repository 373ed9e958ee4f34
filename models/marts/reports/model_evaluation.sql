-- R-41 for BI: how well each two-tower embedder / model version ranked what it
-- scored in production, per A/B variant, from the logged two_tower_score and the
-- R-11 labels. Same definitions as the training pipeline's held-out evaluation:
-- one row per (talent, project) (best label, mean logged score); AUC by rank sum
-- over the labelled pairs (positive: label >= threshold, ties count half);
-- Recall@k and MRR per project over all of its exposed candidates (a candidate
-- without a label is not positive; ties ranked pessimistically), averaged over
-- the projects with at least one positive.
{%- set threshold = var('evaluation_positive_threshold', 0.5) %}
{%- set k = var('evaluation_k', 10) %}

with exposures as (
    select
        il.two_tower_embedder,
        il.two_tower_version,
        coalesce(il.variant, 'unassigned') as variant,
        il.project_id,
        il.talent_id,
        il.two_tower_score,
        il.created_at,
        tl.label
    from {{ ref('stg_ses__interaction_logs') }} as il
    left join {{ ref('training_labels') }} as tl on il.interaction_id = tl.interaction_id
    where il.two_tower_score is not null and il.two_tower_embedder is not null
),

pairs as (
    select
        two_tower_embedder,
        two_tower_version,
        variant,
        project_id,
        talent_id,
        avg(two_tower_score) as score,
        max(label) as label,
        count(*) as exposures,
        min(created_at) as first_exposure_at,
        max(created_at) as last_exposure_at
    from exposures
    group by 1, 2, 3, 4, 5
),

scored as (
    select
        *,
        coalesce(label >= {{ threshold }}, false) as is_positive,
        label is not null as is_labelled
    from pairs
),

-- AUC: average ranks (ties share the mean rank) among the labelled pairs.
labelled_ranks as (
    select
        two_tower_embedder,
        two_tower_version,
        variant,
        is_positive,
        rank() over (partition by two_tower_embedder, two_tower_version, variant order by score)
        + (count(*) over (partition by two_tower_embedder, two_tower_version, variant, score) - 1) / 2.0
            as avg_rank
    from scored
    where is_labelled
),

auc as (
    select
        two_tower_embedder,
        two_tower_version,
        variant,
        count(*) as labelled_pairs,
        count(*) filter (where is_positive) as positive_pairs,
        case
            when count(*) filter (where is_positive) > 0 and count(*) filter (where not is_positive) > 0
                then (
                    sum(avg_rank) filter (where is_positive)
                    - count(*) filter (where is_positive) * (count(*) filter (where is_positive) + 1) / 2.0
                )
                / (count(*) filter (where is_positive)::float8 * count(*) filter (where not is_positive))
        end as auc
    from labelled_ranks
    group by 1, 2, 3
),

project_ranks as (
    select
        two_tower_embedder,
        two_tower_version,
        variant,
        project_id,
        is_positive,
        row_number() over (
            partition by two_tower_embedder, two_tower_version, variant, project_id
            order by score desc, is_positive asc, talent_id asc
        ) as list_position
    from scored
),

per_project as (
    select
        two_tower_embedder,
        two_tower_version,
        variant,
        project_id,
        count(*) filter (where is_positive) as positives,
        count(*) filter (where is_positive and list_position <= {{ k }}) as hits,
        min(list_position) filter (where is_positive) as first_positive
    from project_ranks
    group by 1, 2, 3, 4
),

ranking as (
    select
        two_tower_embedder,
        two_tower_version,
        variant,
        count(*) as projects,
        count(*) filter (where positives > 0) as projects_evaluated,
        avg(hits::float8 / positives) filter (where positives > 0) as recall_at_{{ k }},
        avg(1.0 / first_positive) filter (where positives > 0) as mrr
    from per_project
    group by 1, 2, 3
),

volume as (
    select
        two_tower_embedder,
        two_tower_version,
        variant,
        sum(exposures) as exposures,
        count(*) as exposed_pairs,
        min(first_exposure_at) as first_exposure_at,
        max(last_exposure_at) as last_exposure_at
    from scored
    group by 1, 2, 3
)

select
    v.two_tower_embedder,
    v.two_tower_version,
    v.variant,
    v.exposures,
    v.exposed_pairs,
    coalesce(a.labelled_pairs, 0) as labelled_pairs,
    coalesce(a.positive_pairs, 0) as positive_pairs,
    r.projects,
    r.projects_evaluated,
    a.auc,
    r.recall_at_{{ k }},
    r.mrr::float8 as mrr,
    v.first_exposure_at,
    v.last_exposure_at
from volume as v
inner join ranking as r
    on
        v.two_tower_embedder = r.two_tower_embedder
        and v.two_tower_version = r.two_tower_version
        and v.variant = r.variant
left join auc as a
    on
        v.two_tower_embedder = a.two_tower_embedder
        and v.two_tower_version = a.two_tower_version
        and v.variant = a.variant
