"""The built-in spam checks, alone and through the receive pipeline."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, quote_plus, urlsplit

import httpx
import pytest
from django.contrib.contenttypes.models import ContentType
from django.contrib.sites.models import Site
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request

from backlinks_django import limits, spam
from backlinks_django.html import to_plain_text
from backlinks_django.models import Backlink, Kind, SiteSettings, Status
from backlinks_django.spam import Candidate, Decision, Verdict
from tests.conftest import page_linking_to
from tests.settings import BACKLINKS as BASE

SOURCE = "http://peer.example/2024/05/a-post/"
TARGET = "http://testserver/articles/target/"
KEY = "akismet-test-key-123"


def backlinks(**values: object) -> override_settings:
    """``BACKLINKS`` of the test settings with ``values`` on top."""
    return override_settings(BACKLINKS={**BASE, **values})


def candidate(
    *,
    kind: str = Kind.TRACKBACK,
    title: str = "",
    excerpt: str = "",
    blog_name: str = "",
    author_name: str = "",
    source_url: str = SOURCE,
    remote_ip: str | None = "203.0.113.7",
    verified: bool = True,
    site: Site | None = None,
) -> Candidate:
    """A candidate as the pipeline builds it: raw sender's fields, cropped plain-text backlink."""
    backlink = Backlink(
        kind=kind,
        site=site or Site(pk=1, domain="blog.example"),
        target_url=TARGET,
        source_url=source_url,
        title=to_plain_text(title, limits.TITLE),
        excerpt=to_plain_text(excerpt, limits.EXCERPT),
        blog_name=to_plain_text(blog_name, 255),
        author_name=author_name,
        remote_ip=remote_ip,
        user_agent="PeerBlog/2.0",
    )
    return Candidate(
        backlink=backlink,
        kind=Kind(kind),
        source_url=source_url,
        target_url=TARGET,
        title=title,
        excerpt=excerpt,
        blog_name=blog_name,
        author=author_name,
        remote_ip=remote_ip,
        user_agent="PeerBlog/2.0",
        verified=verified,
    )


def anchors(*urls: str) -> str:
    return " ".join(f'<a href="{url}">post</a>' for url in urls)


# run_checks


def approve_everything(candidate: Candidate) -> Verdict:
    return Verdict(Decision.APPROVE, "Approved by the test check")


def accept_everything(candidate: Candidate) -> Verdict:
    return Verdict(Decision.ACCEPT)


def spam_everything(candidate: Candidate) -> Verdict:
    return Verdict(Decision.SPAM, "Flagged by the test check")


def test_an_approving_check_decides_and_later_checks_do_not_run():
    with backlinks(SPAM_CHECKS=[f"{__name__}.approve_everything", f"{__name__}.spam_everything"]):
        verdict = spam.run_checks(candidate())

    assert verdict == Verdict(Decision.APPROVE, "Approved by the test check")


def test_an_accepting_check_lets_the_next_check_decide():
    with backlinks(SPAM_CHECKS=[f"{__name__}.accept_everything", f"{__name__}.spam_everything"]):
        verdict = spam.run_checks(candidate())

    assert verdict == Verdict(Decision.SPAM, "Flagged by the test check")


def test_checks_listed_under_the_old_key_still_run():
    with override_settings(BACKLINKS={**BASE, "CHECKS": [f"{__name__}.spam_everything"]}):
        verdict = spam.run_checks(candidate())

    assert verdict == Verdict(Decision.SPAM, "Flagged by the test check")


def test_the_new_key_wins_over_the_old_one():
    with backlinks(
        SPAM_CHECKS=[f"{__name__}.approve_everything"], CHECKS=[f"{__name__}.spam_everything"]
    ):
        verdict = spam.run_checks(candidate())

    assert verdict == Verdict(Decision.APPROVE, "Approved by the test check")


# blocked_keywords


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"title": "Win at the CASINO tonight"}, "title"),
        ({"excerpt": "<p>Our <b>Casino</b> pays out</p>"}, "excerpt"),
        ({"blog_name": "casino news"}, "blog name"),
        ({"author_name": "Casino Carl"}, "author name"),
        ({"source_url": "http://peer.example/best-casino-2024/"}, "source URL"),
    ],
)
def test_blocked_keyword_is_spam_naming_keyword_and_field(fields, where):
    with backlinks(BLOCKED_KEYWORDS=["poker", "casino"]):
        verdict = spam.blocked_keywords(candidate(**fields))

    assert verdict == Verdict(Decision.SPAM, f"Blocked keyword 'casino' in the {where}")


