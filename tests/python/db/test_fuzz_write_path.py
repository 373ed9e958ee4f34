"""Property-based inputs for every write-path function and ses.run_match
(hypothesis): huge and empty strings, NUL bytes, control and RTL characters, SQL
meta-characters, deep and huge JSON, NaN / +-inf / negative scores, out-of-range
ids and timestamps, duplicate and replayed keys, NULL in every position.

Each call either succeeds with the documented effect (the rows it says it wrote,
with the values it was given) or fails with a documented SQLSTATE whose message
names the bad value and writes nothing; the row counts of every write-path table
move exactly by what the successful calls wrote, and the stored outcomes never
drift from the rule.

Values PostgreSQL or the driver refuse before the function runs (a NUL byte in
text, \\u0000 in jsonb, an integer beyond bigint) are counted as refused at the
boundary: they too must write nothing.

`make test` tries SES_FUZZ_EXAMPLES (default 100) inputs per function with a
fixed seed; `make fuzz` many more with a random one. The counts per function
are printed at the end of the pytest run.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

from ses_ops.db import connect
from tests.python.db.conftest import ensure_entities

pytestmark = pytest.mark.db

EXAMPLES = int(os.environ.get("SES_FUZZ_EXAMPLES", "100"))
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=os.environ.get("SES_FUZZ_RANDOM", "") != "1",
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
# inputs tried per function and how each ended (printed by conftest's summary hook)
TRIED: Counter = Counter()
OUTCOMES: Counter = Counter()

DOCUMENTED = {"22001", "22003", "22004", "22008", "22023", "23503", "23505", "55000"}
# PostgreSQL's own input functions, before ours run (the message names the value)
BOUNDARY = {"22P02", "22P05", "22003", "22007", "22008", "22021", "54001", "54000"}

PROJECTS = [960001, 960002, 960003]
TALENTS = list(range(961001, 961009))
FEEDBACK_TYPES = ["accepted", "rejected", "interview_scheduled", "review_ok", "review_ng",
                  "thumbs_up", "thumbs_down", "no_response"]  # fmt: skip
EVENT_TYPES = ["shortlisted", "clicked_contact", "copied_template", "viewed_candidate_detail"]
STAGES = ["contract_signed", "offer", "interview_scheduled", "entry", "contacted", "lost"]

STATE_SQL = """
select (select count(*) from ses.match_runs), (select count(*) from ses.match_results),
       (select count(*) from ses.interaction_logs), (select count(*) from ses.feedback_events),
       (select count(*) from ses.feedback_events where is_revoked),
       (select count(*) from ses.interaction_events), (select count(*) from ses.conversion_events)
