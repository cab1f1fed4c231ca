"""A task worker of the benchmarks on bench/settings.py: ``manage.py db_worker`` with
``BENCH_TASKS=db``, ``manage.py rqworker`` with ``BENCH_TASKS=rq``.

Run with the bench database's environment by bench/inbound.py, bench/inbound_attack.py,
bench/fanout.py and bench/send_throughput.py (through bench/_workers.py); the fetcher resolves
names through bench/_loopback.py, as the served app does. Arguments are the command's.
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
    command = "rqworker" if os.environ.get("BENCH_TASKS") == "rq" else "db_worker"
    call_command(command, *sys.argv[1:])