@pytest.mark.parametrize("title", ["Casinos of Monaco", "Encasino", "casino2go"])
def test_blocked_keyword_must_be_a_whole_word(title):
    with backlinks(BLOCKED_KEYWORDS=["casino"]):
        assert spam.blocked_keywords(candidate(title=title)) is None


@pytest.mark.parametrize(
    "text",
    ["Buy cheap   pills here", "CHEAP\nPILLS", "/cheap-pills/", "cheap_pills"],
)
def test_blocked_phrase_matches_across_separators_and_case(text):
    with backlinks(BLOCKED_KEYWORDS=["cheap pills"]):
        verdict = spam.blocked_keywords(candidate(excerpt=text))

    assert verdict is not None
    assert verdict.reason == "Blocked keyword 'cheap pills' in the excerpt"


def test_blocked_keyword_in_a_percent_encoded_source_url_is_found():
    with backlinks(BLOCKED_KEYWORDS=["cheap pills"]):
        verdict = spam.blocked_keywords(candidate(source_url="http://peer.example/cheap%20pills"))

    assert verdict is not None
    assert verdict.decision is Decision.SPAM


def test_blank_blocked_keywords_match_nothing():
    with backlinks(BLOCKED_KEYWORDS=["", "   "]):
        assert spam.blocked_keywords(candidate(title="Anything at all")) is None


# too_many_links


def test_more_anchors_than_allowed_in_the_excerpt_is_spam():
    excerpt = anchors(*(f"http://shop{n}.example/" for n in range(4)))

    with backlinks(MAX_LINKS_IN_EXCERPT=3):
        verdict = spam.too_many_links(candidate(excerpt=excerpt))

    assert verdict == Verdict(Decision.SPAM, "4 links in the excerpt (limit 3)")


def test_as_many_links_as_allowed_pass():
    excerpt = anchors(*(f"http://shop{n}.example/" for n in range(3)))

    with backlinks(MAX_LINKS_IN_EXCERPT=3):
        assert spam.too_many_links(candidate(excerpt=excerpt)) is None


def test_bare_urls_in_the_excerpt_count_as_links():
    excerpt = "Visit http://a.example, https://b.example/x and HTTP://c.example/y."

    with backlinks(MAX_LINKS_IN_EXCERPT=2):
        verdict = spam.too_many_links(candidate(excerpt=excerpt))

    assert verdict == Verdict(Decision.SPAM, "3 links in the excerpt (limit 2)")


def test_anchors_and_bare_urls_add_up():
    excerpt = anchors("http://a.example/", "http://b.example/") + " see http://c.example/"

    with backlinks(MAX_LINKS_IN_EXCERPT=2):
        verdict = spam.too_many_links(candidate(excerpt=excerpt))

    assert verdict is not None
    assert verdict.reason == "3 links in the excerpt (limit 2)"


def test_an_anchor_showing_its_own_url_counts_once():
    excerpt = " ".join(
        f'<a href="http://shop{n}.example/">http://shop{n}.example</a>' for n in range(3)
    )

    with backlinks(MAX_LINKS_IN_EXCERPT=3):
        assert spam.too_many_links(candidate(excerpt=excerpt)) is None


def test_punctuation_after_a_url_is_not_part_of_it():
    assert spam.count_links('<a href="http://a.example/x">(see http://a.example/x).</a>') == 1


def test_an_anchor_showing_another_url_counts_twice():
    assert spam.count_links('<a href="http://a.example/">http://b.example/</a>') == 2


def test_urls_in_attributes_and_comments_are_not_extra_links():
    excerpt = '<img src="http://img.example/x.png"><!-- http://c.example/ --><a href="/rel">r</a>'

    assert spam.count_links(excerpt) == 1


