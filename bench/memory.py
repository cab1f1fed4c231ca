"""Peak memory (RSS) of verifying an ENDLESS source page through the real pipeline.

A local server on 127.0.0.2 streams HTML forever (chunked, never ending). Each case runs in a
fresh subprocess, which configures Django (tests.settings with FETCH_MAX_BYTES set), verifies
a small page once to load everything, then measures around one call:

- ``fetch``: ``fetch.fetch(url, truncate=True)``, the body read up to the limit;
- ``verify``: ``verification.verify_source(...)``: the same fetch, then ``linksearch.find_link``.

RSS before is VmRSS just before the call; the peak is VmHWM after it (reset to the current RSS
first through /proc/self/clear_refs where the kernel allows it; otherwise ru_maxrss, which the
warm-up keeps close to RSS before). Sources: dense markup (a paragraph with a link every ~85
bytes), prose (text with a paragraph tag every 4 KB), and dense markup gzip-compressed (the
limit counts decompressed bytes). None links to the target, so verification ends in fault 17.

    python bench/memory.py            # FETCH_MAX_BYTES = 1,000,000 (the default)
    python bench/memory.py --quick    # FETCH_MAX_BYTES = 100,000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time
import zlib
from socketserver import BaseRequestHandler, ThreadingTCPServer

from _setup import ROOT

HOST = "127.0.0.2"
TARGET = "http://bench.example/articles/endless-target/"
GIVE_UP_AFTER = 1 << 30  # a client without a limit stops the server somewhere, not never

HEAD = b"<!DOCTYPE html><html><head><title>Endless</title></head><body>\n"
DENSE = b"".join(
    b'<p>Item %d of the endless list: <a href="https://spam%d.example/p/%d/">a link</a>.</p>\n'
    % (i, i % 50, i)
    for i in range(1000)
)
PROSE = (b"<p>" + b"endless words of prose without any link to the target " * 75 + b"</p>\n") * 8
CASES = {
    "dense": "markup: <p><a> every ~85 bytes",
    "prose": "prose: one <p> per 4 KB",
    "gzip": "markup, gzip (limit after inflating)",
}


# --- The endless server (parent process) ---------------------------------------------------------


class Endless(BaseRequestHandler):
    def handle(self) -> None:
        conn: socket.socket = self.request
        head = b""
        while b"\r\n\r\n" not in head:
            data = conn.recv(4096)
            if not data:
                return
            head += data
        path = head.split(b" ", 2)[1].decode()
        if path == "/small":
            body = HEAD + DENSE[:2000] + b"</body></html>"
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
            )
            return
        kind = path.strip("/")
        gzip = kind == "gzip"
        block = PROSE if kind == "prose" else DENSE
        compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        encoding = b"Content-Encoding: gzip\r\n" if gzip else b""
        try:
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                b"Transfer-Encoding: chunked\r\n" + encoding + b"\r\n"
            )
            sent = 0
            data = HEAD
            while sent < GIVE_UP_AFTER:
                if gzip:
                    data = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
                conn.sendall(b"%x\r\n%s\r\n" % (len(data), data))
                sent += len(data)
                data = block
        except OSError:
            pass  # the client stopped reading: that is the point


class Server(ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


# --- One measurement (child process) -------------------------------------------------------------


def rss_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


def reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
        return True
    except OSError:
        return False


def child(url: str, phase: str, limit: int) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django

    django.setup()
    import gc

    from django.contrib.sites.models import Site
    from django.test import override_settings

    from backlinks_django import fetch, verification
    from backlinks_django.exceptions import BacklinkError
    from backlinks_django.models import Kind
    from tests.settings import BACKLINKS

    site = Site(domain="bench.example")
    settings = {
        **BACKLINKS,
        "FETCH_MAX_BYTES": limit,
        "FETCH_DEADLINE": 60.0,
        "RATE_LIMIT_PER_FETCHED_HOST": None,
    }

    def run(source: str) -> tuple[int, str]:
        if phase == "fetch":
            response = fetch.fetch(source, truncate=True)
            return len(response.content), "truncated" if response.truncated else "complete"
        try:
            verification.verify_source(Kind.PINGBACK, source, TARGET, site)
        except BacklinkError as error:
            return 0, f"fault {error.fault_code}"
        return 0, "verified"

    with override_settings(BACKLINKS=settings):
        base = url.rsplit("/", 1)[0]
        run(f"{base}/small")  # imports, caches, first-use allocations
        gc.collect()
        before = rss_kb("VmRSS")
        exact = reset_peak()
        started = time.perf_counter()
        size, outcome = run(url)
        seconds = time.perf_counter() - started
        peak = rss_kb("VmHWM") if exact else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "before_kb": before,
                "peak_kb": peak,
                "bytes": size,
                "outcome": outcome,
                "seconds": seconds,
                "exact": exact,
            }
        )
    )


# --- Main ----------------------------------------------------------------------------------------


def measure(url: str, phase: str, limit: int) -> dict[str, object]:
    result = subprocess.run(  # noqa: S603 -- this script, run again as the measured child
        [sys.executable, __file__, "--child", url, "--phase", phase, "--limit", str(limit)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise SystemExit(f"memory.py: the {phase} subprocess for {url} failed")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="FETCH_MAX_BYTES = 100,000")
    parser.add_argument("--limit", type=int, help="FETCH_MAX_BYTES (default 1,000,000)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--phase", default="verify", help=argparse.SUPPRESS)
    args = parser.parse_args()
    limit = args.limit or (100_000 if args.quick else 1_000_000)
    if args.child:
        child(args.child, args.phase, limit)
        return

    server = Server((HOST, 0), Endless)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]

    import django

    print(
        f"Memory: verifying an endless source, FETCH_MAX_BYTES = {limit:,} bytes "
        f"(Python {sys.version.split()[0]}, Django {django.get_version()})"
    )
    print(
        f"{'source streams':<38}{'call':<8}{'RSS before':>11}{'peak':>10}{'growth':>10}"
        f"{'x limit':>9}{'time':>9}  result"
    )
    exact = True
    for kind, label in CASES.items():
        url = f"http://{HOST}:{port}/{kind}"
        for phase in ("fetch", "verify"):
            r = measure(url, phase, limit)
            exact = exact and bool(r["exact"])
            before, peak = int(r["before_kb"]), int(r["peak_kb"])  # type: ignore[call-overload]
            growth = (peak - before) * 1024
            outcome = str(r["outcome"])
            if phase == "fetch":
                outcome = f"{r['bytes']:,} bytes read, {outcome}"
            print(
                f"{label:<38}{phase:<8}{before / 1024:>9.1f}MB{peak / 1024:>8.1f}MB"
                f"{growth / 1e6:>8.1f}MB{growth / limit:>9.1f}"
                f"{float(r['seconds']) * 1000:>7.0f}ms  {outcome}"  # type: ignore[arg-type]
            )
    server.shutdown()
    how = "VmHWM after /proc/self/clear_refs" if exact else "ru_maxrss (clear_refs refused)"
    print(
        f"peak: {how}; growth = peak - RSS before; 'x limit' = growth / FETCH_MAX_BYTES. "
        f"verify = fetch + find_link (fault 17: no link to the target)."
    )


if __name__ == "__main__":
    main()
