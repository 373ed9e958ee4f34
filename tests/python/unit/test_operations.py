"""Pieces of the ses-match command and the scheduler that need no database."""

from __future__ import annotations

import importlib

import pytest
import yaml

from ses_ops import cli
from ses_ops.build import SELECTORS
from ses_ops.db import PROJECT_DIR, apply_defaults, with_actor
from ses_ops.doctor import migration_ids, udf_requirements
from ses_ops.settings import SETTINGS, _as_var, vars_args


def test_the_scheduled_selections_exist_in_selectors_yml() -> None:
    names = {
        s["name"] for s in yaml.safe_load((PROJECT_DIR / "selectors.yml").read_text())["selectors"]
    }
    assert set(SELECTORS) <= names and "history_tests" in names


def test_every_two_tower_setting_is_a_project_var() -> None:
    project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())
    for env, (var, _key) in SETTINGS.items():
        assert env in project["vars"][var]  # "{{ env_var('TWO_TOWER_...', ...) }}"
    assert (_as_var(None), _as_var(True), _as_var(False), _as_var(0.2)) == (
        "",
        "true",
        "false",
        "0.2",
    )
    assert vars_args({}) == []
    assert vars_args({"b": "1", "a": ""}) == ["--vars", '{"a": "", "b": "1"}']


def test_local_cluster_defaults_like_make() -> None:
    env = {"SES_LOCAL_PGPORT": "54333", "DBT_PROFILES_DIR": "/x"}
    apply_defaults(env)
    assert env["PGHOST"] == "127.0.0.1" and env["PGPORT"] == "54333"
    assert env["PGUSER"] == "postgres" and env["PGDATABASE"] == "ses_match"
    named = {"PGHOST": "db.internal", "PGPORT": "5432", "PGUSER": "ses", "DBT_PROFILES_DIR": "/x"}
    apply_defaults(named)  # a named server is left alone
    assert (named["PGHOST"], named["PGPORT"], named["PGUSER"]) == ("db.internal", "5432", "ses")


def test_the_actor_option_replaces_an_earlier_one() -> None:
    first = with_actor("-c work_mem=64MB", "alice@host:ses-match models")
    assert first == r"-c work_mem=64MB -c ses.actor=alice@host:ses-match\ models"
    assert with_actor(first, "bob") == "-c work_mem=64MB -c ses.actor=bob"


def test_the_doctor_reads_this_checkout() -> None:
    assert list(udf_requirements()) == [
        "numpy",
        "onnxruntime",
        "siphash24",
        "candle-nn",
        "safetensors",
    ]
    ids = migration_ids()
    assert ids[0] == "V001__operational_tables" and len(ids) == len(set(ids))


def test_pass_through_commands_keep_their_options() -> None:
    args, rest = cli.build_parser().parse_known_args(
        ["retrain", "--if-due", "--alert", "--set", "epochs=3", "--as-of", "2025-06-06"]
    )
    assert args.command == "retrain" and args.alert
    assert rest == ["--if-due", "--set", "epochs=3", "--as-of", "2025-06-06"]


@pytest.mark.parametrize("command", sorted(cli.PASSTHROUGH))
def test_every_wrapped_command_takes_its_arguments(command, capsys) -> None:
    """ses-match passes argv through: each wrapped main(argv) answers --help."""
    module = importlib.import_module(cli.PASSTHROUGH[command])
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0
    assert "usage:" in capsys.readouterr().out
