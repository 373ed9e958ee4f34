-- R-41 for BI: how well each two-tower embedder / model version ranked what it
-- scored in production, per A/B variant, from the logged two_tower_score and the
-- R-11 labels. Same definitions as the training pipeline's held-out evaluation:
-- one row per (talent, project) (best label, mean logged score); AUC by rank sum
-- over the labelled pairs (positive: label >= threshold, ties count half);
-- Recall@k and MRR per project over all of its exposed candidates (a candidate
-- without a label is not positive; ties ranked pessimistically), averaged over
-- the projects with at least one positive.
-- Next to it, on the same logged pairs (those whose match run logged both
-- baselines, ses.run_match since V041): the AUC of the served score, of the
-- seed's hash two-tower score and of the historical (popularity) factor, so BI
-- sees whether the served model beats the baselines a practitioner tries first.
-- A table, built by the weekly selection (after a retrain, when the served model
-- changes) and by complete builds: it reads every exposed pair of the history,
-- and as a view each of its data tests evaluated it again (most of a weekly
-- build). The nightly selection leaves it as of the last weekly build.
{{ config(materialized='table') }}
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
        mr.hash_score,
        mr.historical_score,
        il.created_at,
        tl.label
    from {{ ref('stg_ses__interaction_logs') }} as il
    left join {{ ref('stg_ses__match_results') }} as mr on il.match_result_id = mr.match_result_id
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
        avg(hash_score) as hash_score,
        avg(historical_score) as historical_score,
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

-- One row per (labelled pair, metric): the served score over every labelled
-- pair, and on the pairs whose match runs logged both baselines (V041) the
-- served score, the hash tower's score and the historical factor.
evaluated as (
    select
        s.two_tower_embedder,
        s.two_tower_version,
        s.variant,
        s.is_positive,
        m.metric,
        m.metric_score
    from scored as s
    cross join
        lateral (
            values
            ('served', s.score),
            ('compared_served', case when s.hash_score is not null and s.historical_score is not null then s.score end),
            ('compared_hash', case when s.historical_score is not null then s.hash_score end),
            ('compared_historical', case when s.hash_score is not null then s.historical_score end)
        ) as m (metric, metric_score)
    where s.is_labelled and m.metric_score is not null
),

-- AUC by rank sum: average ranks (ties share the mean rank, so a tied
-- (positive, negative) pair counts half).
metric_ranks as (
    select
        two_tower_embedder,
        two_tower_version,
        variant,
        metric,
        is_positive,
        rank() over (partition by two_tower_embedder, two_tower_version, variant, metric order by metric_score)
        + (count(*) over (partition by two_tower_embedder, two_tower_version, variant, metric, metric_score) - 1) / 2.0
            as avg_rank
    from evaluated
),

metric_auc as (
    select
        two_tower_embedder,
        two_tower_version,
        variant,
        metric,
        count(*) as pairs,
        count(*) filter (where is_positive) as positive_pairs,
        case
            when count(*) filter (where is_positive) > 0 and count(*) filter (where not is_positive) > 0
                then (
                    sum(avg_rank) filter (where is_positive)
                    - count(*) filter (where is_positive) * (count(*) filter (where is_positive) + 1) / 2.0
                )
                / (count(*) filter (where is_positive)::float8 * count(*) filter (where not is_positive))
        end as auc
    from metric_ranks
    group by 1, 2, 3, 4
),

auc as (
    select
        two_tower_embedder,
        two_tower_version,
        variant,
        max(pairs) filter (where metric = 'served') as labelled_pairs,
        max(positive_pairs) filter (where metric = 'served') as positive_pairs,
        max(auc) filter (where metric = 'served') as auc,
        max(pairs) filter (where metric = 'compared_served') as compared_pairs,
        max(auc) filter (where metric = 'compared_served') as compared_auc,
        max(auc) filter (where metric = 'compared_hash') as hash_auc,
        max(auc) filter (where metric = 'compared_historical') as historical_auc
    from metric_auc
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
    coalesce(a.compared_pairs, 0) as compared_pairs,
    a.compared_auc,
    a.hash_auc,
    a.historical_auc,
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
