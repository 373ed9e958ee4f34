"""An independent oracle of the label rules, written from SPEC R-03/R-10..R-12.

Deliberately restates the spec's tables instead of reading the seeds, so a wrong
seed or a wrong macro is caught by comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

FEEDBACK_PRIORITY = {
    "accepted": 1,
    "rejected": 2,
    "interview_scheduled": 3,
    "review_ok": 4,
    "review_ng": 4,
    "thumbs_up": 5,
    "thumbs_down": 5,
    "no_response": 6,
}
FEEDBACK_LABEL = {
    "accepted": 1.0,
    "rejected": 0.0,
    "thumbs_up": 1.0,
    "thumbs_down": 0.0,
    "review_ok": 1.0,
    "review_ng": 0.0,
    "interview_scheduled": 0.8,
}
CV_RANK = {
    "contract_signed": 1,
    "offer": 2,
    "interview_scheduled": 3,
    "entry": 4,
    "contacted": 5,
    "lost": 6,
}
CV_LABEL = {
    "contract_signed": 1.0,
    "offer": 0.9,
    "interview_scheduled": 0.8,
    "entry": 0.7,
    "contacted": 0.4,
    "lost": 0.0,
}
BEHAVIOR_RANK = {
    "shortlisted": 1,
    "clicked_contact": 2,
    "copied_template": 3,
    "viewed_candidate_detail": 4,
}
BEHAVIOR_LABEL = {
    "shortlisted": 0.3,
    "clicked_contact": 0.3,
    "copied_template": 0.2,
    "viewed_candidate_detail": 0.1,
}


@dataclass(frozen=True)
class Event:
    id: int
    interaction_id: int | None
    kind: str
    created_at: datetime
    is_revoked: bool = False


def best(events: list[Event], rank: dict[str, int]) -> Event | None:
    """Best rank first, then latest created_at, then highest id."""
    candidates = [e for e in events if not e.is_revoked]
    if not candidates:
        return None
    return min(candidates, key=lambda e: (rank[e.kind], -e.created_at.timestamp(), -e.id))


def group(events: list[Event]) -> dict[int, list[Event]]:
    grouped: dict[int, list[Event]] = {}
    for e in events:
        if e.interaction_id is not None:
            grouped.setdefault(e.interaction_id, []).append(e)
    return grouped


def outcomes(interaction_ids: list[int], feedback: list[Event]) -> dict[int, Event | None]:
    by_interaction = group(feedback)
    return {i: best(by_interaction.get(i, []), FEEDBACK_PRIORITY) for i in interaction_ids}


def training_labels(
    interaction_ids: list[int],
    feedback: list[Event],
    behavior: list[Event],
    conversions: list[Event],
) -> dict[int, tuple[str, float]]:
    """interaction_id -> (signal_source, label) for interactions with a label."""
    fb = outcomes(interaction_ids, feedback)
    cv_by, bh_by = group(conversions), group(behavior)
    result = {}
    for i in interaction_ids:
        cv = best(cv_by.get(i, []), CV_RANK)
        bh = best(bh_by.get(i, []), BEHAVIOR_RANK)
        fb_label = FEEDBACK_LABEL.get(fb[i].kind) if fb[i] else None
        if cv is not None:
            result[i] = ("conversion", CV_LABEL[cv.kind])
        elif fb_label is not None:
            result[i] = ("feedback", fb_label)
        elif bh is not None:
            result[i] = ("behavior", BEHAVIOR_LABEL[bh.kind])
    return result


def reaction_outcome(events) -> str | None:
    """The rule applied to one simulated reaction (simulator.staff.SimEvent list):
    non-revoked feedback with the best priority, ties to the latest offset."""
    revoked = {e.feedback_no for e in events if e.kind == "revoke"}
    live = [e for e in events if e.kind == "feedback" and e.feedback_no not in revoked]
    if not live:
        return None
    return min(live, key=lambda e: (FEEDBACK_PRIORITY[e.type], -e.offset_s)).type
