"""A task worker of the benchmarks: ``manage.py db_worker`` on bench/settings.py.

Run with ``BENCH_TASKS=db`` and the bench database's environment by bench/inbound.py and
bench/inbound_attack.py; the fetcher resolves names through bench/_loopback.py, as the served
app does. Arguments are db_worker's.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django
from django.core.management import call_command

from bench import _loopback

if __name__ == "__main__":
    django.setup()
    _loopback.install()
    call_command("db_worker", *sys.argv[1:])
