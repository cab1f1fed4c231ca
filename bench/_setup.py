"""Shared set-up for the benchmarks: Django with the test settings and a fresh database."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_with_database() -> None:
    """Configure Django from tests.settings and create its (in-memory) database."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    connection.creation.create_test_db(verbosity=0)


# --- Benchmarks on a database of their own (bench/settings.py) ----------------------------------

PG_HOST = os.environ.get("PGHOST", "127.0.0.1")
PG_PORT = os.environ.get("PGPORT", "5432")


def postgres_unavailable() -> str | None:
    """Why PostgreSQL cannot be used (no psycopg, no server answering), or None if it can."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(
            host=PG_HOST,
            port=PG_PORT,
            user=os.environ.get("PGUSER", "postgres"),
            password=os.environ.get("PGPASSWORD", ""),
            dbname="postgres",
            connect_timeout=3,
        ):
            pass
    except psycopg.Error as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"no PostgreSQL server answers on {PG_HOST}:{PG_PORT} ({first_line})"
    return None


@contextmanager
def bench_database(engine: str, name: str) -> Iterator[None]:
    """Django from bench.settings on a fresh database, dropped on exit.

    ``engine`` is "sqlite" (``name`` is a file path) or "postgres" (``name`` is the database
    name, created and dropped on the server). Subprocesses inherit the environment variables
    that make bench.settings point at the same database.
    """
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["BENCH_DB"] = engine
    os.environ["BENCH_DB_NAME"] = name
    import django

    django.setup()
    from django.db import connection

    # TEST.NAME is NAME in bench.settings: the "test database" is the benchmark's own.
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield
    finally:
        connection.close()
        connection.creation.destroy_test_db(name, verbosity=0)
        if engine == "sqlite":
            for suffix in ("-wal", "-shm"):
                Path(name + suffix).unlink(missing_ok=True)
