"""The Redis server of the tests: ``scripts/start-redis`` on 127.0.0.1 (``REDIS_PORT``, 6390).

Tests that need Redis call :func:`redis_url`; where the script can start no server (no
``redis-server`` and no right to install Debian's package) they are skipped with that reason.
CI installs it. Each caller takes its own database number, so runs never see each other's keys.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
PORT = int(os.environ.get("REDIS_PORT", "6390"))


@functools.cache
def _start() -> str:
    """'' once a server answers, else why not."""
    try:
        completed = subprocess.run(
            [str(REPOSITORY / "scripts" / "start-redis")],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"scripts/start-redis could not run: {error}"
    if completed.returncode != 0:
        return f"scripts/start-redis could not start Redis: {completed.stderr.strip()[-300:]}"
    return ""


def redis_url(database: int) -> str:
    """``redis://`` URL of ``database`` on the tests' server, emptied; skip if no server."""
    if why := _start():
        pytest.skip(why)
    import redis

    # scripts/test runs two pytest processes at once, each shifting the numbers by its own
    # offset so that neither empties the other's database.
    database = (database + int(os.environ.get("BACKLINKS_TEST_REDIS_OFFSET", "0"))) % 16
    url = f"redis://127.0.0.1:{PORT}/{database}"
    redis.Redis.from_url(url).flushdb()
    return url
