from __future__ import annotations

import ipaddress
import os
import socket
import xmlrpc.client
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.sites.models import Site
from django.test import Client
from django.utils import timezone
from hypothesis import settings as hypothesis_settings
from pytest_httpserver import HTTPServer

from backlinks_django.models import Backlink, Kind, Status
from tests.testapp.models import Article

TARGET_HOST = "http://testserver"

# Property tests judge behaviour, not speed: a busy CI machine must not fail them on
# hypothesis's 200 ms per-example deadline.
hypothesis_settings.register_profile("backlinks", deadline=None)
# CI replays the same examples every run (a gate must not turn red on a new random draw);
# local runs keep exploring new inputs, and what they find is pinned with @example.
hypothesis_settings.register_profile("ci", deadline=None, derandomize=True)
hypothesis_settings.load_profile(os.environ.get("BACKLINKS_HYPOTHESIS_PROFILE", "backlinks"))


@pytest.fixture
def site(db: None) -> Site:
    site = Site.objects.get(pk=1)
    site.domain = "testserver"
    site.name = "Test site"
    site.save()
    return site


@pytest.fixture
def article(site: Site) -> Article:
    return Article.objects.create(
        title="Target article",
        slug="target",
        body="<p>Hello</p>",
        published_at=timezone.now() - timezone.timedelta(days=1),
    )


@pytest.fixture
def article_url(article: Article) -> str:
    return f"{TARGET_HOST}{article.get_absolute_url()}"


def page_linking_to(
    target: str, title: str = "Source post", before: str = "", after: str = ""
) -> str:
    """An HTML page whose paragraph links to ``target``."""
    return (
        f"<html><head><title>{title}</title></head><body>"
        f'<p>{before or "Words before the link"} <a href="{target}">the target</a> '
        f"{after or 'and words after it.'}</p></body></html>"
    )


@pytest.fixture
def serve_source(httpserver: HTTPServer) -> Callable[..., str]:
    """Serve ``html`` at ``path`` on the local peer and return its URL."""

    def serve(html: str, path: str = "/source", status: int = 200) -> str:
        httpserver.expect_request(path).respond_with_data(
            html, status=status, content_type="text/html; charset=utf-8"
        )
        return httpserver.url_for(path)

    return serve


@pytest.fixture
def xmlrpc_call(client: Client) -> Callable[..., Any]:
    """Call a method on the XML-RPC endpoint through the test client; faults raise."""

    def call(method: str, *params: Any) -> Any:
        body = xmlrpc.client.dumps(params, method)
        response = client.post("/backlinks/xmlrpc/", body, content_type="text/xml")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/xml")
        (result,), _ = xmlrpc.client.loads(response.content)
        return result

    return call


@pytest.fixture
def make_backlink(article: Article, site: Site) -> Callable[..., Backlink]:
    counter = iter(range(1, 10_000))

    def make(status: str = Status.PENDING, **fields: Any) -> Backlink:
        n = next(counter)
        defaults: dict[str, Any] = {
            "kind": Kind.PINGBACK,
            "status": status,
            "site": site,
            "target": article,
            "target_url": f"{TARGET_HOST}{article.get_absolute_url()}",
            "source_url": f"http://peer{n}.example/post/{n}",
            "title": f"Peer post {n}",
            "excerpt": f"Excerpt {n}",
        }
        defaults.update(fields)
        return Backlink.objects.create(**defaults)

    return make


@pytest.fixture
def editor(db: None) -> User:
    """A staff user who may view and moderate backlinks, but is no superuser."""
    user = User.objects.create_user("editor", password="pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="backlinks_django",
            codename__in=["view_backlink", "moderate_backlink"],
        )
    )
    return user


