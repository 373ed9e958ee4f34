"""The Dagster code location of ses_match (definitions in orchestration.definitions).

    ses-match orchestrate          # or: make orchestrate; dagster dev -m orchestration.definitions

The dbt project is loaded as assets from its manifest; jobs are the selections of
selectors.yml (nightly, weekly, bi) plus the retrain; schedules run the nightly
build at 02:00 JST and the retrain on Sundays at 03:00 JST, a sensor retrains when
500 more mature labels arrived (R-43), and a run-failure sensor raises an alert.
"""
