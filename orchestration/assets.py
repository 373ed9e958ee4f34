"""Assets: every dbt model and seed of the project (from its manifest, dbt tests as
asset checks), and the learned two-tower model, produced by the retrain job."""

import contextlib
import io
import os
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    Config,
    ConfigurableResource,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets, get_asset_key_for_model
from pydantic import Field

from ses_ops.db import connect, with_actor
from ses_ops.settings import kept_settings, vars_args
from training.retrain import RetrainConfig

from .project import DBT_PROJECT, prepare_manifest

MODEL_ASSET = AssetKey("two_tower_model")
# dbt models that depend on the active model although dbt cannot see it (they call
# ses.embedder_version, which reads ses.model_registry): a new model adds a cache
# generation and a row to the evaluation report.
MODEL_DEPENDENTS = ("talent_embeddings", "project_embeddings", "model_evaluation")


class SesDbtTranslator(DagsterDbtTranslator):
    """Groups by layer (staging, intermediate, labels / two_tower / reports marts,
    seeds) and the model dependency dbt cannot see."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "seeds"
        fqn = dbt_resource_props.get("fqn") or []
        if len(fqn) > 2 and fqn[1] == "marts":
            return fqn[2]
        if len(fqn) > 1 and fqn[1] in ("staging", "intermediate"):
            return fqn[1]
        return super().get_group_name(dbt_resource_props)

    def get_asset_spec(self, manifest, unique_id, project):
        spec = super().get_asset_spec(manifest, unique_id, project)
        if unique_id.split(".")[-1] in MODEL_DEPENDENTS and unique_id.startswith("model."):
            spec = spec.merge_attributes(deps=[MODEL_ASSET])
        return spec


@dbt_assets(
    # `dagster dev` (make orchestrate) parses again at every reload of the definitions
    manifest=prepare_manifest(force=bool(os.environ.get("DAGSTER_IS_DEV_CLI"))),
    project=DBT_PROJECT,
    dagster_dbt_translator=SesDbtTranslator(),
)
def ses_match_dbt(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """`dbt build` of the selected nodes, keeping the two-tower settings in force."""
    with connect() as conn:
        kept = kept_settings(conn)
    yield from dbt.cli(["build", *vars_args(kept)], context=context).stream()


class RetrainSettings(ConfigurableResource):
    """How the scheduler runs `python -m training.retrain`. The trigger thresholds
    come from here too, so the sensor and the run agree."""

    min_labels: int = Field(default=RetrainConfig.min_labels, description="first training")
    label_maturity_days: float = Field(default=RetrainConfig.label_maturity_days)
    model_dir: str | None = Field(default=None, description="default: models/ of the checkout")
    args: list[str] = Field(default=[], description="more retrain options, e.g. --set epochs=50")

    def config(self) -> RetrainConfig:
        return RetrainConfig(
            min_labels=self.min_labels, label_maturity_days=self.label_maturity_days
        )

    def argv(self, extra: list[str]) -> list[str]:
        argv = ["--min-labels", str(self.min_labels)]
        argv += ["--label-maturity-days", str(self.label_maturity_days)]
        if self.model_dir:
            argv += ["--model-dir", self.model_dir]
        return [*argv, *self.args, *extra]


class RetrainRunConfig(Config):
    args: list[str] = Field(default=[], description="retrain options for this run only")


@contextlib.contextmanager
def _actor(who: str) -> Iterator[None]:
    """ses.actor for the run's connections (who deployed, in ses.model_activations)."""
    old = os.environ.get("PGOPTIONS")
    os.environ["PGOPTIONS"] = with_actor(old, who)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PGOPTIONS", None)
        else:
            os.environ["PGOPTIONS"] = old


class _Tee(io.TextIOBase):
    def __init__(self, *streams: Any) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for s in self.streams:
            s.write(text)
        return len(text)


def run_retrain(log: Any, who: str, settings: RetrainSettings, extra: list[str]) -> dict[str, Any]:
    """`python -m training.retrain` with the scheduler's settings; returns the metadata
    of the registry row it wrote. Raises Failure when it failed (exit 1): the active
    model is unchanged then. A refused candidate (exit 2) is a warning, not a failure."""
    from training import retrain as retrain_job

    argv = settings.argv(extra)
    log.info(f"python -m training.retrain {' '.join(argv)}")
    errors = io.StringIO()
    with _actor(who):
        try:
            with contextlib.redirect_stderr(_Tee(sys.stderr, errors)):
                code = retrain_job.main(argv)
        except SystemExit as exc:  # bad options
            code = exc.code if isinstance(exc.code, int) else 1
            errors.write(str(exc.code))
    message = errors.getvalue().strip()
    if code not in (0, 2):
        raise Failure(
            description=f"retrain failed (exit {code}): {message or 'see the logs'}",
            metadata={"exit_code": code},
        )
    with connect() as conn:
        row = conn.execute(
            "select version, status, (metrics -> 'learned' ->> 'auc')::float8, "
            "(metrics -> 'hash' ->> 'auc')::float8, reason, ses.active_model_version() "
            "from ses.model_registry order by created_at desc limit 1"
        ).fetchone()
    version, status, learned_auc, hash_auc, reason, active = row or (None,) * 6
    if code == 2:
        log.warning(f"the gate refused {version}: {reason}; the active model stays {active}")
    metadata: dict[str, Any] = {
        "version": MetadataValue.text(str(version)),
        "status": MetadataValue.text(str(status)),
        "active_model": MetadataValue.text(str(active)),
        "reason": MetadataValue.text(reason or ""),
    }
    for name, value in (("learned_auc", learned_auc), ("hash_auc", hash_auc)):
        if value is not None:
            metadata[name] = MetadataValue.float(value)
    return metadata


@asset(
    key=MODEL_ASSET,
    group_name="learning",
    deps=[get_asset_key_for_model([ses_match_dbt], "training_labels")],
    description="The learned two-tower model in ses.model_registry: `python -m training.retrain` "
    "(train, evaluate against the hash baseline and the active model, gate R-42, deploy). "
    "A refused candidate is stored as rejected and the active model stays.",
)
def two_tower_model(
    context: AssetExecutionContext, config: RetrainRunConfig, retrain: RetrainSettings
) -> MaterializeResult:
    who = f"dagster:{context.run.job_name}:{context.run_id[:8]}"
    return MaterializeResult(metadata=run_retrain(context.log, who, retrain, config.args))
