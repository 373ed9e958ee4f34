"""Can a model of ses.model_registry be served? Asked before it is activated.

The answer comes from the serving code itself (ses_udf.learned_tower: metadata
checks, sha256 of the bytes, ONNX / safetensors parsing and the probe forward
pass), for both backends, so a model that activation lets through is one the
embedders load. Whatever goes wrong becomes a sentence, not a raw exception.
"""

from __future__ import annotations

import json
from typing import Any

from ses_udf import learned_tower as lt

MODEL_SQL = "select metadata, onnx_model, candle_weights from ses.model_registry where version = $1"
_COLUMN = {"onnx": "onnx_model", "candle": "candle_weights"}


def serving_problem(db: Any, version: str) -> str | None:
    """None when both backends load and probe the model; else what is wrong."""
    rows = db.execute(db.prepare(MODEL_SQL, ["text"]), [version])
    if not rows:
        return f"model {version!r} is not in ses.model_registry"
    row = rows[0]
    metadata = row["metadata"]
    if isinstance(metadata, str):  # plpython hands jsonb over as text
        metadata = json.loads(metadata)
    if not isinstance(metadata, dict) or metadata.get("version") != version:
        named = metadata.get("version") if isinstance(metadata, dict) else None
        return f"its metadata names version {named!r}"
    for backend in lt.BACKENDS:
        data = row[_COLUMN[backend]]
        if data is None:
            return f"it has no {lt.BACKEND_FILE[backend]} bytes"
        try:
            lt.load_model(backend, data, metadata)
        except lt.ModelFileError as exc:
            return f"{backend}: {exc}"
        except Exception as exc:  # a file corrupt in a way the loader did not foresee
            return f"{backend} could not load it: {type(exc).__name__}: {exc}"
    return None
