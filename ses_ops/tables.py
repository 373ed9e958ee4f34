"""Plain-text tables for command output (terminals, cron mail, logs alike)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime


def print_table(
    title: str, rows: list[dict], floats: int = 4, columns: Sequence[str] | None = None
) -> None:
    print(f"\n{title}")
    if not rows:
        print("  (none)")
        return
    cols = list(columns or rows[0])

    def fmt(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.{floats}f}"
        if isinstance(v, datetime):
            return v.strftime("%Y-%m-%d %H:%M")
        return "(none)" if v is None else str(v)

    cells = [[fmt(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    print("  " + "  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip())
    # numbers right-aligned, text left-aligned
    numeric = [
        all(isinstance(r.get(c), (int, float)) or r.get(c) is None for r in rows) for c in cols
    ]
    for row in cells:
        print(
            "  "
            + "  ".join(
                v.rjust(w) if num else v.ljust(w)
                for v, w, num in zip(row, widths, numeric, strict=True)
            ).rstrip()
        )