def test_links_are_counted_in_the_raw_excerpt_not_the_cropped_one():
    # The stored excerpt is cropped to 1000 characters; stuffing beyond that still counts.
    excerpt = "x" * 1200 + anchors(*(f"http://shop{n}.example/" for n in range(4)))
    stuffed = candidate(excerpt=excerpt)
    assert "shop" not in stuffed.backlink.excerpt

    with backlinks(MAX_LINKS_IN_EXCERPT=3):
        verdict = spam.too_many_links(stuffed)

    assert verdict is not None
    assert verdict.decision is Decision.SPAM


@given(st.text())
def test_counting_links_never_fails(text):
    assert spam.count_links(text) >= 0


# field_lengths


def test_overlong_raw_title_is_held_with_its_length():
    with backlinks(MAX_TITLE_LENGTH=255):
        verdict = spam.field_lengths(candidate(title="t" * 300))

    assert verdict == Verdict(Decision.HOLD, "Overlong title of 300 characters (limit 255)")


def test_overlong_raw_excerpt_is_held_with_its_length():
    with backlinks(MAX_EXCERPT_LENGTH=1000):
        verdict = spam.field_lengths(candidate(excerpt="e" * 1001))

    assert verdict == Verdict(Decision.HOLD, "Overlong excerpt of 1001 characters (limit 1000)")


def test_fields_at_their_limits_pass():
    with backlinks(MAX_TITLE_LENGTH=10, MAX_EXCERPT_LENGTH=20):
        assert spam.field_lengths(candidate(title="t" * 10, excerpt="e" * 20)) is None


# unverified


def test_unverified_candidate_is_held():
    verdict = spam.unverified(candidate(verified=False))

    assert verdict == Verdict(Decision.HOLD, "Source not verified to link here")


def test_verified_candidate_passes_the_verification_check():
    assert spam.unverified(candidate(verified=True)) is None


# known_domain


@pytest.fixture
def approved_from(make_backlink) -> Callable[[str], Backlink]:
    def make(source_url: str, status: str = Status.APPROVED) -> Backlink:
        return make_backlink(status=status, source_url=source_url)

    return make


@pytest.mark.django_db
@pytest.mark.parametrize(
    "earlier", ["http://peer.example/old", "https://PEER.example:8443/x?y", "http://peer.example"]
)
def test_source_host_with_an_approved_backlink_is_approved(approved_from, site, earlier):
    approved_from(earlier)

    with backlinks(AUTO_APPROVE_KNOWN_DOMAINS=True):
        verdict = spam.known_domain(candidate(site=site, source_url="http://Peer.Example/new"))

    assert verdict == Verdict(Decision.APPROVE, "Known domain")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "earlier",
    [
        "http://sub.peer.example/a",
        "http://peer.example.evil/a",
        "http://notpeer.example/a",
        "http://evil.example/peer.example/a",
    ],
)
def test_other_hosts_are_not_known(approved_from, site, earlier):
    approved_from(earlier)

    with backlinks(AUTO_APPROVE_KNOWN_DOMAINS=True):
        assert spam.known_domain(candidate(site=site)) is None


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Status.PENDING, Status.SPAM, Status.REJECTED])
def test_only_approved_backlinks_make_a_host_known(approved_from, site, status):
    approved_from("http://peer.example/old", status=status)

    with backlinks(AUTO_APPROVE_KNOWN_DOMAINS=True):
        assert spam.known_domain(candidate(site=site)) is None


@pytest.mark.django_db
def test_a_host_known_on_another_site_is_not_known_here(approved_from, site):
    approved_from("http://peer.example/old")
    other = Site.objects.create(domain="other.example", name="Other")

    with backlinks(AUTO_APPROVE_KNOWN_DOMAINS=True):
        assert spam.known_domain(candidate(site=other)) is None


@pytest.mark.django_db
def test_known_domains_are_not_approved_when_the_setting_is_off(approved_from, site):
    approved_from("http://peer.example/old")

    with backlinks(AUTO_APPROVE_KNOWN_DOMAINS=False):
        assert spam.known_domain(candidate(site=site)) is None


@pytest.mark.django_db
def test_an_unverified_ping_naming_a_known_domain_is_not_approved(approved_from, site):
    # An unverified trackback's URL is only the sender's claim.
    approved_from("http://peer.example/old")

    with backlinks(AUTO_APPROVE_KNOWN_DOMAINS=True):
        assert spam.known_domain(candidate(site=site, verified=False)) is None


