-- noqa: disable=AM06
-- (grouping sets take names, not positions: every group by here names its columns)
-- R-35 team-draft interleaving (docs/interleaving.md): which ranker the sales
-- staff's feedback prefers when both fill one shown list. Credit of a team in a
-- match run = the sum of the R-11 graded labels of the pairs it picked (an
-- unlabelled pair counts 0); the run is a win for treatment, a loss or a tie.
-- preference = wins / (wins + losses) (0.5 = no preference); its 95% interval is
-- Wilson with the effective number of decided runs when runs are clustered by
-- project (macros/clustered_interval.sql). Rows: overall, per week (JST, Monday),
-- per treatment model version, per project, and per model version and week
-- cumulated to date.

with shown as (
    select
        mr.match_run_id,
        mr.project_id,
        mr.team,
        mr.treatment_version,
        coalesce(tl.label, 0) as label
    from {{ ref('stg_ses__match_results') }} as mr
    left join {{ ref('stg_ses__interaction_logs') }} as il on mr.match_result_id = il.match_result_id
    left join {{ ref('training_labels') }} as tl on il.interaction_id = tl.interaction_id
    where mr.team is not null
),

runs as (
    select
        s.match_run_id,
        s.project_id,
        min(s.treatment_version) as treatment_version,
        date_trunc('week', min(r.created_at) at time zone 'Asia/Tokyo')::date as week,  -- noqa: RF04
        sum(s.label) filter (where s.team = 'control') as control_credit,
        sum(s.label) filter (where s.team = 'treatment') as treatment_credit
    from shown as s
    inner join {{ ref('stg_ses__match_runs') }} as r on s.match_run_id = r.match_run_id
    group by s.match_run_id, s.project_id
),

run_outcomes as (
    select
        *,
        row_number() over (order by match_run_id) as run_no,
        (coalesce(treatment_credit, 0) > coalesce(control_credit, 0))::integer as win,
        (coalesce(treatment_credit, 0) < coalesce(control_credit, 0))::integer as loss
    from runs
),

-- one row per (slice, cluster): projects are the clusters, except in a project's
-- own slice, where its runs are the units
version_weeks as (
    select distinct
        week,
        treatment_version
    from run_outcomes
),

sliced as (
    select
        case
            when grouping(week) = 0 then 'week'
            when grouping(treatment_version) = 0 then 'model_version'
            when grouping(run_no) = 0 then 'project'
            else 'overall'
        end as slice,
        week,
        treatment_version,
        case when grouping(run_no) = 0 then project_id end as project_id,
        case when grouping(run_no) = 0 then run_no else project_id end as cluster_id,
        count(*) as match_runs,
        sum(win) as wins,
        sum(loss) as losses,
        sum(win + loss) as decided,
        sum(coalesce(control_credit, 0)) as control_credit,
        sum(coalesce(treatment_credit, 0)) as treatment_credit
    from run_outcomes
    group by
        grouping sets (
            (project_id), (week, project_id), (treatment_version, project_id), (project_id, run_no)
        )
    union all
    -- per treatment version, each week with every run of that version up to its
    -- end: when did the preference for that model become clear
    select
        'week_to_date' as slice,
        w.week,
        o.treatment_version,
        null::bigint as project_id,
        o.project_id as cluster_id,
        count(*) as match_runs,
        sum(o.win) as wins,
        sum(o.loss) as losses,
        sum(o.win + o.loss) as decided,
        sum(coalesce(o.control_credit, 0)) as control_credit,
        sum(coalesce(o.treatment_credit, 0)) as treatment_credit
    from version_weeks as w
    inner join run_outcomes as o on w.treatment_version = o.treatment_version and w.week >= o.week
    group by w.week, o.treatment_version, o.project_id
),

slices as (
    select
        slice,
        week,
        treatment_version,
        project_id,
        sum(match_runs)::bigint as match_runs,
        count(distinct coalesce(project_id, cluster_id)) as projects,
        sum(wins)::bigint as wins,
        sum(losses)::bigint as losses,
        (sum(match_runs) - sum(decided))::bigint as ties,  -- noqa: RF04
        sum(decided)::bigint as decided,
        sum(control_credit)::float8 as control_credit,
        sum(treatment_credit)::float8 as treatment_credit,
        {{ cluster_ratio('wins', 'decided') }} as preference,
        {{ cluster_ratio_variance('wins', 'decided') }} as preference_variance
    from sliced
    group by slice, week, treatment_version, project_id
),

intervals as (
    select
        *,
        {{ effective_sample_size('preference', 'preference_variance', 'decided') }} as effective_decided_runs
    from slices
),

bounds as (
    select
        *,
        {{ wilson_bound('preference * effective_decided_runs', 'effective_decided_runs', 'lower') }} as preference_lower,
        {{ wilson_bound('preference * effective_decided_runs', 'effective_decided_runs', 'upper') }} as preference_upper
    from intervals
)

select
    slice || ':' || coalesce(nullif(concat_ws('/', treatment_version, week, project_id), ''), 'all') as slice_key,
    slice,
    week,
    treatment_version,
    project_id,
    match_runs,
    projects,
    wins,
    losses,
    ties,
    control_credit,
    treatment_credit,
    preference,
    preference_lower,
    preference_upper,
    effective_decided_runs,
    case
        when preference_lower > 0.5 then 'treatment'
        when preference_upper < 0.5 then 'control'
        else 'undecided'
    end as verdict
from bounds