"""
STATE_KEYS = ("runs", "results", "logs", "feedback", "revoked", "events", "conversions")

# ------------------------------------------------------------------ strategies
# Pairs of good and bad values per kind of input (Mix picks between them).

HOSTILE_TEXT = [
    "", " ", "\t", "\n", "\u3000", "\u00a0", "\u200b", "'; drop table ses.talents; --", "%s", "$1",
    "$$", "\\", "'", '"', "--", "/*", "a\u202eb", "\u2066x\u2069", "ab\u0007c", "\u0085",
    "x" * 5000, "ñ" * 201, "🙂" * 60, "NULL", "null", "𝒜",
]  # fmt: skip
bad_text = st.one_of(
    st.none(),
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=40),
    st.text(min_size=190, max_size=400),
    st.text(min_size=1, max_size=5).map(lambda s: s + "\x00"),  # NUL: refused by the driver
)
good_names = st.one_of(
    st.sampled_from(["sales@example.jp", "佐藤 花子", "crm-sync", "a", "O'Brien; --"]),
    st.text(alphabet=st.characters(categories=["L", "N", "P", "S"]), min_size=1, max_size=60),
)
good_keys = st.one_of(st.sampled_from([f"key-{i}" for i in range(6)]), good_names)  # replays
bad_ids = st.one_of(
    st.none(), st.integers(-(2**63), 2**63 - 1), st.sampled_from([0, -1, 2**63 - 1, -(2**63)])
)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**30), 10**30),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20),
)  # fmt: skip
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)


def deep(n: int) -> dict:
    value: object = "bottom"
    for _ in range(n):
        value = {"d": value}
    return value  # type: ignore[return-value]


good_metas = st.one_of(
    st.none(),
    st.dictionaries(st.text(max_size=10), json_values, max_size=5),
    st.integers(1, 900).map(deep),  # deep (Python's json cannot read back much deeper)
    st.integers(60_000, 65_000).map(lambda n: {"big": "y" * n}),
)
bad_metas = st.one_of(
    json_values.filter(lambda v: not isinstance(v, dict)),
    st.integers(66_000, 90_000).map(lambda n: {"big": "y" * n}),
    st.just({"nul": "a\x00b"}),  # \u0000 in jsonb: refused by PostgreSQL
)
good_times = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC)
    ),
)
bad_times = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
).filter(lambda t: not 2000 <= t.year < 2100)
good_time_strings = good_times.map(lambda t: None if t is None else t.isoformat())
bad_time_strings = st.one_of(
    st.sampled_from(["infinity", "-infinity", "0001-01-01 BC", "10889-01-01", "now", "epoch",
                     "2026-13-45", "yesterday-ish", "2026-02-30", "1999-12-31T23:59:59Z"]),
    bad_times.map(lambda t: t.isoformat()), json_scalars.filter(lambda v: not isinstance(v, str)),
)  # fmt: skip
good_scores = st.one_of(st.none(), st.floats(0, 1), st.sampled_from([0.0, 1.0, 1e-300]))
bad_scores = st.one_of(
    st.floats().filter(lambda f: not 0 <= f <= 1), st.sampled_from([-1e-9, 1.0000001, 2.0, 1e-320]),
    st.text(max_size=5), st.booleans(),
)  # fmt: skip


class Mix:
    """Per example: all values good ("clean"), exactly one bad ("one") or any mix
    ("many"), so valid calls are common and a bad value sits in every position."""

    def __init__(self, data, mode: str | None = None) -> None:
        self.data = data
        self.mode = mode or data.draw(st.sampled_from(["clean", "one", "one", "many"]))
        self.target = data.draw(st.integers(0, 7))
        self.position = 0

    def __call__(self, good, bad):
        position, self.position = self.position, self.position + 1
        if self.mode == "clean" or (self.mode == "one" and position != self.target):
            return self.data.draw(good)
        if self.mode == "one":
            return self.data.draw(bad)
        return self.data.draw(st.one_of(good, bad))


# ------------------------------------------------------------------ the probe


class Probe:
    """Calls a write-path function and checks the documented effect or error."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        iids = conn.execute(
            "select id from ses.interaction_logs where project_id = any(%s) order by id",
            (PROJECTS,),
        ).fetchall()
        self.interactions = [r[0] for r in iids]

    def state(self) -> dict[str, int]:
        return dict(zip(STATE_KEYS, self.conn.execute(STATE_SQL).fetchone(), strict=True))

    def call(self, function: str, sql: str, params, effect) -> None:
        """effect(result, before) -> the expected state after a success."""
        TRIED[function] += 1
        before = self.state()
        try:
            result = self.conn.execute(sql, params).fetchone()[0]
        except psycopg.DataError as exc:
            after = self.state()
            inside = "PL/pgSQL function" in (exc.diag.context or "")
            if exc.sqlstate is None or (exc.sqlstate in BOUNDARY and not inside):
                OUTCOMES[(function, "refused at the boundary")] += 1
            elif exc.sqlstate in DOCUMENTED:
                self._refused(function, exc)
            else:
                raise AssertionError(f"{function}: undocumented {exc.sqlstate}: {exc}") from exc
            assert after == before, (function, "a refused call wrote", before, after)
            return
        except psycopg.Error as exc:
            after = self.state()
            assert exc.sqlstate in DOCUMENTED, f"{function}: undocumented {exc.sqlstate}: {exc}"
            self._refused(function, exc)
            assert after == before, (function, "a refused call wrote", before, after)
            return
        after = self.state()
        OUTCOMES[(function, "written")] += 1
        assert after == effect(result, before), (function, params, result, before, after)

    @staticmethod
    def _refused(function: str, exc: psycopg.Error) -> None:
        message = exc.diag.message_primary or ""
        # the message names the field and, for a bad value, the value itself
        assert message and any(
            word in message
            for word in (
                "interaction_id",
                "feedback_type",
                "actor",
                "source",
                "meta",
                "created_at",
                "feedback_id",
                "feedback event",
                "revoked_by",
                "revoked_at",
                "event_type",
                "idempotency_key",
                "talent_id",
                "project_id",
                "stage",
                "candidates",
                "rank",
                "score",
                "match_run_id",
                "engine_version",
                "config",
                "variant",
                "top_k",
                "two_tower",
                "events",
                "revocations",
                "unknown key",
                "conversion pair",
            )
        ), f"{function}: message names no field: {message}"
        OUTCOMES[(function, f"refused {exc.sqlstate}")] += 1


