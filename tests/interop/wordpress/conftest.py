"""Fixtures of the WordPress interop suite: MariaDB, our example site, a WordPress per module.

Each test module names its permalink structure (``PERMALINKS``) and gets its own WordPress
blog; the MariaDB server and our site (web server and task worker, as tests/e2e runs them)
serve the whole session. Everything listens on 127.0.0.1 (MariaDB on a unix socket only)
and is stopped when the run ends.
"""

from __future__ import annotations

import contextlib
import importlib.util
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import django
import pytest

from tests.conftest import call_report_key
from tests.e2e.sites import (
    DemoSite,
    Processes,
    free_ports,
    postgres_databases,
    using_postgres,
    web_server_command,
)
from tests.interop.wordpress.actions import (
    backlinks_from,
    outbound,
    post_pings,
    publish_entry,
    publish_post,
    send_wordpress_pings,
    wait_out_flood_window,
)
from tests.interop.wordpress.instance import MariaDB, WordPress, missing_packages

SITE_NAME = "Our Django blog"
# Seconds the worker sleeps when its queue is empty (db_worker's default: 1).
WORKER_INTERVAL = "0.2"
_EXAMPLE_DEPENDENCIES = ["django_tasks_db"] + (["django_tasks"] if django.VERSION < (6,) else [])


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    """The MariaDB server of scripts/start-wordpress, on a socket in a temporary folder."""
    missing = missing_packages()
    if missing is not None:
        pytest.skip(f"WordPress interop needs Debian's packages: {missing}")
    server = MariaDB(tmp_path_factory.mktemp("mariadb"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Served:
    """A peer and the processes serving it."""

    peer: Any
    processes: Processes


@pytest.fixture(scope="session")
def our_site_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The example project serving on 127.0.0.1 with one task worker, as a real site runs."""
    missing = [name for name in _EXAMPLE_DEPENDENCIES if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"the example project needs {', '.join(missing)}: pip install -e .[example]")
    tmp = tmp_path_factory.mktemp("our-site")
    (port,) = free_ports(1)
    site = DemoSite("ours", port, tmp / "site.sqlite3")
    processes = Processes(tmp)
    databases = contextlib.ExitStack()
    if using_postgres():
        site.settings["E2E_PGDATABASE"] = f"backlinks_interop_{secrets.token_hex(4)}"
        databases.enter_context(postgres_databases(site.settings["E2E_PGDATABASE"]))
    try:
        site.manage("migrate", "--noinput", "--verbosity", "0")
        site.manage("demo_setup", "--domain", f"127.0.0.1:{port}", "--name", SITE_NAME)
        processes.start("our web", site, web_server_command(port))
        processes.start(
            "our worker",
            site,
            [
                *(sys.executable, "manage.py", "db_worker", "--no-reload"),
                *("--interval", WORKER_INTERVAL, "--worker-id", "interop-worker"),
            ],
        )
        processes.wait_until_serving(site)
    except BaseException:
        print(processes.logs())
        processes.stop()
        databases.close()
        raise
    try:
        yield Served(site, processes)
    finally:
        processes.stop()
        databases.close()


@pytest.fixture
def our_site(our_site_served: Served) -> DemoSite:
    """Our site (the example project), seen from outside: HTTP and ``shell()``."""
    site: DemoSite = our_site_served.peer
    return site


@pytest.fixture(scope="module")
def wordpress_served(
    request: pytest.FixtureRequest, mariadb: MariaDB, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """A WordPress blog with the module's ``PERMALINKS``, served by ``php -S``."""
    tmp = tmp_path_factory.mktemp("wordpress")
    (port,) = free_ports(1)
    name = request.module.__name__.rpartition(".")[2].removeprefix("test_")
    blog = WordPress(name, port, tmp / "htdocs", mariadb, request.module.PERMALINKS)
    processes = Processes(tmp)
    try:
        blog.create()
        # Processes and its readiness check want a site: the blog has what they use.
        processes.start("wordpress", blog, blog.serve_command())  # type: ignore[arg-type]
        processes.wait_until_serving(blog)  # type: ignore[arg-type]
    except BaseException:
        print(processes.logs(), blog.debug_log())
        processes.stop()
        raise
    try:
        yield Served(blog, processes)
    finally:
        processes.stop()
        mariadb.execute(f"DROP DATABASE IF EXISTS `{blog.database}`")


@pytest.fixture
def wordpress(wordpress_served: Served) -> WordPress:
    """The module's WordPress blog, seen from outside: HTTP and ``php()``."""
    blog: WordPress = wordpress_served.peer
    return blog


@pytest.fixture(autouse=True)
def _logs_on_failure(
    request: pytest.FixtureRequest,
    mariadb: MariaDB,
    our_site_served: Served,
    wordpress_served: Served,
) -> Iterator[None]:
    """Print the logs of our site and of WordPress under a failed test.

    ``mariadb`` comes first so that a machine without WordPress skips before our site starts.
    """
    yield
    report = request.node.stash.get(call_report_key, None)
    if report is not None and report.failed:
        print(our_site_served.processes.logs())
        print(wordpress_served.processes.logs())
        print(f"===== WordPress debug.log =====\n{wordpress_served.peer.debug_log()}")


@pytest.fixture(scope="module")
def wordpress_pingback(our_site_served: Served, wordpress_served: Served) -> dict[str, Any]:
    """WordPress → us: a post linking one of our entries, pinged by ``do_all_pings()``.

    Also what each side holds right after: later tests of the module may moderate it.
    """
    site, blog = our_site_served.peer, wordpress_served.peer
    target = publish_entry(
        site, f"read-on-{blog.name}", "Read on WordPress", "<p>A plain entry.</p>"
    )
    post = publish_post(
        blog,
        "Reading a Django blog",
        f'<p>This morning I read <a href="{target}">an entry of a Django blog</a>.</p>',
    )
    send_wordpress_pings(blog)
    return {
        "target": target,
        "post": post,
        "pinged": post_pings(blog, post["id"])["pinged"],
        "received": backlinks_from(site, post["url"]),
    }


@pytest.fixture(scope="module")
def our_pingback(our_site_served: Served, wordpress_served: Served) -> dict[str, Any]:
    """Us → WordPress: an entry linking a post, pinged by our worker when saved."""
    site, blog = our_site_served.peer, wordpress_served.peer
    post = publish_post(blog, "A post on WordPress", "<p>Hello from WordPress.</p>")
    wait_out_flood_window(blog)
    slug = f"linking-{blog.name}"
    source = publish_entry(
        site,
        slug,
        "Our entry linking WordPress",
        f'<p>We like <a href="{post["url"]}">this WordPress post</a>.</p>',
    )
    return {"source": source, "post": post, "outbound": outbound(site, slug)}
