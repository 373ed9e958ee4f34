"""Behavioural model of the simulated sales staff (and of the clients behind them).

Pure functions: given one displayed candidate — its 1-based `rank` in the list, its
hidden `chemistry` (z-scale, see chemistry.py) and the displayed `business_score`
(0..1) — return the action probabilities, or sample the sequence of actions with
time offsets (seconds after the match run displayed the candidate) from the numpy
Generator you pass in.  Nothing here touches the database; the loop turns each
SimEvent into a write-path call at `match run time + offset_s`.

Shape of the model (docs/simulator.md has the numbers):

* attention: the staff member opens the candidate's detail with a probability that
  falls with rank (position bias) and rises a little with the displayed business
  score and with chemistry (the list snippet shows some of it);
* judgement: the staff member's *appeal* = chemistry + w x standardised business
  score + a per-actor leniency; explicit feedback (thumbs mostly, reviews sometimes)
  is more likely for clear-cut candidates and positive with probability
  sigmoid(gain x appeal + bias); copy / shortlist / contact follow the appeal;
* outcome: after contact the client side decides on chemistry alone
  (contacted -> entry -> interview_scheduled -> offer -> contract_signed, or lost),
  mirrored now and then as interview_scheduled / accepted / rejected / no_response
  feedback; some stages arrive from the CRM or an import, a share without
  interaction_id;
* noise: mind changes (opposite thumb later), revocations, network retries that
  re-send the same idempotency key.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

DAY = 86_400.0
HOUR = 3_600.0
MINUTE = 60.0

EventKind = Literal["behavior", "feedback", "revoke", "conversion"]

BEHAVIOR_TYPES = ("viewed_candidate_detail", "copied_template", "clicked_contact", "shortlisted")
FEEDBACK_TYPES = (
    "thumbs_up",
    "thumbs_down",
    "review_ok",
    "review_ng",
    "interview_scheduled",
    "accepted",
    "rejected",
    "no_response",
)
STAGES = ("contacted", "entry", "interview_scheduled", "offer", "contract_signed", "lost")


@dataclass(frozen=True)
class StaffParams:
    """Behaviour parameters (logits unless stated; defaults documented in docs/simulator.md)."""

    # displayed business score -> standardised z = (score - center) / scale
    business_center: float = 0.6
    business_scale: float = 0.15
    business_weight: float = 0.3  # weight of z in the staff's appeal
    actor_bias_sd: float = 0.25  # leniency of each actor (hash of the actor name)
    # attention (opening the detail)
    view_logit: float = -0.8  # rank 1, average candidate: ~31 %
    position_decay: float = 0.9  # logit falls by decay x ln(rank)
    view_business: float = 0.3
    view_chemistry: float = 0.3
    list_feedback_rate: float = 0.02  # thumbs straight from the list, x rank^-0.5
    # explicit feedback after viewing
    feedback_logit: float = -1.3
    feedback_strength: float = 0.5  # x |appeal|: clear-cut candidates get judged
    review_share: float = 0.2  # review_ok/ng instead of thumbs
    judge_gain: float = 2.5
    judge_bias: float = -0.2
    flip_rate: float = 0.04  # opposite thumb later (same priority, latest wins)
    revoke_rate: float = 0.03  # an earlier feedback is revoked
    # intent actions after viewing
    intent_gain: float = 2.5  # staff act on the candidates they like (v1: 1.0)
    copy_logit: float = -2.6
    shortlist_logit: float = -2.8
    contact_logit: float = -3.4
    copy_contact_boost: float = 1.0  # contact logit + boost when the template was copied
    extra_view_rate: float = 0.3  # Poisson mean of repeated detail views
    extra_copy_rate: float = 0.2
    retry_rate: float = 0.02  # a behaviour event is re-sent with the same key
    shortlist_retry_rate: float = 0.08
    # client funnel after contact (chemistry only)
    client_gain: float = 3.0  # (v1: 2.0)
    entry_logit: float = -2.0
    interview_logit: float = -2.5
    offer_logit: float = -3.5  # (v1: -2.0) keeps offers and contracts
    contract_logit: float = -4.5  # (v1: -1.0) as rare as in v1
    # how the funnel is recorded
    log_contacted: float = 0.6  # 'contacted' stage entered in the GUI
    log_lost: float = 0.7  # a failed funnel is recorded as 'lost'
    fb_no_response: float = 0.35  # no entry -> no_response feedback
    fb_interview: float = 0.6  # interview -> interview_scheduled feedback
    fb_accepted: float = 0.75  # contract -> accepted feedback
    fb_rejected: float = 0.4  # lost after entry -> rejected feedback
    conversion_sources: tuple[float, float, float] = (0.78, 0.17, 0.05)  # gui, crm, import
    unlinked_share: float = 0.4  # of crm/import stages: no interaction_id


DEFAULT_STAFF = StaffParams()
# The first calibration: intent barely tied to the staff's judgement, so most
# labelled candidates are views without a verdict; with HARD_CHEMISTRY the "hard" world.
HARD_STAFF = StaffParams(intent_gain=1.0, client_gain=2.0, offer_logit=-2.0, contract_logit=-1.0)


@dataclass(frozen=True)
class SimEvent:
    """One action, `offset_s` seconds after the candidate was displayed.

    kind 'behavior': `type` is the event_type; `idempotency_key` is set and is the
      same on a retry (`is_retry`), which the write path must answer with
      status "already_exists".
    kind 'feedback': `type` is the feedback_type; `feedback_no` numbers the
      reaction's feedback events 0, 1, ...
    kind 'revoke': revoke the feedback numbered `feedback_no` (`type` repeats its type).
    kind 'conversion': `type` is the stage; `source` gui/crm/import; `linked` False
      means the stage is imported without interaction_id (talent_id/project_id only).
    """

    offset_s: float
    kind: EventKind
    type: str
    actor: str
    source: str = "gui"
    idempotency_key: str | None = None
    is_retry: bool = False
    feedback_no: int | None = None
    linked: bool = True
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reaction:
    events: tuple[SimEvent, ...]
    viewed: bool
    probabilities: dict[str, float]

    def of_kind(self, kind: EventKind) -> list[SimEvent]:
        return [e for e in self.events if e.kind == kind]

    @property
    def feedback_types(self) -> list[str]:
        return [e.type for e in self.events if e.kind == "feedback"]

    @property
    def stages(self) -> list[str]:
        return [e.type for e in self.events if e.kind == "conversion"]


def _sigmoid(x: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def actor_bias(actor: str, params: StaffParams = DEFAULT_STAFF) -> float:
    """Per-actor leniency: N(0, actor_bias_sd) from a stable hash of the actor name."""
    h = hashlib.blake2b(actor.encode("utf-8"), digest_size=16).digest()
    u1 = ((int.from_bytes(h[:8], "little") >> 11) + 1) * 2.0**-53  # (0, 1]
    u2 = (int.from_bytes(h[8:], "little") >> 11) * 2.0**-53
    return params.actor_bias_sd * math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def action_probabilities(
    rank: Any,
    chemistry: Any,
    business_score: Any,
    params: StaffParams = DEFAULT_STAFF,
    *,
    actor: str | None = None,
) -> dict[str, Any]:
    """Conditional probabilities of the model (numpy-broadcastable over the inputs).

    view: P(detail opened); list_feedback: P(thumb from the list | not viewed);
    feedback: P(explicit feedback | viewed); positive: P(up/ok | feedback);
    copy / shortlist / contact: P(action | viewed) (contact without the copy boost);
    entry / interview / offer / contract: P(next stage | previous stage reached).
    """
    p = params
    r = np.maximum(np.asarray(rank, dtype=float), 1.0)
    c = np.asarray(chemistry, dtype=float)
    z = (np.asarray(business_score, dtype=float) - p.business_center) / p.business_scale
    bias = actor_bias(actor, p) if actor is not None else 0.0
    appeal = c + p.business_weight * z + bias
    out = {
        "view": _sigmoid(
            p.view_logit - p.position_decay * np.log(r) + p.view_business * z + p.view_chemistry * c
        ),
        "list_feedback": p.list_feedback_rate * r**-0.5,
        "feedback": _sigmoid(p.feedback_logit + p.feedback_strength * np.abs(appeal)),
        "positive": _sigmoid(p.judge_gain * appeal + p.judge_bias),
        "copy": _sigmoid(p.copy_logit + p.intent_gain * appeal),
        "shortlist": _sigmoid(p.shortlist_logit + p.intent_gain * appeal),
        "contact": _sigmoid(p.contact_logit + p.intent_gain * appeal),
        "entry": _sigmoid(p.entry_logit + p.client_gain * c),
        "interview": _sigmoid(p.interview_logit + p.client_gain * c),
        "offer": _sigmoid(p.offer_logit + p.client_gain * c),
        "contract": _sigmoid(p.contract_logit + 0.5 * p.client_gain * c),
    }
    if all(np.ndim(v) == 0 for v in out.values()):
        return {k: float(v) for k, v in out.items()}
    return out


def new_idempotency_key(rng: np.random.Generator) -> str:
    """A UUID4-formatted key drawn from `rng` (deterministic for a seeded rng)."""
    return str(uuid.UUID(bytes=rng.bytes(16), version=4))


def sample_reaction(
    rank: int,
    chemistry: float,
    business_score: float,
    rng: np.random.Generator,
    *,
    actor: str = "sales-01",
    params: StaffParams = DEFAULT_STAFF,
) -> Reaction:
    """Sample what happens to one displayed candidate (events sorted by offset_s)."""
    p = params
    pr = action_probabilities(rank, chemistry, business_score, p, actor=actor)
    events: list[SimEvent] = []
    n_feedback = 0

    def behavior(event_type: str, t: float, **meta: Any) -> None:
        key = new_idempotency_key(rng)
        events.append(SimEvent(t, "behavior", event_type, actor, idempotency_key=key, meta=meta))
        retry = p.shortlist_retry_rate if event_type == "shortlisted" else p.retry_rate
        if rng.random() < retry:
            events.append(
                SimEvent(
                    t + rng.uniform(0.5, 30.0),
                    "behavior",
                    event_type,
                    actor,
                    idempotency_key=key,
                    is_retry=True,
                    meta=meta,
                )
            )

    def feedback(feedback_type: str, t: float) -> None:
        nonlocal n_feedback
        events.append(SimEvent(t, "feedback", feedback_type, actor, feedback_no=n_feedback))
        n_feedback += 1

    def conversion(stage: str, t: float, gui: bool = False) -> None:
        if gui:
            source = "gui"
        else:
            source = ("gui", "crm", "import")[int(rng.choice(3, p=p.conversion_sources))]
        linked = source == "gui" or rng.random() >= p.unlinked_share
        actor_name = actor if source == "gui" else f"{source}-sync"
        events.append(SimEvent(t, "conversion", stage, actor_name, source=source, linked=linked))

    def thumbs(t: float, review: bool) -> None:
        positive = rng.random() < pr["positive"]
        kind = ("review_ok", "review_ng") if review else ("thumbs_up", "thumbs_down")
        feedback(kind[0] if positive else kind[1], t)
        if rng.random() < p.flip_rate:  # mind change: the opposite judgement, later
            feedback(kind[1] if positive else kind[0], t + rng.uniform(10 * MINUTE, 3 * DAY))

    viewed = rng.random() < pr["view"]
    if not viewed:
        if rng.random() < pr["list_feedback"]:
            thumbs(_lognormal(rng, 20 * MINUTE, 1.0, cap=8 * HOUR), review=False)
    else:
        t_view = _lognormal(rng, 30 * MINUTE, 1.0, cap=8 * HOUR)
        behavior("viewed_candidate_detail", t_view)
        for _ in range(int(rng.poisson(p.extra_view_rate))):
            behavior("viewed_candidate_detail", t_view + rng.uniform(MINUTE, 2 * DAY))

        if rng.random() < pr["feedback"]:
            thumbs(
                t_view + _lognormal(rng, 3 * MINUTE, 1.0, cap=2 * HOUR),
                rng.random() < p.review_share,
            )

        copied = rng.random() < pr["copy"]
        if copied:
            t_copy = t_view + rng.uniform(30.0, 10 * MINUTE)
            behavior("copied_template", t_copy)
            for _ in range(int(rng.poisson(p.extra_copy_rate))):
                behavior("copied_template", t_copy + rng.uniform(MINUTE, DAY))
        if rng.random() < pr["shortlist"]:
            behavior("shortlisted", t_view + rng.uniform(10.0, 5 * MINUTE))

        contact_p = pr["contact"]
        if copied:
            contact_p = float(_sigmoid(np.log(contact_p / (1 - contact_p)) + p.copy_contact_boost))
        if rng.random() < contact_p:
            t = t_view + rng.uniform(MINUTE, 30 * MINUTE)
            behavior("clicked_contact", t, method="gmail_compose")
            _funnel(rng, p, pr, t, conversion, feedback)

    if n_feedback and rng.random() < p.revoke_rate:
        fbs = [e for e in events if e.kind == "feedback"]
        target = fbs[int(rng.integers(len(fbs)))]
        events.append(
            SimEvent(
                target.offset_s + rng.uniform(MINUTE, 2 * DAY),
                "revoke",
                target.type,
                actor,
                feedback_no=target.feedback_no,
            )
        )

    events.sort(key=lambda e: e.offset_s)
    return Reaction(tuple(events), viewed, pr)


def _funnel(rng, p: StaffParams, pr: dict[str, float], t: float, conversion, feedback) -> None:
    """contacted -> entry -> interview_scheduled -> offer -> contract_signed, or lost."""
    if rng.random() < p.log_contacted:
        conversion("contacted", t + rng.uniform(MINUTE, HOUR), gui=True)
    if rng.random() >= pr["entry"]:
        if rng.random() < p.fb_no_response:
            feedback("no_response", t + rng.uniform(2 * DAY, 7 * DAY))
        return
    t += rng.uniform(0.5 * DAY, 3 * DAY)
    conversion("entry", t)
    for stage, key, fb_p, fb_type, lo, hi in (
        ("interview_scheduled", "interview", p.fb_interview, "interview_scheduled", 2, 10),
        ("offer", "offer", 0.0, "", 1, 7),
        ("contract_signed", "contract", p.fb_accepted, "accepted", 1, 10),
    ):
        t += rng.uniform(lo * DAY, hi * DAY)
        if rng.random() >= pr[key]:
            if rng.random() < p.log_lost:
                conversion("lost", t)
            if rng.random() < p.fb_rejected:
                feedback("rejected", t + rng.uniform(HOUR, DAY))
            return
        conversion(stage, t)
        if fb_p and rng.random() < fb_p:
            feedback(fb_type, t + rng.uniform(MINUTE, DAY))


def _lognormal(rng: np.random.Generator, median: float, sigma: float, cap: float) -> float:
    return float(min(median * np.exp(sigma * rng.standard_normal()), cap))