# akismet, against a local fake of the Akismet API


class ToLocalServer(httpx.HTTPTransport):
    """Sends every request to a local server instead of the host in its URL."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base = httpx.URL(base_url)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(
            scheme=self.base.scheme, host=self.base.host, port=self.base.port
        )
        return super().handle_request(request)


class FakeAkismet:
    """Akismet's REST API as answered by a pytest-httpserver on 127.0.0.1."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        server.expect_request("/1.1/verify-key", method="POST").respond_with_data(
            "valid", content_type="text/plain; charset=utf-8"
        )

    def answer(self, body: str, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.server.expect_request("/1.1/comment-check", method="POST").respond_with_data(
            body,
            status=status,
            content_type="text/plain; charset=utf-8",
            headers={"X-akismet-guid": "8b1f0c4e2d7a", **(headers or {})},
        )

    @property
    def requests(self) -> list[Request]:
        return [request for request, _ in self.server.log if request.path.startswith("/1.1/")]

    def checked(self) -> dict[str, str]:
        """The form of the one comment-check request received."""
        (request,) = self.requests
        assert request.path == "/1.1/comment-check"
        return {k: v[0] for k, v in parse_qs(request.get_data(as_text=True)).items()}


@pytest.fixture
def fake_akismet(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakeAkismet:
    monkeypatch.setattr(
        spam,
        "akismet_http_client",
        functools.partial(
            spam.akismet_http_client, transport=ToLocalServer(httpserver.url_for(""))
        ),
    )
    return FakeAkismet(httpserver)


@pytest.fixture
def akismet_on() -> Iterator[None]:
    with backlinks(AKISMET_API_KEY=KEY):
        yield


@pytest.mark.usefixtures("akismet_on")
def test_akismet_spam_is_spam(fake_akismet):
    fake_akismet.answer("true")

    assert spam.akismet(candidate()) == Verdict(Decision.SPAM, "Akismet: spam")


@pytest.mark.usefixtures("akismet_on")
def test_akismet_discard_is_spam(fake_akismet):
    fake_akismet.answer("true", headers={"X-akismet-pro-tip": "discard"})

    assert spam.akismet(candidate()) == Verdict(Decision.SPAM, "Akismet: spam")


@pytest.mark.usefixtures("akismet_on")
def test_akismet_ham_has_no_objection(fake_akismet):
    fake_akismet.answer("false")

    assert spam.akismet(candidate()) is None


@pytest.mark.usefixtures("akismet_on")
def test_akismet_is_told_what_the_ping_is(fake_akismet):
    fake_akismet.answer("false")

    spam.akismet(
        candidate(
            kind=Kind.TRACKBACK,
            title="Their <b>post</b>",
            excerpt="They wrote",
            blog_name="Peer Blog",
        )
    )

    assert fake_akismet.checked() == {
        "api_key": KEY,
        "blog": "http://blog.example/",  # the tests' SCHEME is http
        "user_ip": "203.0.113.7",
        "user_agent": "PeerBlog/2.0",
        "comment_type": "trackback",
        "comment_author": "Peer Blog",
        "comment_author_url": SOURCE,
        "comment_content": "Their post\n\nThey wrote",
        "permalink": TARGET,
        "blog_charset": "UTF-8",
    }


@pytest.mark.usefixtures("akismet_on")
def test_akismet_request_goes_to_the_akismet_api_host_with_our_user_agent(fake_akismet):
    fake_akismet.answer("false")

    spam.akismet(candidate(kind=Kind.PINGBACK))

    (request,) = fake_akismet.requests
    assert request.headers["Host"] == "rest.akismet.com"
    assert request.headers["User-Agent"].startswith("backlinks_django/")
    assert "akismet.py/" in request.headers["User-Agent"]
    assert fake_akismet.checked()["comment_type"] == "pingback"


@pytest.mark.usefixtures("akismet_on")
def test_akismet_gets_a_webmention_with_its_author(fake_akismet):
    fake_akismet.answer("false")

    spam.akismet(candidate(kind=Kind.WEBMENTION, author_name="Ann Author"))

    form = fake_akismet.checked()
    assert (form["comment_type"], form["comment_author"]) == ("webmention", "Ann Author")


def test_akismet_blog_url_setting_replaces_the_site_url(fake_akismet):
    fake_akismet.answer("false")

    with backlinks(AKISMET_API_KEY=KEY, AKISMET_BLOG_URL="https://www.blog.example/"):
        spam.akismet(candidate())

    assert fake_akismet.checked()["blog"] == "https://www.blog.example/"


@pytest.mark.usefixtures("akismet_on")
def test_akismet_server_error_holds(fake_akismet):
    fake_akismet.answer("Internal Server Error", status=500)

    assert spam.akismet(candidate()) == Verdict(Decision.HOLD, "Akismet unavailable")


@pytest.mark.usefixtures("akismet_on")
def test_akismet_unexpected_answer_holds(fake_akismet):
    fake_akismet.answer("<html>maintenance</html>")

    assert spam.akismet(candidate()) == Verdict(Decision.HOLD, "Akismet unavailable")


@pytest.mark.usefixtures("akismet_on")
def test_akismet_unreachable_holds(monkeypatch, unused_port):
    transport = ToLocalServer(f"http://127.0.0.1:{unused_port}")
    monkeypatch.setattr(
        spam,
        "akismet_http_client",
        functools.partial(spam.akismet_http_client, transport=transport),
    )

    assert spam.akismet(candidate()) == Verdict(Decision.HOLD, "Akismet unavailable")


@pytest.mark.usefixtures("akismet_on")
def test_akismet_refusing_the_key_holds_and_logs_without_the_key(fake_akismet, caplog):
    fake_akismet.answer("invalid", headers={"X-akismet-debug-help": "Empty api key"})

    with caplog.at_level(logging.WARNING, logger="backlinks_django.spam"):
        verdict = spam.akismet(candidate())

    assert verdict == Verdict(Decision.HOLD, "Akismet unavailable")
    assert "API key" in caplog.text
    assert KEY not in caplog.text


def test_akismet_without_a_key_asks_nothing(fake_akismet):
    fake_akismet.answer("true")

    with backlinks(AKISMET_API_KEY=None):
        assert spam.akismet(candidate()) is None

    assert fake_akismet.requests == []


@pytest.mark.usefixtures("akismet_on")
def test_akismet_skips_pings_without_a_sender_address(fake_akismet):
    fake_akismet.answer("true")

    assert spam.akismet(candidate(remote_ip=None)) is None
    assert fake_akismet.requests == []


@pytest.mark.usefixtures("akismet_on")
def test_akismet_key_without_the_library_holds_instead_of_failing(monkeypatch):
    monkeypatch.setitem(sys.modules, "akismet", None)

    assert spam.akismet(candidate()) == spam.Verdict(spam.Decision.HOLD, "Akismet unavailable")


# Through the receive pipeline


def trackback(client, obj, **fields: str):
    ct = ContentType.objects.get_for_model(obj)
    body = "&".join(f"{k}={quote_plus(v)}" for k, v in fields.items())
    return client.post(
        f"/backlinks/trackback/{ct.pk}/{obj.pk}/",
        body,
        content_type="application/x-www-form-urlencoded; charset=utf-8",
    )


ALL_CHECKS = [
    "backlinks_django.spam.blocked_keywords",
    "backlinks_django.spam.too_many_links",
    "backlinks_django.spam.akismet",
    "backlinks_django.spam.field_lengths",
    "backlinks_django.spam.unverified",
    "backlinks_django.spam.known_domain",
]


@pytest.mark.django_db
def test_pingback_from_a_page_with_a_blocked_keyword_is_stored_as_spam(
    xmlrpc_call, serve_source, article_url, site
):
    source = serve_source(page_linking_to(article_url, title="Best Online Casino"))

    with backlinks(SPAM_CHECKS=ALL_CHECKS, BLOCKED_KEYWORDS=["online casino"]):
        xmlrpc_call("pingback.ping", source, article_url)

    backlink = Backlink.objects.get()
    assert (backlink.status, backlink.reason) == (
        Status.SPAM,
        "Blocked keyword 'online casino' in the title",
    )


@pytest.mark.django_db
def test_link_stuffed_trackback_is_stored_as_spam(
    client, article, article_url, serve_source, site
):
    source = serve_source(page_linking_to(article_url))
    excerpt = anchors(*(f"http://shop{n}.example/" for n in range(5)))

    with backlinks(SPAM_CHECKS=ALL_CHECKS):
        response = trackback(client, article, url=source, title="Deals", excerpt=excerpt)

    assert response.status_code == 200
    backlink = Backlink.objects.get()
    assert (backlink.status, backlink.reason) == (Status.SPAM, "5 links in the excerpt (limit 3)")


@pytest.mark.django_db
def test_trackback_with_an_overlong_title_is_held_with_the_reason(
    client, article, article_url, serve_source, site
):
    SiteSettings.objects.create(site=site, moderation="auto")
    source = serve_source(page_linking_to(article_url))

    with backlinks(SPAM_CHECKS=ALL_CHECKS):
        trackback(client, article, url=source, title="Stuffed " * 50)

    backlink = Backlink.objects.get()
    assert backlink.status == Status.PENDING
    assert backlink.reason == "Overlong title of 400 characters (limit 255)"


@pytest.mark.django_db
def test_unverified_trackback_is_held_with_the_reason(client, article, unused_port, site):
    SiteSettings.objects.create(site=site, moderation="auto")

    with backlinks(SPAM_CHECKS=ALL_CHECKS, VERIFY_TRACKBACKS=False):
        trackback(client, article, url=f"http://127.0.0.1:{unused_port}/never-fetched")

    backlink = Backlink.objects.get()
    assert (backlink.status, backlink.reason) == (
        Status.PENDING,
        "Source not verified to link here",
    )


@pytest.mark.django_db
def test_known_domain_is_approved_although_the_site_holds_everything(
    xmlrpc_call, serve_source, article_url, make_backlink, site
):
    SiteSettings.objects.create(site=site, moderation="hold")
    source = serve_source(page_linking_to(article_url), path="/new-post")
    host = urlsplit(source).netloc
    make_backlink(status=Status.APPROVED, source_url=f"http://{host}/older-post")

    with backlinks(SPAM_CHECKS=ALL_CHECKS, AUTO_APPROVE_KNOWN_DOMAINS=True):
        xmlrpc_call("pingback.ping", source, article_url)

    backlink = Backlink.objects.get(source_url=source)
    assert (backlink.status, backlink.reason) == (Status.APPROVED, "Known domain")


@pytest.mark.django_db
def test_pingback_akismet_calls_spam_is_stored_as_spam(
    xmlrpc_call, serve_source, article_url, site, fake_akismet
):
    fake_akismet.answer("true")
    source = serve_source(page_linking_to(article_url))

    with backlinks(SPAM_CHECKS=ALL_CHECKS, AKISMET_API_KEY=KEY):
        xmlrpc_call("pingback.ping", source, article_url)

    backlink = Backlink.objects.get()
    assert (backlink.status, backlink.reason) == (Status.SPAM, "Akismet: spam")
    assert fake_akismet.checked()["user_ip"] == "127.0.0.1"


@pytest.mark.django_db
def test_pingback_is_held_when_akismet_is_down(
    xmlrpc_call, serve_source, article_url, site, fake_akismet
):
    SiteSettings.objects.create(site=site, moderation="auto")
    fake_akismet.answer("Service Unavailable", status=503)
    source = serve_source(page_linking_to(article_url))

    with backlinks(SPAM_CHECKS=ALL_CHECKS, AKISMET_API_KEY=KEY):
        answer = xmlrpc_call("pingback.ping", source, article_url)

    assert answer.endswith("registered.")
    backlink = Backlink.objects.get()
    assert (backlink.status, backlink.reason) == (Status.PENDING, "Akismet unavailable")


@pytest.mark.django_db
def test_pingback_without_akismet_key_never_asks_akismet(
    xmlrpc_call, serve_source, article_url, site, fake_akismet
):
    SiteSettings.objects.create(site=site, moderation="auto")
    fake_akismet.answer("true")
    source = serve_source(page_linking_to(article_url))

    with backlinks(SPAM_CHECKS=ALL_CHECKS, AKISMET_API_KEY=None):
        xmlrpc_call("pingback.ping", source, article_url)

    assert Backlink.objects.get().status == Status.APPROVED
    assert fake_akismet.requests == []
