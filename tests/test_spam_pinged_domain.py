"""The pinged_domain check: trust for domains this site has itself pinged successfully."""

from __future__ import annotations

import itertools

import pytest
from django.contrib.sites.models import Site
from django.test import override_settings

from backlinks_django import spam
from backlinks_django.choices import Outcome, Status
from backlinks_django.defaults import DEFAULTS
from backlinks_django.models import Backlink, Kind, SiteSettings
from backlinks_django.spam import Decision, Verdict
from tests.conftest import page_linking_to
from tests.helpers import LOOPBACK, entry, links, outbound_row
from tests.test_spam import backlinks, candidate

pytestmark = pytest.mark.django_db

APPROVED = Verdict(Decision.APPROVE, "Domain this site has pinged")
_entries = itertools.count()


def pinged(url: str, outcome: str = Outcome.SUCCESS, site: Site | None = None) -> None:
    """This site pinged ``url`` from an entry, with ``outcome``."""
    article = entry(f"entry-{next(_entries)}", links(url))
    outbound_row(article, url, outcome=outcome, **({"site": site} if site else {}))


@pytest.mark.parametrize(
    ("earlier", "source"),
    [
        ("https://peer.example/a-post/", "http://peer.example/reply/"),
        ("https://blog.peer.example/a-post/", "https://www.peer.example/reply/"),
        ("https://peer.example:8443/x?y=1", "https://PEER.example./reply"),
        ("https://a.peer.co.uk/post/", "https://b.peer.co.uk/reply/"),
        ("https://пример.example/post/", "https://xn--e1afmkfd.example/reply/"),
        ("http://127.0.0.1:8000/post/", "http://127.0.0.1:9000/reply/"),
    ],
)
def test_a_verified_backlink_from_a_domain_pinged_successfully_is_approved(site, earlier, source):
    pinged(earlier)

    with backlinks(AUTO_APPROVE_PINGED_DOMAINS=True):
        assert spam.pinged_domain(candidate(site=site, source_url=source)) == APPROVED


@pytest.mark.parametrize(
    "earlier",
    [
        "https://other.example/peer.example/",
        "https://peer.example.evil/post/",
        "https://notpeer.example/post/",
        "https://user@peer.example.evil/post/",
    ],
)
def test_other_domains_are_not_trusted(site, earlier):
    pinged(earlier)

    with backlinks(AUTO_APPROVE_PINGED_DOMAINS=True):
        assert (
            spam.pinged_domain(candidate(site=site, source_url="https://peer.example/r")) is None
        )


@pytest.mark.parametrize("source", ["https://bob.github.io/x", "https://github.io/x"])
def test_a_shared_suffix_is_not_one_domain(site, source):
    """github.io gives everyone a name of their own: a link to alice's vouches for no other."""
    pinged("https://alice.github.io/post/")

    with backlinks(AUTO_APPROVE_PINGED_DOMAINS=True):
        assert spam.pinged_domain(candidate(site=site, source_url=source)) is None


@pytest.mark.parametrize(
    "outcome", [Outcome.PENDING, Outcome.NO_ENDPOINT, Outcome.FAULT, Outcome.UNREACHABLE]
)
def test_only_a_successful_ping_makes_a_domain_trusted(site, outcome):
    pinged("https://peer.example/post/", outcome=outcome)

    with backlinks(AUTO_APPROVE_PINGED_DOMAINS=True):
        assert (
            spam.pinged_domain(candidate(site=site, source_url="https://peer.example/r")) is None
        )


def test_a_domain_pinged_from_another_site_is_not_trusted_here(site):
    other = Site.objects.create(domain="other.example", name="Other")
    pinged("https://peer.example/post/", site=other)

    with backlinks(AUTO_APPROVE_PINGED_DOMAINS=True):
        assert (
            spam.pinged_domain(candidate(site=site, source_url="https://peer.example/r")) is None
        )


def test_an_unverified_backlink_naming_a_pinged_domain_is_not_approved(site):
    pinged("https://peer.example/post/")

    with backlinks(AUTO_APPROVE_PINGED_DOMAINS=True):
        verdict = spam.pinged_domain(
            candidate(site=site, source_url="https://peer.example/r", verified=False)
        )

    assert verdict is None


def test_the_check_is_off_by_default(site):
    pinged("https://peer.example/post/")

    assert "AUTO_APPROVE_PINGED_DOMAINS" not in LOOPBACK
    assert DEFAULTS["AUTO_APPROVE_PINGED_DOMAINS"] is False
    assert spam.pinged_domain(candidate(site=site, source_url="https://peer.example/r")) is None


def test_a_pingback_from_a_domain_pinged_before_is_approved_by_the_default_checks(
    xmlrpc_call, serve_source, article_url, site
):
    SiteSettings.objects.create(site=site, moderation="hold")
    source = serve_source(page_linking_to(article_url), path="/reply")
    pinged(source.replace("/reply", "/the-post-we-linked"))

    with override_settings(BACKLINKS={**LOOPBACK, "AUTO_APPROVE_PINGED_DOMAINS": True}):
        xmlrpc_call("pingback.ping", source, article_url)

    backlink = Backlink.objects.get(kind=Kind.PINGBACK)
    assert (backlink.status, backlink.reason) == (Status.APPROVED, "Domain this site has pinged")
    assert "backlinks_django.spam.pinged_domain" in DEFAULTS["SPAM_CHECKS"]
