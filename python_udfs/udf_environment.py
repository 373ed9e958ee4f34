"""ses.udf_environment: what the server's Python (plpython3u) can import, for
`ses-match doctor`: the interpreter, each requested distribution's version and
whether its modules import, where ses_udf comes from and a digest of its source.
Standard library only, so it answers when the UDF packages are missing; the
doctor also runs this file as a DO block on a database not built yet."""

import hashlib
import importlib
import importlib.metadata
import json
import re
import sys
from pathlib import Path


def normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def source_digest(package_dir):
    """sha256 over the package's .py files (relative path and bytes, sorted)."""
    digest = hashlib.sha256()
    root = Path(package_dir)
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _error(exc):
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]


def udf_environment(distributions):
    modules = {}
    for module, dists in importlib.metadata.packages_distributions().items():
        for dist in dists:
            if not module.startswith("_"):
                modules.setdefault(normalise(dist), []).append(module)
    packages = {}
    for dist in distributions or []:
        entry = {}
        try:
            entry["version"] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            entry["error"] = "not installed"
        else:
            for module in sorted(modules.get(normalise(dist), [])):
                try:
                    importlib.import_module(module)
                except Exception as exc:
                    entry["error"] = f"import {module}: {_error(exc)}"
                    break
        packages[dist] = entry
    ses_udf = {}
    try:
        package = importlib.import_module("ses_udf")
        ses_udf["path"] = str(Path(package.__file__).parent)
        ses_udf["digest"] = source_digest(ses_udf["path"])
    except Exception as exc:
        ses_udf["error"] = _error(exc)
    return json.dumps(
        {
            "python": sys.version.split()[0],
            "path": [p for p in sys.path if p],
            "packages": packages,
            "ses_udf": ses_udf,
        }
    )
