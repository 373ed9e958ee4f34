"""The scheduled jobs. Each dbt step runs exactly `dbt build --selector <name>`
(selectors.yml, as `ses-match build <name>` does): dbt decides what the selection
holds (functions, singular tests such as the outcome drift check included), and
the step reports the materializations and test results of the dbt assets it built.
"""

from dagster import (
    AssetMaterialization,
    Config,
    In,
    Nothing,
    OpExecutionContext,
    Out,
    Output,
    job,
    op,
)
from dagster_dbt import DbtCliResource
from pydantic import Field

from ses_ops.db import connect
from ses_ops.settings import kept_settings, vars_args

from .assets import MODEL_ASSET, RetrainSettings, SesDbtTranslator, run_retrain
from .project import DBT_PROJECT


def dbt_build_op(selector: str):
    """An op running `dbt build --selector <selector>` with the settings in force kept."""

    @op(
        name=f"dbt_build_{selector}",
        ins={"after": In(Nothing)},
        out={},
        description=f"dbt build --selector {selector} (selectors.yml)",
        tags={"dbt_selector": selector},
    )
    def _build(context: OpExecutionContext, dbt: DbtCliResource):
        with connect() as conn:
            kept = kept_settings(conn)
        invocation = dbt.cli(
            ["build", "--selector", selector, *vars_args(kept)],
            manifest=DBT_PROJECT.manifest_path,
            dagster_dbt_translator=SesDbtTranslator(),
        )
        yield from invocation.stream()

    return _build


class RetrainOpConfig(Config):
    args: list[str] = Field(default=[], description="retrain options for this run only")


@op(out=Out(Nothing), description="python -m training.retrain (gate R-42, deploy or keep)")
def retrain_model(context: OpExecutionContext, config: RetrainOpConfig, retrain: RetrainSettings):
    who = f"dagster:{context.run.job_name}:{context.run_id[:8]}"
    metadata = run_retrain(context.log, who, retrain, config.args)
    yield AssetMaterialization(asset_key=MODEL_ASSET, metadata=metadata)
    yield Output(None)


dbt_build_nightly = dbt_build_op("nightly")
dbt_build_weekly = dbt_build_op("weekly")
dbt_build_bi = dbt_build_op("bi")


@job(
    name="nightly",
    description="The nightly dbt build (selectors.yml: nightly): labels, caches, weight "
    "schedule, reports and their tests.",
)
def nightly_job():
    dbt_build_nightly()


@job(
    name="retrain",
    description="Retrain (gate R-42: deploy, or store the candidate and keep the active "
    "model), then the model-dependent build (selectors.yml: weekly).",
)
def retrain_job():
    dbt_build_weekly(after=retrain_model())


@job(name="bi", description="What BI tools query (selectors.yml: bi), with its tests.")
def bi_job():
    dbt_build_bi()