def plus(before: dict, **delta: int) -> dict:
    return {k: v + delta.get(k, 0) for k, v in before.items()}


@pytest.fixture(scope="module")
def probe():
    with connect() as conn:
        conn.execute(
            "insert into ses.projects (id, required_skills_keywords) select unnest(%s::bigint[]), '{java}' "
            "on conflict (id) do update set required_skills_keywords = excluded.required_skills_keywords",
            (PROJECTS,),
        )
        ensure_entities(conn, PROJECTS, TALENTS)
        conn.execute(
            "update ses.talents set possessed_skills_keywords = '{java}' where id = any(%s)",
            (TALENTS,),
        )
        for p in PROJECTS:
            conn.execute("select ses.run_match(%s, 4)", (p,))
        yield Probe(conn)
        drifted = conn.execute(
            "select count(*) from ses.interaction_outcomes where is_drifted"
        ).fetchone()[0]
        assert drifted == 0


def known_interactions(p: Probe):
    return st.sampled_from(p.interactions)


def known_feedback(p: Probe):
    rows = p.conn.execute("select id from ses.feedback_events order by id desc limit 30").fetchall()
    return st.sampled_from([r[0] for r in rows]) if rows else st.just(-1)


def jsonb(value):
    return None if value is None else Jsonb(value)


# ------------------------------------------------------------------ single rows


@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzz_record_feedback(probe: Probe, data) -> None:
    mix = Mix(data)
    args = (
        mix(known_interactions(probe), bad_ids),
        mix(st.sampled_from(FEEDBACK_TYPES), bad_text),
        mix(good_names, bad_text),
        mix(st.one_of(st.just("gui"), good_names), bad_text),
        mix(good_metas, bad_metas),
        mix(good_times, bad_times),
    )

    def effect(fid, before):
        # jsonb equality: JSON numbers compare by value, as stored
        row = probe.conn.execute(
            "select interaction_id, feedback_type, actor, source, meta is not distinct from %s::jsonb "
            "from ses.feedback_events where id = %s",
            (jsonb(args[4]), fid),
        ).fetchone()
        assert row == (*args[:4], True), (row, args)
        return plus(before, feedback=1)

    probe.call(
        "record_feedback",
        "select ses.record_feedback(%s::bigint, %s::text, %s::text, %s::text, %s::jsonb, %s::timestamptz)",
        (*args[:4], jsonb(args[4]), args[5]),
        effect,
    )


@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzz_revoke_feedback(probe: Probe, data) -> None:
    mix = Mix(data)
    args = (
        mix(known_feedback(probe), bad_ids),
        mix(good_names, bad_text),
        mix(good_times, bad_times),
    )

    def effect(result, before):
        assert result["feedback_id"] == args[0]
        revoked = probe.conn.execute(
            "select is_revoked, revoked_by from ses.feedback_events where id = %s", (args[0],)
        ).fetchone()
        assert revoked == (True, args[1])
        return plus(before, revoked=1)

    probe.call(
        "revoke_feedback",
        "select ses.revoke_feedback(%s::bigint, %s::text, %s::timestamptz)",
        args,
        effect,
    )


