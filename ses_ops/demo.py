"""The main job (`make demo`): build the project on a database, feed it a small
sample through the in-database write path, rebuild and print the label stats.

The sample goes through the same functions the matching app calls
(ses.log_match_run, ses.record_feedback, ...), never around them.
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, datetime, timedelta

from psycopg.types.json import Jsonb

from ses_ops.db import connect, current_database
from ses_ops.dbt_runner import run_dbt

FEEDBACK_MIX = {
    "thumbs_up": 30, "thumbs_down": 25, "review_ok": 8, "review_ng": 6, "interview_scheduled": 6,
    "accepted": 3, "rejected": 4, "no_response": 18,
}  # fmt: skip
BEHAVIOR = ["viewed_candidate_detail", "copied_template", "clicked_contact", "shortlisted"]
STAGES = ["contacted", "entry", "interview_scheduled", "offer", "contract_signed", "lost"]


def feed_sample(projects: int, seed: int) -> None:
    rng = random.Random(seed)
    start = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    with connect() as conn:
        for p in range(1, projects + 1):
            at = start + timedelta(hours=9 * p)
            talents = rng.sample(range(1, 500), 20)
            candidates = [{"talent_id": t, "rank": r + 1} for r, t in enumerate(talents)]
            run_id = conn.execute(
                "select ses.log_match_run(%s, %s, 'demo', 'demo', p_created_at => %s)",
                (10_000 + p, Jsonb(candidates), at),
            ).fetchone()[0]
            ids = [r[0] for r in conn.execute(
                "select id from ses.interaction_logs where match_run_id = %s order by id", (run_id,))]  # fmt: skip
            for rank, interaction in enumerate(ids):
                if rng.random() < 0.6 / (1 + rank / 5):
                    kind = rng.choices(list(FEEDBACK_MIX), weights=list(FEEDBACK_MIX.values()))[0]
                    conn.execute(
                        "select ses.record_feedback(%s, %s, 'sales-demo', 'gui', null, %s)",
                        (interaction, kind, at + timedelta(hours=2)),
                    )
                if rng.random() < 0.3:
                    conn.execute(
                        "select ses.record_interaction_event(%s, %s, 'sales-demo', %s, null, 'gui', %s)",
                        (
                            interaction,
                            rng.choice(BEHAVIOR),
                            f"demo-{interaction}",
                            at + timedelta(hours=1),
                        ),
                    )
                if rng.random() < 0.05:
                    talent, project = conn.execute(
                        "select talent_id, project_id from ses.interaction_logs where id = %s",
                        (interaction,),
                    ).fetchone()
                    conn.execute(
                        "select ses.record_conversion(%s, %s, %s, 'sales-demo', %s, 'gui', null, %s)",
                        (talent, project, rng.choice(STAGES), interaction, at + timedelta(days=3)),
                    )


def print_stats() -> None:
    with connect() as conn:
        cur = conn.execute("select * from ses.training_stats")
        row = cur.fetchone()
        print("training_stats:")
        for col, value in zip((c.name for c in cur.description), row, strict=True):
            print(f"  {col:<16} {value}")
        print("outcome mix:")
        for outcome, n in conn.execute(
            "select coalesce(outcome, '(pending)'), count(*) from ses.interaction_outcomes group by 1 order by 2 desc"
        ):
            print(f"  {outcome:<20} {n}")
        print("training_labels by signal_source:")
        for source, n, avg in conn.execute(
            "select signal_source, count(*), round(avg(label), 3) from ses.training_labels group by 1 order by 1"
        ):
            print(f"  {source:<12} {n:>6}  mean label {avg}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    print(f"dbt build on database {current_database()} ...")
    run_dbt(["build"])
    with connect() as conn:
        conn.execute(
            "truncate ses.feedback_events, ses.interaction_events, ses.conversion_events, "
            "ses.interaction_logs, ses.match_results, ses.match_runs restart identity cascade"
        )
    feed_sample(args.projects, args.seed)
    print("nightly dbt build ...")
    run_dbt(["build"])
    print_stats()


if __name__ == "__main__":
    main()
