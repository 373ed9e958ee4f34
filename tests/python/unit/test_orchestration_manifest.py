"""The scheduler parses the dbt project again when its manifest is older than a file
dbt reads (after a pull that adds a model, a stale manifest fails the nightly run)."""

from __future__ import annotations

import os
import time

from orchestration.project import manifest_is_stale


def test_manifest_staleness(tmp_path):
    manifest = tmp_path / "manifest.json"
    assert manifest_is_stale(manifest)  # missing
    manifest.write_text("{}")
    future = time.time() + 3600
    os.utime(manifest, (future, future))
    assert not manifest_is_stale(manifest)  # newer than every project file
    os.utime(manifest, (0, 0))
    assert manifest_is_stale(manifest)  # older than the models