@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzz_record_interaction_event(probe: Probe, data) -> None:
    mix = Mix(data)
    args = (
        mix(known_interactions(probe), bad_ids),
        mix(st.sampled_from(EVENT_TYPES), bad_text),
        mix(good_names, bad_text),
        mix(good_keys, bad_text),
        mix(good_metas, bad_metas),
        mix(st.one_of(st.just("gui"), good_names), bad_text),
        mix(good_times, bad_times),
    )
    stored = probe.conn.execute(
        "select 1 from ses.interaction_events where idempotency_key = %s", (args[3],)
    ).fetchone() if args[3] is not None and "\x00" not in args[3] else None  # fmt: skip

    def effect(result, before):
        assert result["status"] in ("created", "already_exists")
        if stored:  # a replayed key is never written twice
            assert result == {"id": None, "status": "already_exists"}
        return plus(before, events=1 if result["status"] == "created" else 0)

    probe.call(
        "record_interaction_event",
        "select ses.record_interaction_event(%s::bigint, %s::text, %s::text, %s::text, %s::jsonb, %s::text, %s::timestamptz)",
        (*args[:4], jsonb(args[4]), *args[5:]),
        effect,
    )


@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzz_record_conversion(probe: Probe, data) -> None:
    mix = Mix(data)
    iid = mix(st.one_of(st.none(), known_interactions(probe)), bad_ids)
    pair = probe.conn.execute(
        "select talent_id, project_id from ses.interaction_logs where id = %s", (iid,)
    ).fetchone()
    args = (
        mix(st.just(pair[0]) if pair else st.sampled_from(TALENTS), bad_ids),
        mix(st.just(pair[1]) if pair else st.sampled_from(PROJECTS), bad_ids),
        mix(st.sampled_from(STAGES), bad_text),
        mix(good_names, bad_text),
        iid,
        mix(st.sampled_from(["gui", "crm", "import"]), bad_text),
        mix(good_metas, bad_metas),
        mix(good_times, bad_times),
    )
    probe.call(
        "record_conversion",
        "select ses.record_conversion(%s::bigint, %s::bigint, %s::text, %s::text, %s::bigint, %s::text, %s::jsonb, %s::timestamptz)",
        (*args[:6], jsonb(args[6]), args[7]),
        lambda result, before: plus(before, conversions=1),
    )


# ------------------------------------------------------------------ batches

bad_json_ids = st.one_of(
    bad_ids, st.floats(), st.text(max_size=5), st.integers(2**63, 2**70), st.booleans()
)
bad_json_text = st.one_of(bad_text.filter(lambda t: t is None or "\x00" not in t), json_scalars)


def rows_of(data, columns: dict, max_rows: int = 12) -> object:
    """JSON rows for a batch: mostly objects whose columns are good or bad (Mix per
    row), some keys missing or unknown; sometimes not an array of objects at all."""
    shape = data.draw(st.integers(0, 24))
    if shape == 0:
        return None  # SQL NULL
    if shape == 1:
        return data.draw(json_values)  # JSON, not an array of rows
    clean = data.draw(st.integers(0, 2)) == 0  # a third of the batches are all good
    rows = []
    for _ in range(data.draw(st.integers(0, max_rows))):
        if not clean and data.draw(st.integers(0, 40)) == 0:
            rows.append(data.draw(json_scalars))  # not an object
            continue
        mix = Mix(data, "clean" if clean else None)
        row = {}
        for name, (good, bad) in columns.items():
            value = mix(good, bad)
            if mix.mode == "clean" or data.draw(st.integers(0, 9)) > 0:
                row[name] = value
        if not clean and data.draw(st.integers(0, 30)) == 0:
            row[data.draw(st.text(min_size=1, max_size=8))] = 1
        rows.append(row)
    return rows


