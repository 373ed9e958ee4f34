"""PostgreSQL COPY text format: writing rows, and parsing them back (for tests).

Two escaping layers apply to an array column such as `{Java,"Spring Boot"}`:

1. the array literal: an element is double-quoted when it is empty, spells NULL
   (any case), or contains `{ } , " \\` or white space; inside quotes `\\` and `"`
   are backslash-escaped;
2. COPY text: `\\` becomes `\\\\`, and TAB / LF / CR become `\\t` / `\\n` / `\\r`;
   SQL NULL is `\\N`.

So the element `a\\b` is the literal `{"a\\\\b"}` and the COPY field `{"a\\\\\\\\b"}`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import IO, Any

NULL = "\\N"

_COPY_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_COPY_UNESCAPES = {
    "\\": "\\",
    "t": "\t",
    "n": "\n",
    "r": "\r",
    "b": "\b",
    "f": "\f",
    "v": "\v",
}
_ARRAY_SPECIAL = set('{},"\\') | {" ", "\t", "\n", "\r", "\v", "\f"}


def copy_text_escape(text: str) -> str:
    """Escape one field value for COPY ... FROM STDIN (text format, TAB delimiter)."""
    if not any(c in text for c in _COPY_ESCAPES):
        return text
    return "".join(_COPY_ESCAPES.get(c, c) for c in text)


def array_element(value: Any) -> str:
    """One element of a 1-D array literal, quoted when PostgreSQL needs it."""
    if value is None:
        return "NULL"
    text = _scalar_text(value)
    if text == "" or text.lower() == "null" or any(c in _ARRAY_SPECIAL for c in text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def array_literal(values: Iterable[Any]) -> str:
    """A 1-D PostgreSQL array literal, e.g. ['Java', 'Spring Boot'] -> {Java,"Spring Boot"}."""
    return "{" + ",".join(array_element(v) for v in values) + "}"


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def copy_field(value: Any) -> str:
    """Python value -> COPY text field (NULL, bool, numbers, str, datetime, list, dict)."""
    if value is None:
        return NULL
    if isinstance(value, list | tuple):
        return copy_text_escape(array_literal(value))
    if isinstance(value, Mapping):
        return copy_text_escape(json.dumps(value, ensure_ascii=False, sort_keys=True))
    return copy_text_escape(_scalar_text(value))


def copy_line(row: Mapping[str, Any], columns: Sequence[str]) -> str:
    """One COPY line (with the trailing newline) holding `columns` of `row`, in that order."""
    return "\t".join(copy_field(row[c]) for c in columns) + "\n"


def copy_text(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    return "".join(copy_line(r, columns) for r in rows)


def write_copy(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], fp: IO[str]) -> int:
    """Write rows to a text stream in COPY text format; returns the number of rows."""
    n = 0
    for r in rows:
        fp.write(copy_line(r, columns))
        n += 1
    return n


def copy_statement(table: str, columns: Sequence[str]) -> str:
    """`COPY <table> (<columns>) FROM STDIN` matching `copy_line(..., columns)`."""
    return f"COPY {table} ({', '.join(columns)}) FROM STDIN"


# ---------------------------------------------------------------------------
# Parsing back (used by tests to prove the round trip without a server).


def copy_text_unescape(field: str) -> str | None:
    """Inverse of copy_field's outer layer: `\\N` -> None, backslash sequences decoded."""
    if field == NULL:
        return None
    if "\\" not in field:
        return field
    out: list[str] = []
    i = 0
    while i < len(field):
        c = field[i]
        if c == "\\" and i + 1 < len(field):
            nxt = field[i + 1]
            out.append(_COPY_UNESCAPES.get(nxt, nxt))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_copy_line(line: str) -> list[str | None]:
    """Split one COPY text line (TAB delimited) into unescaped field strings."""
    if line.endswith("\n"):
        line = line[:-1]
    return [copy_text_unescape(f) for f in line.split("\t")]


def parse_array_literal(text: str) -> list[str | None]:
    """Parse a 1-D array literal produced by `array_literal` (or by PostgreSQL's output)."""
    if not (text.startswith("{") and text.endswith("}")):
        raise ValueError(f"not an array literal: {text!r}")
    body = text[1:-1]
    items: list[str | None] = []
    if body == "":
        return items
    i, n = 0, len(body)
    while True:
        if body[i] == '"':
            i += 1
            buf: list[str] = []
            while body[i] != '"':
                if body[i] == "\\":
                    i += 1
                buf.append(body[i])
                i += 1
            i += 1
            items.append("".join(buf))
        else:
            j = body.find(",", i)
            j = n if j < 0 else j
            raw = body[i:j].strip()
            items.append(None if raw.lower() == "null" else raw)
            i = j
        if i >= n:
            return items
        if body[i] != ",":
            raise ValueError(f"malformed array literal near {body[i:]!r}")
        i += 1
