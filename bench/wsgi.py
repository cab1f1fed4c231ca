"""WSGI entry point of the app served by bench/inbound.py and bench/inbound_attack.py.

Two bench-only changes to the app, neither of which a site should copy:

- a request's ``X-Bench-Client-Addr`` header becomes its ``REMOTE_ADDR`` (the attack benchmark
  sends pings "from" 1,000 addresses of one IPv6 /64 while every client is on 127.0.0.1);
- the fetcher resolves names through bench/_loopback.py (``BENCH_HOSTS``), never through DNS.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

from django.core.wsgi import get_wsgi_application

from bench import _loopback

_django = get_wsgi_application()
_loopback.install()


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The Django app, with the client address taken from the bench's header when present."""
    address = environ.get("HTTP_X_BENCH_CLIENT_ADDR")
    if address:
        environ["REMOTE_ADDR"] = address
    return _django(environ, start_response)
