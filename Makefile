# ses_match entry points. Two commands do everything on a fresh machine:
#   make demo   set up, start the local database, run the main job
#   make test   set up, start the local database, run every check and test
#   make orchestrate   the Dagster scheduler and its web UI (SES_DAGSTER_PORT, default 3300)
# Point at another server by exporting PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE
# (the local cluster is then left alone).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCAL := .local

# Local cluster defaults unless the caller named a server.
ifeq ($(origin PGHOST), undefined)
USE_LOCAL_DB := 1
export PGHOST := 127.0.0.1
export PGPORT := $(or $(SES_LOCAL_PGPORT),54329)
export PGUSER := postgres
else
USE_LOCAL_DB := 0
endif
export PGDATABASE ?= ses_match
export DBT_PROFILES_DIR := $(CURDIR)/$(LOCAL)/dbt
TEST_DATABASE ?= $(PGDATABASE)_test

.PHONY: setup db demo test fuzz evaluate lint bench bench-scale orchestrate clean-db help

help:
	@echo "make demo | make test | make fuzz | make bench | make bench-scale | make lint | make db | make orchestrate | make clean-db"
	@echo "make evaluate EVALUATOR_PACKAGES=<dir with dbt_project_evaluator/ and dbt_utils/>"

$(BIN)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 required, got " + sys.version' 
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

# The ses-match console script and the packages (ses_udf from python_udfs/),
# importable from the venv without PYTHONPATH.
$(BIN)/.editable: pyproject.toml $(BIN)/.installed
	$(BIN)/pip install -q --no-deps -e .
	touch $@

# Wheels for the server's plpython3u interpreter (Debian's python3.11).
$(LOCAL)/pylib/.installed: requirements-udf.txt $(BIN)/.installed
	rm -rf $(LOCAL)/pylib
	$(BIN)/pip install -q --target $(LOCAL)/pylib -r requirements-udf.txt
	touch $@

$(LOCAL)/dbt/profiles.yml: profiles.yml.example
	mkdir -p $(dir $@)
	cp $< $@

setup: $(BIN)/.installed $(BIN)/.editable $(LOCAL)/pylib/.installed $(LOCAL)/dbt/profiles.yml

db: setup
ifeq ($(USE_LOCAL_DB),1)
	scripts/localdb.sh start
endif
	$(BIN)/python -m ses_ops.ensure_database "$(PGDATABASE)"

demo: db
	$(BIN)/python -m ses_ops.demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint models tests

test: db lint
	PGDATABASE=$(TEST_DATABASE) $(BIN)/python -m ses_ops.ensure_database --recreate "$(TEST_DATABASE)"
	PGDATABASE=$(TEST_DATABASE) $(BIN)/dbt build --fail-fast
	PGDATABASE=$(TEST_DATABASE) $(BIN)/pytest -q tests/python

# The write-path fuzz suite with many more inputs and a random seed (make test
# runs it with 100 inputs per function and a fixed seed).
FUZZ_EXAMPLES ?= 1000
fuzz: db
	PGDATABASE=$(TEST_DATABASE) $(BIN)/python -m ses_ops.ensure_database --recreate "$(TEST_DATABASE)"
	PGDATABASE=$(TEST_DATABASE) $(BIN)/dbt build --fail-fast --exclude test_type:unit
	SES_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) SES_FUZZ_RANDOM=1 PGDATABASE=$(TEST_DATABASE) \
		$(BIN)/pytest -q tests/python/db/test_fuzz_write_path.py

# dbt-project-evaluator on a throw-away copy (a development tool, not a dependency).
evaluate: db
	@test -n "$(EVALUATOR_PACKAGES)" || { echo "set EVALUATOR_PACKAGES=<dir with dbt_project_evaluator/ and dbt_utils/>"; exit 2; }
	$(BIN)/python scripts/evaluate_project.py "$(EVALUATOR_PACKAGES)"

bench: db
	$(BIN)/python -m benchmarks.run_all

# Cost curves only (history 1M -> 10M logs, talents 100k -> 1M); BENCH_ARGS to change sizes.
bench-scale: db
	$(BIN)/python -m benchmarks.scale_bench $(BENCH_ARGS)

orchestrate: db
	$(BIN)/ses-match orchestrate

clean-db:
ifeq ($(USE_LOCAL_DB),1)
	scripts/localdb.sh stop
endif