@pytest.fixture
def unused_port() -> int:
    """A loopback port with nothing listening."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _names_no_dns_server(host: str) -> bool:
    """Whether resolving ``host`` stays on this machine: numeric forms and localhost names."""
    name = host.rstrip(".").lower()
    if name in ("localhost", "localhost.localdomain") or name.endswith(".localhost"):
        return True
    try:
        socket.inet_aton(name)  # every numeric IPv4 form the resolver accepts: 127.1, 0x7f.1
        return True
    except OSError:
        pass
    try:
        ipaddress.ip_address(name.strip("[]").partition("%")[0])
        return True
    except ValueError:
        return False


@pytest.fixture(autouse=True, scope="session")
def _no_dns_queries() -> Iterator[None]:
    """Tests never reach the internet, DNS servers included: other names do not resolve."""
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode("ascii", "replace") if isinstance(host, bytes) else str(host or "")
        if not _names_no_dns_server(name):
            raise socket.gaierror(socket.EAI_NONAME, f"tests do not resolve {name!r}")
        if name.rstrip(".").lower().endswith(".localhost"):  # RFC 6761, without asking a server
            host = "localhost"
        return real(host, *args, **kwargs)

    socket.getaddrinfo = guarded
    try:
        yield
    finally:
        socket.getaddrinfo = real


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """Rate-limit counters live in the local-memory cache: start every test at zero."""
    from django.core.cache import caches

    for cache in caches.all():
        cache.clear()


@pytest.fixture(autouse=True)
def _fresh_recent_reads() -> None:
    """Answers remember targets, switches and blocked domains for a moment: a test starts
    with none of them."""
    from backlinks_django.admission import forget_recent

    forget_recent()


class ThrottleClock:
    """The rate limits' clock, standing still unless a test moves it on.

    The limits count in fixed windows of wall-clock time (backlinks_django.throttle): on
    the real clock a test that pings twice can straddle a window boundary and see its
    second ping counted afresh. The start value is a multiple of 3600, so every test
    begins at the start of any window that divides an hour.
    """

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def throttle_clock(monkeypatch: pytest.MonkeyPatch) -> ThrottleClock:
    from backlinks_django import throttle

    clock = ThrottleClock()
    monkeypatch.setattr(throttle, "time", clock)
    return clock


INLINE_PREFIX = "backlinks_django-outboundping-content_type-object_id"
LINKS_PREFIX = "backlinks_django-links"


def post_trackback_inline(
    client: Client, article: Article, *urls: str, existing: dict[int, str] | None = None
) -> Any:
    """Save ``article`` in its admin with the TrackBack inline holding ``urls`` as new rows
    and ``existing`` ({row pk: URL}) as the rows already there. Tasks go to the DummyBackend."""
    from django.test import override_settings

    from tests.helpers import DUMMY_TASKS

    existing = existing or {}
    data = {
        "title": article.title,
        "slug": article.slug,
        "body": article.body,
        "published_at_0": article.published_at.strftime("%Y-%m-%d"),
        "published_at_1": article.published_at.strftime("%H:%M:%S"),
        "pings_open": "on",
        f"{INLINE_PREFIX}-TOTAL_FORMS": str(len(existing) + len(urls)),
        f"{INLINE_PREFIX}-INITIAL_FORMS": str(len(existing)),
        # The links inline beside it, left as it is.
        f"{LINKS_PREFIX}-TOTAL_FORMS": "0",
        f"{LINKS_PREFIX}-INITIAL_FORMS": "0",
    }
    rows = [(pk, url) for pk, url in existing.items()] + [(None, url) for url in urls]
    for i, (pk, url) in enumerate(rows):
        if pk is not None:
            data[f"{INLINE_PREFIX}-{i}-id"] = str(pk)
        data[f"{INLINE_PREFIX}-{i}-target_url"] = url
    with override_settings(TASKS=DUMMY_TASKS):
        return client.post(f"/admin/testapp/article/{article.pk}/change/", data)


@pytest.fixture
def queued(site: Site) -> Iterator[list[Any]]:
    """What the test queues on the tasks backend (the DummyBackend: nothing runs)."""
    from tests.helpers import dummy_tasks

    with dummy_tasks() as results:
        yield results


call_report_key = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Lets a fixture's teardown see whether its test failed (pytest's documented recipe).
    report = yield
    if report.when == "call":
        item.stash[call_report_key] = report
    return report
