# ses_match entry points. Two commands do everything on a fresh machine:
#   make demo   set up, start the local database, run the main job
#   make test   set up, start the local database, run every check and test
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
export PYTHONPATH := $(CURDIR)/python_udfs:$(CURDIR)
TEST_DATABASE ?= $(PGDATABASE)_test

.PHONY: setup db demo test lint bench bench-scale clean-db help

help:
	@echo "make demo | make test | make bench | make bench-scale | make lint | make db | make clean-db"

$(BIN)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 required, got " + sys.version' 
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

# Wheels for the server's plpython3u interpreter (Debian's python3.11).
$(LOCAL)/pylib/.installed: requirements-udf.txt $(BIN)/.installed
	rm -rf $(LOCAL)/pylib
	$(BIN)/pip install -q --target $(LOCAL)/pylib -r requirements-udf.txt
	touch $@

$(LOCAL)/dbt/profiles.yml: profiles.yml.example
	mkdir -p $(dir $@)
	cp $< $@

setup: $(BIN)/.installed $(LOCAL)/pylib/.installed $(LOCAL)/dbt/profiles.yml

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

bench: db
	$(BIN)/python -m benchmarks.run_all

# Cost curves only (history 1M -> 10M logs, talents 100k -> 1M); BENCH_ARGS to change sizes.
bench-scale: db
	$(BIN)/python -m benchmarks.scale_bench $(BENCH_ARGS)

clean-db:
ifeq ($(USE_LOCAL_DB),1)
	scripts/localdb.sh stop
endif