def batch_call(probe: Probe, function: str, rows, effect) -> None:
    probe.call(function, f"select ses.{function}(%s::jsonb)", (jsonb(rows),), effect)


@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzz_record_feedback_batch(probe: Probe, data) -> None:
    rows = rows_of(data, {
        "interaction_id": (known_interactions(probe), bad_json_ids),
        "feedback_type": (st.sampled_from(FEEDBACK_TYPES), bad_json_text),
        "actor": (good_names, bad_json_text),
        "source": (good_names, bad_json_text),
        "meta": (good_metas, bad_metas),
        "created_at": (good_time_strings, bad_time_strings),
    })  # fmt: skip
    batch_call(
        probe, "record_feedback_batch", rows, lambda ids_, before: plus(before, feedback=len(ids_))
    )


@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzz_revoke_feedback_batch(probe: Probe, data) -> None:
    rows = rows_of(data, {
        "feedback_id": (known_feedback(probe), bad_json_ids),
        "revoked_by": (good_names, bad_json_text),
        "revoked_at": (good_time_strings, bad_time_strings),
    }, max_rows=5)  # fmt: skip
    batch_call(probe, "revoke_feedback_batch", rows, lambda n, before: plus(before, revoked=n))


@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzz_record_interaction_events_batch(probe: Probe, data) -> None:
    rows = rows_of(data, {
        "interaction_id": (known_interactions(probe), bad_json_ids),
        "event_type": (st.sampled_from(EVENT_TYPES), bad_json_text),
        "actor": (good_names, bad_json_text),
        "idempotency_key": (good_keys, bad_json_text),
        "meta": (good_metas, bad_metas),
        "source": (good_names, bad_json_text),
        "created_at": (good_time_strings, bad_time_strings),
    })  # fmt: skip

    def effect(statuses, before):
        assert len(statuses) == len(rows)
        return plus(before, events=sum(s["status"] == "created" for s in statuses))

    batch_call(probe, "record_interaction_events_batch", rows, effect)


@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzz_record_conversions_batch(probe: Probe, data) -> None:
    rows = rows_of(data, {
        "talent_id": (st.sampled_from(TALENTS), bad_json_ids),
        "project_id": (st.sampled_from(PROJECTS), bad_json_ids),
        "stage": (st.sampled_from(STAGES), bad_json_text),
        "actor": (good_names, bad_json_text),
        "interaction_id": (st.none(), bad_json_ids),
        "source": (st.sampled_from(["gui", "crm", "import"]), bad_json_text),
        "meta": (good_metas, bad_metas),
        "created_at": (good_time_strings, bad_time_strings),
    })  # fmt: skip
    batch_call(
        probe,
        "record_conversions_batch",
        rows,
        lambda ids_, before: plus(before, conversions=len(ids_)),
    )


# ------------------------------------------------------------------ match runs

RUN_IDS = [f"01FUZZRUN{i:017d}" for i in range(4)]
good_run_ids = st.one_of(st.none(), st.sampled_from(RUN_IDS))  # replays on purpose


def run_logged(probe: Probe, run_id) -> bool:
    if not isinstance(run_id, str) or "\x00" in run_id:
        return False
    return (
        probe.conn.execute(
            "select 1 from ses.match_runs where match_run_id = %s", (run_id,)
        ).fetchone()
        is not None
    )


