"""Fixtures of the end-to-end suite: the example project run as two sites, A and B."""

from __future__ import annotations

import contextlib
import secrets
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import call_report_key
from tests.e2e.sites import (
    DemoSite,
    Processes,
    Sites,
    free_ports,
    postgres_databases,
    using_postgres,
    web_server_command,
)

# Until pyproject.toml lists it (``--strict-markers`` refuses unknown markers).
WORKERS = {"A": 1, "B": 2}
A_SEND_PROTOCOLS = "pingback,webmention,trackback"
# Seconds a worker sleeps when its queue is empty (db_worker's default: 1).
WORKER_INTERVAL = "0.2"


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    """Sites A and B set up and serving; A with one task worker, B with two."""
    tmp = tmp_path_factory.mktemp("e2e")
    port_a, port_b = free_ports(2)
    # A tries pingback before Webmention (B advertises both), B keeps the default order.
    a = DemoSite("A", port_a, tmp / "a.sqlite3", {"E2E_SEND_PROTOCOLS": A_SEND_PROTOCOLS})
    b = DemoSite("B", port_b, tmp / "b.sqlite3")
    processes = Processes(tmp)
    databases = contextlib.ExitStack()
    if using_postgres():
        token = secrets.token_hex(4)
        for site in (a, b):
            site.settings["E2E_PGDATABASE"] = f"backlinks_e2e_{token}_{site.name.lower()}"
        databases.enter_context(
            postgres_databases(a.settings["E2E_PGDATABASE"], b.settings["E2E_PGDATABASE"])
        )
    try:
        with ThreadPoolExecutor(2) as pool:
            for done in [pool.submit(a.set_up, b), pool.submit(b.set_up, a)]:
                done.result()
        for site in (a, b):
            processes.start(f"{site.name} web", site, web_server_command(site.port))
            for n in range(1, WORKERS[site.name] + 1):
                worker_id = f"{site.name.lower()}-worker-{n}"
                processes.start(
                    f"{site.name} worker {n}",
                    site,
                    [
                        *(sys.executable, "manage.py", "db_worker", "--no-reload"),
                        *("--interval", WORKER_INTERVAL, "--worker-id", worker_id),
                    ],
                )
        for site in (a, b):
            processes.wait_until_serving(site)
    except BaseException:
        print(processes.logs())  # shown with the setup error
        processes.stop()
        databases.close()
        raise
    try:
        yield Sites(a, b, processes)
    finally:
        processes.stop()
        databases.close()


@pytest.fixture(autouse=True)
def _logs_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print every process's log under a failed test ("Captured stdout teardown"), for the
    tests using ``sites`` or ``deployment`` (test_deployment.py); starts neither."""
    yield
    report = request.node.stash.get(call_report_key, None)
    if report is None or not report.failed:
        return
    for name in ("sites", "deployment"):
        if name in request.fixturenames:
            print(request.getfixturevalue(name).processes.logs())
