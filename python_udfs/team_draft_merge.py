"""ses.team_draft_merge: the team-draft merge of ses_udf.interleaving (R-35)."""

from ses_udf.interleaving import team_draft


def team_draft_merge(control_ids, treatment_ids, match_run_id, top_k):
    picks = team_draft(control_ids or [], treatment_ids or [], match_run_id, top_k)
    return [(p.talent_id, p.rank, p.team) for p in picks]
