"""The example project run as one site: its processes, its database, its URLs.

Each site is its own SQLite database (``DEMO_DB``), a web server and ``db_worker`` processes,
all real subprocesses of ``example_project/manage.py`` (or gunicorn). Tests see a site only
from outside: over HTTP, or through :meth:`DemoSite.shell`, a ``manage.py shell``
subprocess on the site's database.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLE_PROJECT = REPOSITORY / "example_project"
# example_project.settings with the per-site overrides the suite needs.
SETTINGS_MODULE = "tests.e2e.example_settings"

# Seconds for both web servers to answer, and for a stopped process group to exit.
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0


def http() -> requests.Session:
    """A session that ignores proxy variables: every request here goes to 127.0.0.1."""
    session = requests.Session()
    session.trust_env = False
    return session


# Run before a DemoSite.shell() snippet: its parameters, and a polling helper.
SHELL_PRELUDE = '''
import json as _json, os as _os, time as _time
params = _json.loads(_os.environ["E2E_PARAMS"])
result = None

def wait_until(check, timeout):
    """Call check() until it returns something truthy or timeout seconds pass; return that."""
    deadline = _time.monotonic() + timeout
    while True:
        value = check()
        if value or _time.monotonic() > deadline:
            return value
        _time.sleep(0.1)
'''
RESULT_MARK = "E2E-RESULT "
SHELL_EPILOGUE = f"\nprint({RESULT_MARK!r} + _json.dumps(result, default=str))\n"


@dataclass
class DemoSite:
    """One example site: its name, port, SQLite file and settings (environment variables)."""

    name: str
    port: int
    db: Path
    # For tests/e2e/example_settings.py: E2E_SEND_PROTOCOLS, E2E_PGDATABASE.
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)  # pytest-django set DJANGO_SETTINGS_MODULE=tests.settings here
        python_path = [str(REPOSITORY), *filter(None, [env.get("PYTHONPATH")])]
        env.update(
            DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
            PYTHONPATH=os.pathsep.join(python_path),
            DEMO_DB=str(self.db),
            PYTHONUNBUFFERED="1",
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
        )
        env.update(self.settings)
        env.update(extra)
        return env

    def manage(self, *args: str, timeout: float = 180, **env: str) -> str:
        """Run ``manage.py ARGS`` to completion on this site; return its output."""
        completed = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=EXAMPLE_PROJECT,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if completed.returncode != 0:
            raise AssertionError(
                f"site {self.name}: manage.py {args[0]} exited with {completed.returncode}\n"
                f"--- stdout\n{completed.stdout}--- stderr\n{completed.stderr}"
            )
        return completed.stdout

    def shell(self, code: str, timeout: float = 60, **params: Any) -> Any:
        """Run ``code`` in ``manage.py shell`` on this site's database; return its ``result``.

        The code sees ``params`` (the keyword arguments, through JSON) and ``wait_until``;
        it sets ``result`` to something JSON can encode.
        """
        script = SHELL_PRELUDE + textwrap.dedent(code) + SHELL_EPILOGUE
        output = self.manage(
            "shell", "--no-imports", "-c", script, timeout=timeout, E2E_PARAMS=json.dumps(params)
        )
        for line in reversed(output.splitlines()):
            if line.startswith(RESULT_MARK):
                return json.loads(line.removeprefix(RESULT_MARK))
        raise AssertionError(f"site {self.name}: the shell printed no result:\n{output}")

    def set_up(self, peer: DemoSite) -> None:
        """Migrate the site's database and add the demo data, linking to ``peer``."""
        self.manage("migrate", "--noinput", "--verbosity", "0")
        self.manage(
            "demo_setup",
            "--domain",
            f"127.0.0.1:{self.port}",
            "--name",
            f"Demo site {self.name}",
            "--peer",
            peer.base_url,
            "--peer-name",
            f"site {peer.name}",
        )


def web_server_command(port: int) -> list[str]:
    """gunicorn (a real WSGI server, two worker processes) if installed, else runserver.

    ``E2E_WEB_SERVER=runserver`` or ``gunicorn`` chooses.
    """
    default = "gunicorn" if importlib.util.find_spec("gunicorn") is not None else "runserver"
    if os.environ.get("E2E_WEB_SERVER", default) == "gunicorn":
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "example_project.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--preload",  # one Django start per site, before forking
            "--graceful-timeout",
            "2",
            "--access-logfile",
            "-",
        ]
    return [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]


def free_ports(count: int) -> list[int]:
    """Loopback ports nothing listens on (held open together, so they differ)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class Processes:
    """Long-running subprocesses, each in its own process group, logging to a file."""

    log_dir: Path
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name.replace(' ', '-')}.log"

    def start(self, name: str, site: DemoSite, command: list[str]) -> None:
        with self.log_path(name).open("wb") as log:
            self.running[name] = subprocess.Popen(
                command,
                cwd=EXAMPLE_PROJECT,
                env=site.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: gunicorn's workers too
            )

    def check_alive(self, *names: str) -> None:
        """Fail if one of the processes ``names`` (default: all) has exited."""
        for name, process in self.running.items():
            if (not names or name in names) and process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode}")

    def wait_until_serving(self, site: DemoSite) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        with http() as session:
            while True:
                self.check_alive()
                try:
                    if session.get(site.url("/"), timeout=2).status_code == 200:
                        return
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"site {site.name} did not answer on {site.base_url}")
                time.sleep(0.1)

    def logs(self) -> str:
        parts = []
        for name, process in self.running.items():
            path = self.log_path(name)
            text = path.read_text(errors="replace") if path.exists() else ""
            state = "running" if process.poll() is None else f"exited {process.returncode}"
            parts.append(f"===== {name} ({state}; {path}) =====\n{text}")
        return "\n".join(parts)

    def stop(self) -> None:
        """SIGTERM every process group, SIGKILL what is left after STOP_TIMEOUT."""
        for process in self.running.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in self.running.values():
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for process in self.running.values():
            # Also catches a group's stragglers whose leader already exited.
            _signal_group(process, signal.SIGKILL)
            process.wait()


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


@dataclass
class Sites:
    a: DemoSite
    b: DemoSite
    processes: Processes


def using_postgres() -> bool:
    """Whether the suite runs on PostgreSQL (``BACKLINKS_TEST_DB=postgres``, as tests/settings.py)."""
    return os.environ.get("BACKLINKS_TEST_DB") == "postgres"


@contextmanager
def postgres_databases(*names: str) -> Iterator[None]:
    """Fresh, empty PostgreSQL databases ``names`` on the server the ``PG*`` variables name."""
    import psycopg
    from psycopg import sql

    def connect() -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=os.environ.get("PGHOST", "127.0.0.1"),
            port=os.environ.get("PGPORT", "5432"),
            user=os.environ.get("PGUSER", "postgres"),
            password=os.environ.get("PGPASSWORD", ""),
            dbname="postgres",
            autocommit=True,
        )

    def drop_all(connection: psycopg.Connection[Any]) -> None:
        for name in names:
            # FORCE (PostgreSQL 13+): a killed worker's connection may linger a moment.
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    with connect() as connection:
        drop_all(connection)
        for name in names:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield
    finally:
        with connect() as connection:
            drop_all(connection)
