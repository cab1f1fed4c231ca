"""Bench-only name resolution: names the benchmark serves map to loopback, nothing is looked up.

``BENCH_HOSTS`` holds ``suffix=address`` pairs separated by commas: a host equal to a suffix or
ending in ``.suffix`` resolves to that address (so 1,000 subdomains of one domain cost no DNS).
IP literals resolve to themselves; any other name fails as an unknown host would, without a
query, so no benchmark asks a DNS server anything.
"""

from __future__ import annotations

import ipaddress
import os


def hosts() -> dict[str, str]:
    """The suffixes and addresses of ``BENCH_HOSTS``."""
    pairs = [pair.split("=", 1) for pair in os.environ.get("BENCH_HOSTS", "").split(",") if pair]
    return {suffix.lower(): address for suffix, address in pairs}


def resolve(host: str, port: int) -> list[str]:
    """``backlinks_django.fetch.resolve_host`` for the benchmarks (same signature)."""
    from backlinks_django.exceptions import ConnectionFailed

    name = host.strip("[]").rstrip(".").lower()
    try:
        return [str(ipaddress.ip_address(name))]
    except ValueError:
        pass
    for suffix, address in hosts().items():
        if name == suffix or name.endswith(f".{suffix}"):
            return [address]
    raise ConnectionFailed(f"The host {host} could not be resolved.")


def install() -> None:
    """Make the fetcher resolve through :func:`resolve` in this process."""
    from backlinks_django import fetch

    fetch.resolve_host = resolve