@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzz_log_match_run(probe: Probe, data) -> None:
    mix = Mix(data)
    if mix.mode == "clean":  # a valid run: distinct talents, ranks 1..n
        chosen = data.draw(st.lists(st.sampled_from(TALENTS), unique=True, max_size=5))
        candidates = [
            {"talent_id": t, "rank": r + 1, "total_score": data.draw(good_scores),
             "two_tower_score": data.draw(good_scores)}
            for r, t in enumerate(chosen)
        ]  # fmt: skip
    else:
        candidates = rows_of(data, {
            "talent_id": (st.sampled_from(TALENTS), bad_json_ids),
            "rank": (st.integers(1, 4), st.one_of(st.integers(-2, 9), st.floats(), st.none())),
            "business_score": (good_scores, bad_scores),
            "two_tower_score": (good_scores, bad_scores),
            "total_score": (good_scores, bad_scores),
        }, max_rows=6)  # fmt: skip
    args = (
        mix(st.sampled_from(PROJECTS), bad_ids),
        jsonb(candidates),
        mix(st.one_of(st.none(), st.just("engine-1")), bad_text),
        mix(st.one_of(st.none(), st.just("hash")), bad_text),
        mix(
            st.one_of(st.none(), st.sampled_from([0.0, 0.2])),
            st.floats().filter(lambda f: not 0 <= f < 1e300),
        ),
        mix(st.one_of(st.none(), st.sampled_from(["control", "shadow"])), bad_text),
        jsonb(mix(st.just({}), bad_metas)),
        mix(good_run_ids, bad_text),
        mix(good_times, bad_times),
    )
    existed = run_logged(probe, args[7])

    def effect(result, before):
        if existed:  # a replay with the same payload: the run, nothing written
            assert result == args[7]
            return before
        n = len(candidates)
        assert (
            probe.conn.execute(
                "select count(*) from ses.match_results where match_run_id = %s", (result,)
            ).fetchone()[0]
            == n
        )
        return plus(before, runs=1, results=n, logs=n)

    probe.call(
        "log_match_run",
        "select ses.log_match_run(%s::bigint, %s::jsonb, p_engine_version => %s::text, "
        "p_two_tower_embedder => %s::text, p_two_tower_weight => %s::float8, p_variant => %s::text, "
        "p_config => %s::jsonb, p_match_run_id => %s::text, p_created_at => %s::timestamptz)",
        args,
        effect,
    )


@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzz_run_match(probe: Probe, data) -> None:
    mix = Mix(data)
    args = (
        mix(st.sampled_from(PROJECTS), bad_ids),
        mix(
            st.integers(1, 6),
            st.one_of(st.none(), st.integers(-(2**31), 0), st.integers(1001, 2**31 - 1)),
        ),
        mix(good_run_ids, bad_text),
        mix(good_times, bad_times),
    )
    existed = run_logged(probe, args[2])

    def effect(result, before):
        if existed:  # a replay with the same top_k: the run, nothing written
            assert result == args[2]
            return before
        k = probe.conn.execute(
            "select top_k from ses.match_runs where match_run_id = %s", (result,)
        ).fetchone()[0]
        assert k <= args[1]
        return plus(before, runs=1, results=k, logs=k)

    probe.call(
        "run_match",
        "select ses.run_match(%s::bigint, %s::integer, %s::text, %s::timestamptz)",
        args,
        effect,
    )


def test_fuzz_tried_every_function() -> None:
    """Runs after the fuzz tests of this module: each function got its inputs and
    both outcomes occurred (a suite that only ever refuses proves little)."""
    functions = [
        "record_feedback", "revoke_feedback", "record_interaction_event", "record_conversion",
        "record_feedback_batch", "revoke_feedback_batch", "record_interaction_events_batch",
        "record_conversions_batch", "log_match_run", "run_match",
    ]  # fmt: skip
    for f in functions:
        assert TRIED[f] >= EXAMPLES, (f, TRIED[f])
        assert OUTCOMES[(f, "written")] > 0, (f, dict(OUTCOMES))
        assert sum(n for (g, o), n in OUTCOMES.items() if g == f and o.startswith("refused")) > 0, f


def fuzz_summary() -> list[str]:
    if not TRIED:
        return []
    lines = [f"write-path fuzz: inputs tried per function ({EXAMPLES} examples each requested)"]
    for f in sorted(TRIED):
        detail = ", ".join(f"{o} {n}" for (g, o), n in sorted(OUTCOMES.items()) if g == f)
        lines.append(f"  {f:34s} {TRIED[f]:6d}   ({detail})")
    lines.append(f"  {'total':34s} {sum(TRIED.values()):6d}")
    return lines
