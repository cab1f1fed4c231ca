"""Pingback peers of the sending benchmarks: one small HTTP server per loopback address.

Each peer (127.0.0.2, 127.0.0.3, ...) answers a GET with a page that advertises its pingback
server (``X-Pingback``) and a POST with a successful pingback answer, each after ``delay``
seconds, and notes the time (``time.time()``) at which it answered each POST: the moment the
peer has its ping. One asyncio loop serves every peer, so 50 peers cost one thread and 100
concurrent requests no more; every answer closes its connection, as the fetcher's requests
are one per connection.

In the benchmark's process (bench/fanout.py)::

    peers = Peers([f"127.0.0.{i}" for i in range(2, 52)], delay=0.2)
    peers.start()
    peers.addresses            # [(host, port), ...]
    peers.posts_under("/r3/")  # times of the POSTs answered for paths starting with /r3/

In a process of its own (bench/send_throughput.py), so that answering 100,000 requests shares
no interpreter with the measuring process::

    python bench/_peers.py --count 50 --delay 0
    # prints one JSON line {"peers": [[host, port], ...], "control": port}, then serves until
    # its standard input closes; GET http://127.0.0.1:CONTROL/stats answers JSON counts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
import xmlrpc.client
from collections import defaultdict

PAGE = b"<html><head><title>Peer</title></head><body>Peer post</body></html>"
ANSWER = xmlrpc.client.dumps(("Registered",), methodresponse=True).encode()


def loopback_hosts(count: int, first: int = 2) -> list[str]:
    """``count`` loopback addresses from 127.0.0.FIRST on (then 127.0.1.x, ...)."""
    return [f"127.0.{n // 256}.{n % 256}" for n in range(first, first + count)]


class Peers:
    """Pingback peers on ``hosts``, each answering after ``delay`` seconds."""

    def __init__(self, hosts: list[str], delay: float) -> None:
        self.hosts = hosts
        self.delay = delay
        self.addresses: list[tuple[str, int]] = []
        self.gets = 0
        # "host:port/path" -> the times its POSTs were answered (more than one: a duplicate).
        self.posts: dict[str, list[float]] = defaultdict(list)
        self.post_count = 0
        # "host:port/path" -> the times its GETs arrived (before the delay).
        self.get_times: dict[str, list[float]] = defaultdict(list)
        self.last_post = 0.0
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()

    # --- running -------------------------------------------------------------------------------

    def start(self) -> None:
        """Serve in a daemon thread of this process; return once every peer listens."""
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.listen())
        self._ready.set()
        self.loop.run_forever()

    async def listen(self) -> None:
        for host in self.hosts:
            server = await asyncio.start_server(self._handle, host, 0, backlog=1024)
            self.addresses.append((host, server.sockets[0].getsockname()[1]))

    # --- what was received ---------------------------------------------------------------------

    def posts_under(self, prefix: str) -> list[float]:
        """Times of the POSTs answered for paths starting with ``prefix``, duplicates too."""
        return _under(self.posts, prefix)

    def gets_under(self, prefix: str) -> list[float]:
        """Times the GETs for paths starting with ``prefix`` arrived."""
        return _under(self.get_times, prefix)

    def stats(self) -> dict[str, float]:
        return {
            "gets": self.gets,
            "posts": self.post_count,
            "duplicates": sum(len(t) - 1 for t in list(self.posts.values())),
            "last_post": self.last_post,
        }

    # --- HTTP ----------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path = lines[0].split(" ")[:2]
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in lines[1:] if line)
            }
            length = int(headers.get("content-length", "0") or 0)
            if length:
                await reader.readexactly(length)
            host, port = writer.get_extra_info("sockname")[:2]
            if method == "GET" and path != "/stats":
                self.get_times[f"{host}:{port}{path}"].append(time.time())
            if path == "/stats":
                body = json.dumps(self.stats()).encode()
                extra = "Content-Type: application/json\r\n"
            else:
                if self.delay:
                    await asyncio.sleep(self.delay)
                if method == "POST":
                    body, extra = ANSWER, "Content-Type: text/xml\r\n"
                else:
                    # The pingback server's URL carries the page's path, so that each POST
                    # names the link it is for without parsing the XML-RPC call.
                    body = PAGE
                    extra = (
                        "Content-Type: text/html\r\n"
                        f"X-Pingback: http://{host}:{port}/xmlrpc{path}\r\n"
                    )
            writer.write(
                f"HTTP/1.1 200 OK\r\n{extra}Content-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
            if method == "POST":
                now = time.time()
                self.post_count += 1
                self.last_post = now
                self.posts[f"{host}:{port}{path.removeprefix('/xmlrpc')}"].append(now)
            elif path != "/stats":
                self.gets += 1
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()


def _under(times: dict[str, list[float]], prefix: str) -> list[float]:
    return [
        t
        for key, values in list(times.items())
        if ("/" + key.partition("/")[2]).startswith(prefix)
        for t in values
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    peers = Peers(loopback_hosts(args.count), args.delay)
    peers.start()

    async def control() -> int:
        server = await asyncio.start_server(peers._handle, "127.0.0.1", 0)
        return int(server.sockets[0].getsockname()[1])

    port = asyncio.run_coroutine_threadsafe(control(), peers.loop).result()
    print(json.dumps({"peers": peers.addresses, "control": port}), flush=True)
    sys.stdin.read()  # until the benchmark closes our standard input (or ends)


if __name__ == "__main__":
    main()
