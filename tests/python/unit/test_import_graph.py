"""The product does not depend on the simulator: no module of training/, ses_udf or
ses_ops' product modules imports simulator (the simulator is a client of the product)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PRODUCT = [REPO / "training", REPO / "python_udfs"]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_training_and_udfs_import_no_simulator_module():
    offenders = {
        str(path.relative_to(REPO)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] == "simulator"
        )
        for root in PRODUCT
        for path in root.rglob("*.py")
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert offenders == {}
    # the check itself finds an import where there is one
    assert "simulator.offline" in imported_modules(REPO / "simulator" / "learning_curve.py")
