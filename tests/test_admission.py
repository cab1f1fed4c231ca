"""The checks made before anything is fetched: target resolution, publication, site switches."""

from __future__ import annotations

import pytest
from django.contrib.sites.models import Site
from django.utils import timezone

from backlinks_django.admission import is_on_site
from backlinks_django.exceptions import TargetNotFound, TargetNotPingable
from backlinks_django.models import Kind, SiteSettings
from backlinks_django.pipeline import Ping, receive
from backlinks_django.registry import get_registration, resolve_path
from tests.conftest import page_linking_to
from tests.testapp.models import Article

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "domain", "expected"),
    [
        ("http://example.com/a", "example.com", True),
        ("https://EXAMPLE.com/a", "example.com", True),
        ("http://example.com:8000/a", "example.com", False),
        ("http://example.com:8000/a", "example.com:8000", True),
        ("http://example.com/a", "example.com:80", True),
        ("http://www.example.com/a", "example.com", False),
        ("http://example.com./a", "example.com", True),
    ],
)
def test_url_is_on_site_when_host_and_port_match_the_site_domain(url, domain, expected):
    assert is_on_site(url, Site(domain=domain)) is expected


def test_target_resolution_ignores_unknown_query_parameters(serve_source, article, site):
    target = f"http://testserver{article.get_absolute_url()}?utm_source=feed"
    source = serve_source(page_linking_to(target))

    ping = Ping(kind=Kind.PINGBACK, source_url=source, target_url=target)
    assert receive(ping, site=site).target == article


def test_future_publication_closes_pings(article):
    article.published_at = timezone.now() + timezone.timedelta(minutes=5)
    registration = get_registration(Article)

    assert registration is not None
    assert registration.accepts_pings(article) is False


def test_object_without_publication_date_is_unpublished(article):
    article.published_at = None
    assert get_registration(article).accepts_pings(article) is False  # type: ignore[union-attr]


def test_unknown_path_is_32_and_unregistered_page_is_33():
    with pytest.raises(TargetNotFound):
        resolve_path("/no/such/page/")
    with pytest.raises(TargetNotPingable):
        resolve_path("/notes/")
    with pytest.raises(TargetNotFound):
        resolve_path("/notes/?p=abc")


def test_site_settings_default_to_everything_on_without_a_row(site):
    settings = SiteSettings.objects.for_site(site)

    assert settings.pk is None
    assert (
        settings.receive_pingbacks,
        settings.receive_trackbacks,
        settings.send_pings,
        settings.self_pings,
    ) == (True, True, True, True)
    assert settings.moderation == "hold"


def test_site_settings_change_is_seen_at_once(site):
    SiteSettings.objects.for_site(site)
    SiteSettings.objects.create(site=site, receive_pingbacks=False)

    assert SiteSettings.objects.for_site(site).receive_pingbacks is False
