"""Atom feeds of approved backlinks, per object and per site, checked against RFC 4287."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest
from django.contrib.contenttypes.models import ContentType
from django.contrib.sites.models import Site
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from lxml import etree

from backlinks_django.models import Backlink, Kind, Status
from tests.testapp.models import Article, Unregistered

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
# RFC 4287's elements, cardinalities and datatypes as a RELAX NG grammar (tests/schemas/).
ATOM_SCHEMA = etree.RelaxNG(etree.parse(str(Path(__file__).parent / "schemas" / "atom.rng")))


def assert_valid_atom(content: bytes) -> None:
    """The feed passes the RFC 4287 grammar, and feedparser reads it as Atom 1.0 cleanly."""
    document = etree.fromstring(content, etree.XMLParser(resolve_entities=False))
    assert ATOM_SCHEMA.validate(document), ATOM_SCHEMA.error_log
    parsed = feedparser.parse(content)
    assert (parsed.bozo, parsed.version) == (False, "atom10"), parsed.get("bozo_exception")


def feed_path(obj) -> str:
    return f"/backlinks/feed/{ContentType.objects.get_for_model(obj).pk}/{obj.pk}/"


def atom(response) -> ET.Element:
    """The parsed feed, after the checks RFC 4287 makes of every feed and entry."""
    assert response.status_code == 200
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert_valid_atom(response.content)
    feed = ET.fromstring(response.content)
    assert feed.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert len(feed.findall(f"{ATOM}{name}")) == 1, name
    assert_iri(feed.findtext(f"{ATOM}id"))
    assert_date(feed.findtext(f"{ATOM}updated"))
    feed_has_author = feed.find(f"{ATOM}author/{ATOM}name") is not None
    for entry in feed.findall(f"{ATOM}entry"):
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"{ATOM}{name}")) == 1, name
        assert_iri(entry.findtext(f"{ATOM}id"))
        assert_date(entry.findtext(f"{ATOM}updated"))
        # No content element: an alternate link is required.
        assert entry.find(f"{ATOM}content") is None
        (alternate,) = [
            link
            for link in entry.findall(f"{ATOM}link")
            if link.get("rel", "alternate") == "alternate"
        ]
        assert_iri(alternate.get("href"))
        assert feed_has_author or entry.find(f"{ATOM}author/{ATOM}name") is not None
    ids = [entry.findtext(f"{ATOM}id") for entry in feed.findall(f"{ATOM}entry")]
    assert len(ids) == len(set(ids))
    return feed


def assert_iri(value: str | None) -> None:
    assert value and urlsplit(value).scheme in ("http", "https", "tag"), value


def assert_date(value: str | None) -> None:
    assert value is not None
    assert datetime.datetime.fromisoformat(value).tzinfo is not None, value


def entries(feed: ET.Element) -> list[dict[str, str | None]]:
    return [
        {
            "title": entry.findtext(f"{ATOM}title"),
            "link": entry.find(f"{ATOM}link").get("href"),  # type: ignore[union-attr]
            "author": entry.findtext(f"{ATOM}author/{ATOM}name"),
            "summary": entry.findtext(f"{ATOM}summary"),
        }
        for entry in feed.findall(f"{ATOM}entry")
    ]


def test_object_feed_is_atom_with_the_approved_backlinks_newest_first(
    client, make_backlink, article
):
    make_backlink(Status.APPROVED, title="Older", author_name="Ana")
    make_backlink(Status.APPROVED, title="Newer", blog_name="Bo's blog")
    make_backlink(Status.PENDING, title="Pending")
    make_backlink(Status.SPAM, title="Spam")
    make_backlink(Status.REMOVED, title="Removed")

    feed = atom(client.get(feed_path(article)))

    assert [(e["title"], e["author"]) for e in entries(feed)] == [
        ("Newer", "Bo's blog"),
        ("Older", "Ana"),
    ]
    assert feed.findtext(f"{ATOM}title") == "Responses to Target article"
    assert feed.findtext(f"{ATOM}author/{ATOM}name") == "Test site"
    assert feed.findtext(f"{ATOM}id") == "http://testserver" + feed_path(article)


def test_an_empty_feed_is_still_valid_atom(client, article):
    feed = atom(client.get(feed_path(article)))

    assert feed.findall(f"{ATOM}entry") == []


def test_entries_link_to_the_original_post_and_keep_a_stable_id(client, make_backlink, article):
    backlink = make_backlink(
        Status.APPROVED,
        kind=Kind.WEBMENTION,
        mention_type="reply",
        source_url="https://brid.gy/comment/x/1",
        original_url="https://social.example/@ana/1",
    )

    (entry,) = atom(client.get(feed_path(article))).findall(f"{ATOM}entry")

    assert entry.find(f"{ATOM}link").get("href") == "https://social.example/@ana/1"  # type: ignore[union-attr]
    day = backlink.received_at.strftime("%Y-%m-%d")
    assert entry.findtext(f"{ATOM}id") == f"tag:testserver,{day}:backlink/{backlink.pk}"
    assert [c.get("term") for c in entry.findall(f"{ATOM}category")] == ["reply", "webmention"]


def test_remote_text_survives_as_text(client, make_backlink, article):
    make_backlink(Status.APPROVED, title="<b>Bold</b> & co", excerpt="a < b & <script>")

    (entry,) = entries(atom(client.get(feed_path(article))))

    assert entry["title"] == "<b>Bold</b> & co"
    # The summary is typed html: the plain-text excerpt is escaped once more for it.
    assert entry["summary"] == "a &lt; b &amp; &lt;script&gt;"


def test_the_feed_carries_no_ip_user_agent_or_reason(client, make_backlink, article):
    make_backlink(
        Status.APPROVED, remote_ip="203.0.113.77", user_agent="SecretAgent/1.0", reason="held"
    )

    body = client.get(feed_path(article)).content.decode()

    assert "203.0.113.77" not in body and "SecretAgent" not in body and "held" not in body


def test_the_feed_is_cacheable_by_date(client, make_backlink, article):
    make_backlink(Status.APPROVED)

    assert "Last-Modified" in client.get(feed_path(article))


@pytest.mark.parametrize(
    "path",
    [
        "/backlinks/feed/999999/1/",
        "/backlinks/feed/{ct}/999999/",
        "/backlinks/feed/{ct}/not-a-number/",
        "/backlinks/feed/{ct}/1%00/",
        "/backlinks/feed/{ct}/99999999999999999999999999/",
        "/backlinks/feed/{other_ct}/{other_pk}/",
    ],
)
def test_a_feed_of_nothing_registered_is_404(client, article, path):
    other = Unregistered.objects.create(name="x")
    ct = ContentType.objects.get_for_model(Article).pk
    other_ct = ContentType.objects.get_for_model(Unregistered).pk

    response = client.get(path.format(ct=ct, other_ct=other_ct, other_pk=other.pk))

    assert response.status_code == 404


def test_a_draft_has_no_public_feed(client, make_backlink, article):
    make_backlink(Status.APPROVED)
    article.published_at = None
    article.save()

    assert client.get(feed_path(article)).status_code == 404


def test_the_object_feed_costs_the_same_queries_for_5_or_40_backlinks(
    client, make_backlink, article
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            atom(client.get(feed_path(article)))
        return len(captured)

    for _ in range(5):
        make_backlink(Status.APPROVED)
    queries()  # the site and content type caches fill on a first request
    few = queries()
    for _ in range(35):
        make_backlink(Status.APPROVED)

    assert queries() == few <= 4


def test_the_feed_holds_the_newest_fifty(client, make_backlink, article):
    for _ in range(55):
        make_backlink(Status.APPROVED)

    assert len(atom(client.get(feed_path(article))).findall(f"{ATOM}entry")) == 50


def test_site_feed_names_each_target_and_skips_drafts_and_other_sites(
    client, make_backlink, article, site
):
    draft = Article.objects.create(title="Draft", slug="draft")
    other_site = Site.objects.create(domain="other.example", name="Other")
    make_backlink(Status.APPROVED, title="On the article")
    make_backlink(Status.APPROVED, title="On the draft", target=draft)
    make_backlink(Status.APPROVED, title="Other site", site=other_site)
    make_backlink(Status.PENDING, title="Pending")

    feed = atom(client.get("/backlinks/feed/"))

    assert [e["title"] for e in entries(feed)] == ["On the article (on Target article)"]
    assert feed.findtext(f"{ATOM}title") == "Responses on Test site"
    assert feed.findtext(f"{ATOM}id") == "http://testserver/backlinks/feed/"


def test_site_feed_queries_do_not_grow_with_backlinks(client, make_backlink, article):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            atom(client.get("/backlinks/feed/"))
        return len(captured)

    make_backlink(Status.APPROVED)
    queries()  # the site cache fills on a first request
    few = queries()
    for n in range(20):
        target = Article.objects.create(title=f"A{n}", slug=f"a{n}", published_at=timezone.now())
        make_backlink(Status.APPROVED, target=target)

    assert queries() == few
    assert Backlink.objects.approved().count() == 21


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(
            lambda f: f.replace(b"<id>", b"<idx>").replace(b"</id>", b"</idx>"), id="no-id"
        ),
        pytest.param(
            lambda f: f.replace(b"</title>", b"</title><title>Two</title>", 1), id="2-titles"
        ),
        pytest.param(lambda f: f.replace(b"<updated>", b"<updated>yesterday ", 1), id="bad-date"),
        pytest.param(lambda f: f.replace(b'href="', b'hreff="', 1), id="link-no-href"),
    ],
)
def test_the_grammar_refuses_what_rfc_4287_forbids(client, make_backlink, article, broken):
    make_backlink(Status.APPROVED, title="One")
    good = client.get(feed_path(article)).content
    assert_valid_atom(good)

    with pytest.raises(AssertionError):
        assert_valid_atom(broken(good))
