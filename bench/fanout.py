"""Outbound fan-out: one entry linking N targets on N local peers, each answering slowly.

Every peer is its own host (127.0.0.2, 127.0.0.3, ...) and adds DELAY seconds to
each answer; a ping costs two requests (discovery GET, pingback POST). The same
sending code runs twice: with the default concurrency and with one link at a
time (the sequential baseline, which is how WordPress sends).

    python bench/fanout.py            # 100 peers, 200 ms each
    python bench/fanout.py --quick    # 10 peers, 50 ms each (CI: keeps the script alive)
"""

from __future__ import annotations

import argparse
import threading
import time
import xmlrpc.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from _setup import django_with_database


def start_peer(host: str, delay: float) -> ThreadingHTTPServer:
    class Peer(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            time.sleep(delay)
            body = b"<html><head><title>Peer</title></head><body>Peer post</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("X-Pingback", f"http://{host}:{self.server.server_port}/xmlrpc")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(delay)
            body = xmlrpc.client.dumps(("Registered",), methodresponse=True).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer((host, 0), Peer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run(peers: list[ThreadingHTTPServer], concurrency: int) -> tuple[float, int]:
    from django.test import override_settings
    from django.utils import timezone

    from backlinks_django import send
    from backlinks_django.models import OutboundPing, Outcome
    from tests.testapp.models import Article

    links = "".join(
        f'<p><a href="http://{p.server_address[0]}:{p.server_port}/post">peer</a></p>'
        for p in peers
    )
    OutboundPing.objects.all().delete()
    Article.objects.all().delete()
    article = Article.objects.create(
        title="Fan-out", slug="fan-out", body=links, published_at=timezone.now()
    )
    OutboundPing.objects.all().delete()  # the immediate backend may have sent on save
    settings = {
        "ALLOWED_NETWORKS": ["127.0.0.0/8"],
        "ALLOWED_PORTS": None,
        "SCHEME": "http",
        "SEND_CONCURRENCY": concurrency,
        "SEND_DEADLINE": 600.0,
    }
    with override_settings(BACKLINKS=settings):
        started = time.perf_counter()
        send.send_object(article)
        elapsed = time.perf_counter() - started
    delivered = OutboundPing.objects.filter(outcome=Outcome.SUCCESS).count()
    return elapsed, delivered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 peers, 50 ms")
    parser.add_argument("--peers", type=int)
    parser.add_argument("--delay", type=float)
    args = parser.parse_args()
    count = args.peers or (10 if args.quick else 100)
    delay = args.delay if args.delay is not None else (0.05 if args.quick else 0.2)

    django_with_database()
    from django.contrib.sites.models import Site

    from backlinks_django.conf import app_settings

    Site.objects.filter(pk=1).update(domain="bench.example")
    peers = [start_peer(f"127.0.0.{i + 2}", delay) for i in range(count)]
    one_peer = 2 * delay  # discovery + ping
    default = app_settings.SEND_CONCURRENCY

    concurrent, ok_c = run(peers, default)
    sequential, ok_s = run(peers, 1)

    print(f"Outbound fan-out: {count} links on {count} hosts, each answer +{delay * 1000:.0f} ms")
    print(f"{'mode':<34}{'wall time':>12}{'delivered':>12}{'x one peer':>12}")
    for label, seconds, ok in (
        ("sequential (1 at a time)", sequential, ok_s),
        (f"concurrent (SEND_CONCURRENCY={default})", concurrent, ok_c),
    ):
        print(f"{label:<34}{seconds:>11.2f}s{ok:>12}{seconds / one_peer:>12.1f}")
    print(f"speed-up: {sequential / concurrent:.1f}x")
    # Timings are never judged, but a run that delivered nothing measured nothing.
    if ok_c != count or ok_s != count:
        raise SystemExit(f"error: {count} links, {ok_c} and {ok_s} delivered")
    # The peers' threads are daemons: they end with the process.


if __name__ == "__main__":
    main()
