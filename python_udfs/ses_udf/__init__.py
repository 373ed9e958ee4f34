"""Python behind the in-database UDFs (imported by plpython3u and by pytest).

Nothing here talks to the database: callers pass plain values in, get plain
values out, so the same code runs in-process for tests and benchmarks.
"""
