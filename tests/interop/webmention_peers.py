"""Fixtures of the Webmention interop suite: our example site and peers this project did not write.

Everything runs as real processes on 127.0.0.1, started on first use and kept for the whole
test session (on ``config.stash``, so both test modules share them without a conftest):

- ``world.ours``: the example project (tests/e2e/sites.py's ``DemoSite``) with its web server
  and one ``db_worker``, so that receiving verifies and sending delivers in tasks;
- ``world.flask_peer``: a site built on the ``webmentions`` library
  (tests/interop/webmention_flask_peer.py);
- ``world.django_peer``: a Django site whose receiver is the ``django-webmention`` app
  (tests/interop/webmention_django_peer.py);
- ``remy_cli``: the ``webmention`` command of npm's ``@remy/webmention``, installed by
  scripts/install-webmention-peers into .venv-test/webmention-peers.

Test modules import the fixtures they use (``from ... import world_fixture  # noqa: F401``);
the helpers below act on our site through ``manage.py shell``, as tests/e2e does.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import django
import pytest

from tests.e2e.sites import REPOSITORY, DemoSite, Processes, free_ports, web_server_command

T = TypeVar("T")

# Seconds to wait for a worker to deliver or verify a Webmention.
POLL_TIMEOUT = 30.0
WORKER_INTERVAL = "0.2"
PEERS_DIR = REPOSITORY / ".venv-test" / "webmention-peers"
REMY_BIN = PEERS_DIR / "node_modules" / ".bin" / "webmention"
INSTALL_SCRIPT = REPOSITORY / "scripts" / "install-webmention-peers"

_EXAMPLE = ["django_tasks_db"] + (["django_tasks"] if django.VERSION < (6,) else [])
_INTEROP = ["webmentions", "flask", "sqlalchemy", "webmention"]


def missing(modules: list[str]) -> list[str]:
    """The modules of ``modules`` that cannot be imported here."""
    return [name for name in modules if importlib.util.find_spec(name) is None]


def requires_python_peers() -> pytest.MarkDecorator:
    """Skip unless the example project's and the Python peers' packages are installed."""
    absent = missing(_EXAMPLE + _INTEROP)
    return pytest.mark.skipif(
        bool(absent),
        reason=f"not installed: {', '.join(absent)}: pip install -e '.[example,interop]'"
        + (" (and '.[django52]' on Django 5.2)" if django.VERSION < (6,) else ""),
    )


@dataclass
class World:
    """The running sites: ours, the two Python peers, their processes and scratch space."""

    ours: DemoSite
    flask_peer: DemoSite
    django_peer: DemoSite
    processes: Processes
    pages: Path  # the Flask peer's posts, one HTML file per /posts/<name>


_world_key = pytest.StashKey[World]()


def _start_world(tmp: Path) -> World:
    port_ours, port_flask, port_django = free_ports(3)
    pages = tmp / "flask-peer-pages"
    pages.mkdir()
    # SQLite whatever BACKLINKS_TEST_DB says: this suite is about the peers, not databases.
    ours = DemoSite("ours", port_ours, tmp / "ours.sqlite3", {"BACKLINKS_TEST_DB": ""})
    flask_peer = DemoSite(
        "flask-peer",
        port_flask,
        tmp / "flask-peer.sqlite3",
        {"WM_PEER_DB": str(tmp / "flask-peer.sqlite3"), "WM_PEER_PAGES": str(pages)},
    )
    django_peer = DemoSite(
        "django-peer",
        port_django,
        tmp / "django-peer.sqlite3",
        {
            "DJANGO_SETTINGS_MODULE": "tests.interop.webmention_django_peer",
            "WM_PEER_DB": str(tmp / "django-peer.sqlite3"),
        },
    )
    processes = Processes(tmp)
    world = World(ours, flask_peer, django_peer, processes, pages)

    def set_up_ours() -> None:
        ours.manage("migrate", "--noinput", "--verbosity", "0")
        ours.manage("demo_setup", "--domain", f"127.0.0.1:{port_ours}", "--name", "Our site")

    try:
        with ThreadPoolExecutor(2) as pool:
            done = [
                pool.submit(set_up_ours),
                pool.submit(django_peer.manage, "migrate", "--noinput", "--verbosity", "0"),
            ]
            for future in done:
                future.result()
        python = sys.executable
        processes.start("ours web", ours, web_server_command(port_ours))
        processes.start(
            "ours worker",
            ours,
            [python, "manage.py", "db_worker", "--no-reload", "--interval", WORKER_INTERVAL],
        )
        processes.start(
            "flask peer",
            flask_peer,
            [python, "-m", "tests.interop.webmention_flask_peer", str(port_flask)],
        )
        processes.start(
            "django peer",
            django_peer,
            [python, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port_django}"],
        )
        for site in (ours, flask_peer, django_peer):
            processes.wait_until_serving(site)
    except BaseException:
        print(processes.logs())
        processes.stop()
        raise
    return world


@pytest.fixture(name="world")
def world_fixture(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> World:
    """All the sites, started on first use and stopped at the end of the session."""
    config = request.config
    world = config.stash.get(_world_key, None)
    if world is None:
        world = _start_world(tmp_path_factory.mktemp("interop-wm"))
        config.stash[_world_key] = world
        config.add_cleanup(world.processes.stop)
    return world


@pytest.fixture(name="logs_on_failure", autouse=False)
def logs_on_failure_fixture(request: pytest.FixtureRequest, world: World) -> Iterator[None]:
    """Print every process's log under a failed test ("Captured stdout teardown")."""
    failed_before = request.session.testsfailed
    yield
    if request.session.testsfailed > failed_before:
        print(world.processes.logs())


