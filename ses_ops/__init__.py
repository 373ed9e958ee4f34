"""Operational helpers: database bootstrap, dbt invocation, the demo job."""