_remy_key = pytest.StashKey[Path | str]()


def _install_remy() -> Path | str:
    """The CLI's path once the install script has run (it does nothing when up to date),
    or why it cannot be had."""
    if shutil.which("npm") is None:
        return "npm is not installed (Node.js 18+ with npm; CI's machines have Node 20)"
    done = subprocess.run(
        [str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0 or not REMY_BIN.exists():
        return f"{INSTALL_SCRIPT.name} failed:\n{done.stdout}{done.stderr}"
    return REMY_BIN


@pytest.fixture(name="remy_cli")
def remy_cli_fixture(request: pytest.FixtureRequest) -> Path:
    """npm's ``@remy/webmention`` command, installed on first use (skips if it cannot be)."""
    found = request.config.stash.get(_remy_key, None)
    if found is None:
        found = _install_remy()
        request.config.stash[_remy_key] = found
    if isinstance(found, str):
        pytest.skip(f"@remy/webmention is not available: {found}")
    return found


def wait_for(check: Callable[[], T], timeout: float = POLL_TIMEOUT) -> T:
    """Call ``check`` until it returns something truthy or ``timeout`` passes; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def h_entry(url: str, name: str, body: str, *, author: str = "Peer Author") -> str:
    """An HTML page holding one h-entry: its name, an author h-card, ``body`` as content."""
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{name} | Peer</title>'
        f'<link rel="canonical" href="{url}"></head><body>'
        f'<article class="h-entry"><h1 class="p-name">{name}</h1>'
        f'<a class="u-url" href="{url}">permalink</a>'
        f'<p class="p-author h-card">{author}</p>'
        f'<div class="e-content">{body}</div></article></body></html>'
    )


def publish(
    site: DemoSite, slug: str, title: str, body: str, targets: list[str] | None = None
) -> list[dict[str, Any]]:
    """Publish an entry on our site; once its worker has sent to every one of ``targets``,
    the outbound rows of those targets."""
    return _save_and_wait(site, slug, targets or [], {"title": title, "body": body})


def save_and_send(
    site: DemoSite, slug: str, targets: list[str], body: str, *, timeout: float = POLL_TIMEOUT
) -> list[dict[str, Any]]:
    """Save an entry with a new ``body``; as :func:`publish`, waiting at most ``timeout``."""
    return _save_and_wait(site, slug, targets, {"body": body}, timeout)


def _save_and_wait(
    site: DemoSite,
    slug: str,
    targets: list[str],
    fields: dict[str, str],
    timeout: float = POLL_TIMEOUT,
) -> list[dict[str, Any]]:
    # One shell for both steps: each costs a Django start-up.
    return site.shell(  # type: ignore[no-any-return]
        """
        from django.utils import timezone
        from backlinks_django.models import OutboundPing
        from blog.models import Entry

        started = timezone.now()
        entry, _ = Entry.objects.get_or_create(
            slug=params["slug"], defaults={"published_at": started, "pings_open": True}
        )
        for name, value in params["fields"].items():
            setattr(entry, name, value)
        entry.save()  # queues the sending task at once (autocommit: on_commit runs now)
        rows = OutboundPing.objects.for_object(entry).filter(target_url__in=params["targets"])
        wait_until(
            lambda: rows.filter(sent_at__gte=started).count() == len(params["targets"]),
            timeout=params["poll_timeout"],
        )
        result = list(
            rows.order_by("target_url").values("target_url", "outcome", "protocol", "endpoint")
        )
        """,
        slug=slug,
        targets=targets,
        fields=fields,
        poll_timeout=timeout,
    )


def backlinks_from(site: DemoSite, source: str, *, settled: bool = True) -> list[dict[str, Any]]:
    """Our site's backlinks from ``source``, once its worker has verified every request."""
    return site.shell(  # type: ignore[no-any-return]
        """
        from backlinks_django.models import Backlink, InboundPing

        requests = InboundPing.objects.filter(source_url=params["source"])
        wait_until(
            lambda: requests.exists() and not requests.filter(state="queued").exists(),
            timeout=params["poll_timeout"] if params["settled"] else 0,
        )
        result = list(
            Backlink.objects.filter(source_url=params["source"]).values(
                "kind", "status", "target_url", "title", "mention_type", "author_name", "excerpt"
            )
        )
        """,
        source=source,
        settled=settled,
        poll_timeout=POLL_TIMEOUT,
    )
