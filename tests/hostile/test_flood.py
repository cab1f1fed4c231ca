"""Floods: rate limits per IP, per source domain and per fetched host."""

from __future__ import annotations

import xmlrpc.client
from urllib.parse import urlsplit

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from backlinks_django.models import Backlink, InboundPing
from tests.conftest import page_linking_to
from tests.helpers import verify_queued
from tests.settings import BACKLINKS as BASE
from tests.testapp.models import Article

pytestmark = [pytest.mark.hostile, pytest.mark.django_db]


def ping(client: Client, source: str, target: str, ip: str = "203.0.113.7") -> object:
    body = xmlrpc.client.dumps((source, target), "pingback.ping")
    response = client.post("/backlinks/xmlrpc/", body, content_type="text/xml", REMOTE_ADDR=ip)
    assert response.status_code == 200
    try:
        return xmlrpc.client.loads(response.content)[0][0]
    except xmlrpc.client.Fault as fault:
        return fault


QUEUED = "queued for verification"


@override_settings(BACKLINKS={**BASE, "RATE_LIMIT_PER_IP": (5, 60), "INBOUND_QUEUE_PER_SENDER": 2})
def test_flood_from_one_ip_is_queued_then_refused_while_another_ip_is_served(
    client, article_url, serve_source, unused_port
):
    junk = f"http://127.0.0.1:{unused_port}/junk"
    answers = [ping(client, f"{junk}{i}", article_url) for i in range(8)]

    assert [a.faultCode for a in answers[:5]] == [16] * 5  # type: ignore[union-attr]
    assert all(QUEUED in a for a in answers[5:7])  # type: ignore[operator]
    refused = answers[7]
    assert isinstance(refused, xmlrpc.client.Fault)
    assert refused.faultCode == 49
    assert "try again in" in refused.faultString
    assert InboundPing.objects.count() == 2

    source = serve_source(page_linking_to(article_url))
    assert "registered" in ping(client, source, article_url, ip="198.51.100.9")  # type: ignore[operator]
    assert Backlink.objects.count() == 1


@override_settings(BACKLINKS={**BASE, "RATE_LIMIT_PER_IP": (1, 60)})
def test_ping_over_the_rate_is_queued_before_any_fetch(
    client, article_url, serve_source, httpserver
):
    source = serve_source(page_linking_to(article_url))
    ping(client, source, article_url)
    fetches = len(httpserver.log)

    answer = ping(client, source.replace("/source", "/other"), article_url)

    assert QUEUED in answer  # type: ignore[operator]
    assert len(httpserver.log) == fetches


@override_settings(BACKLINKS={**BASE, "RATE_LIMIT_PER_SOURCE_DOMAIN": (3, 60)})
def test_one_source_domain_over_its_rate_is_queued_across_ips(client, article_url, serve_source):
    sources = [serve_source(page_linking_to(article_url), path=f"/p{i}") for i in range(4)]

    answers = [
        ping(client, source, article_url, ip=f"198.51.100.{i + 1}")
        for i, source in enumerate(sources)
    ]

    assert ["registered" in a for a in answers[:3]] == [True] * 3  # type: ignore[operator]
    assert QUEUED in answers[3]  # type: ignore[operator]


@override_settings(BACKLINKS={**BASE, "RATE_LIMIT_PER_SOURCE_DOMAIN": (2, 60)})
def test_both_idna_spellings_of_a_source_domain_share_its_limit(
    client, article_url, serve_source, dns
):
    """Alternating "пример" and "xn--e1afmkfd" does not double a spammer's allowance."""
    port = urlsplit(serve_source(page_linking_to(article_url), path="/a")).port
    sources = [
        f"http://пример.example:{port}/a",
        f"http://XN--E1AFMKFD.example:{port}/a?b",
        f"http://Пример.example:{port}/a?c",
    ]
    answers = [
        ping(client, source, article_url, ip=f"198.51.100.{i + 1}")
        for i, source in enumerate(sources)
    ]

    assert ["registered" in a for a in answers[:2]] == [True, True]  # type: ignore[operator]
    assert QUEUED in answers[2]  # type: ignore[operator]


@override_settings(BACKLINKS={**BASE, "RATE_LIMIT_PER_IP": (2, 1.0)})
def test_limit_lifts_after_the_window(client, article_url, unused_port, throttle_clock):
    junk = f"http://127.0.0.1:{unused_port}/j"
    for i in range(2):
        ping(client, f"{junk}{i}", article_url)
    assert QUEUED in ping(client, f"{junk}x", article_url)  # type: ignore[operator]

    throttle_clock.advance(1.0)

    assert ping(client, f"{junk}y", article_url).faultCode == 16  # type: ignore[union-attr]


@override_settings(BACKLINKS={**BASE, "RATE_LIMIT_PER_IP": (1, 60), "INBOUND_QUEUE_PER_SENDER": 0})
def test_refused_trackback_is_429_with_retry_after(client, article, serve_source, article_url):
    from django.contrib.contenttypes.models import ContentType

    ct = ContentType.objects.get_for_model(article)
    url = f"/backlinks/trackback/{ct.pk}/{article.pk}/"
    source = serve_source(page_linking_to(article_url))
    form = "application/x-www-form-urlencoded"
    first = client.post(url, f"url={source}", content_type=form, REMOTE_ADDR="203.0.113.7")
    assert first.status_code == 200

    response = client.post(
        url, f"url={source}?again", content_type=form, REMOTE_ADDR="203.0.113.7"
    )

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert b"<error>1</error>" in response.content


@override_settings(BACKLINKS={**BASE, "RATE_LIMIT_PER_IP": (3, 60), "INBOUND_QUEUE_PER_SENDER": 0})
def test_addresses_of_one_ipv6_network_share_one_sender_limit(client, article_url, unused_port):
    answers = [
        ping(
            client, f"http://127.0.0.1:{unused_port}/j{i}", article_url, ip=f"2001:db8:7:7::{i:x}"
        )
        for i in range(1, 5)
    ]
    other_network = ping(
        client, f"http://127.0.0.1:{unused_port}/k", article_url, ip="2001:db8:7:8::1"
    )

    assert [a.faultCode for a in answers] == [16, 16, 16, 49]  # type: ignore[union-attr]
    assert other_network.faultCode == 16  # type: ignore[union-attr]


@override_settings(BACKLINKS={**BASE, "RATE_LIMIT_PER_SOURCE_DOMAIN": (2, 60)})
def test_subdomains_of_one_registrable_domain_share_its_limit(
    client, article_url, serve_source, dns
):
    port = urlsplit(serve_source(page_linking_to(article_url), path="/p")).port
    answers = [
        ping(
            client,
            f"http://n{i}.spam.example.co.uk:{port}/p",
            article_url,
            ip=f"198.51.100.{i + 1}",
        )
        for i in range(3)
    ]

    assert ["registered" in a for a in answers[:2]] == [True, True]  # type: ignore[operator]
    assert QUEUED in answers[2]  # type: ignore[operator]


def test_default_limits_serve_a_busy_blog_pinging_forty_posts(client, site, httpserver):
    """WordPress's 15-second window lost 38 of 40 such pingbacks; the defaults keep all 40."""
    posts = [
        Article.objects.create(title=f"P{i}", slug=f"p{i}", published_at=timezone.now())
        for i in range(40)
    ]
    for i, post in enumerate(posts):
        httpserver.expect_request(f"/entry{i}").respond_with_data(
            page_linking_to(f"http://testserver{post.get_absolute_url()}"),
            content_type="text/html",
        )

    answers = [
        ping(
            client, httpserver.url_for(f"/entry{i}"), f"http://testserver{post.get_absolute_url()}"
        )
        for i, post in enumerate(posts)
    ]

    assert all(isinstance(a, str) for a in answers), answers
    assert Backlink.objects.count() == 40


@override_settings(BACKLINKS={**BASE, "RATE_LIMIT_PER_FETCHED_HOST": (2, 60)})
def test_fetches_to_one_host_are_capped_inbound(client, site, httpserver):
    posts = [
        Article.objects.create(title=f"P{i}", slug=f"p{i}", published_at=timezone.now())
        for i in range(3)
    ]
    for i, post in enumerate(posts):
        httpserver.expect_request(f"/e{i}").respond_with_data(
            page_linking_to(f"http://testserver{post.get_absolute_url()}"),
            content_type="text/html",
        )

    answers = [
        ping(
            client,
            httpserver.url_for(f"/e{i}"),
            f"http://testserver{p.get_absolute_url()}",
            ip=f"198.51.100.{i + 1}",
        )
        for i, p in enumerate(posts)
    ]

    assert "registered" in answers[0] and "registered" in answers[1]  # type: ignore[operator]
    assert QUEUED in answers[2]  # type: ignore[operator]
    assert len(httpserver.log) == 2

    # The queued one waits for the host's window instead of failing.
    (row,) = verify_queued()
    assert row.state == InboundPing.State.QUEUED
    assert row.not_before is not None and row.not_before > timezone.now()
    assert len(httpserver.log) == 2


@override_settings(
    BACKLINKS={
        **BASE,
        "SCHEME": "http",
        "RATE_LIMIT_PER_FETCHED_HOST": (2, 60),
        "SEND_HOST_INTERVAL": 0,
    }
)
def test_fetches_to_one_host_are_capped_outbound(site, httpserver):
    from django.db import transaction

    from backlinks_django import send
    from backlinks_django.models import OutboundPing, Outcome
    from tests.helpers import Peer

    peer = Peer(httpserver)
    targets = [peer.page(f"/t{i}") for i in range(3)]
    with transaction.atomic():
        article = Article.objects.create(
            title="A",
            slug="a",
            body="".join(f'<a href="{t}">x</a>' for t in targets),
            published_at=timezone.now(),
        )

    send.send_object(article)

    # Three discoveries and their pings would be six requests; the cap lets two through.
    assert len(httpserver.log) == 2
    capped = OutboundPing.objects.exclude(outcome=Outcome.SUCCESS)
    assert capped.count() >= 1
    assert {row.outcome for row in capped} == {Outcome.UNREACHABLE}
    assert all(row.next_attempt_at is not None for row in capped)


@override_settings(BACKLINKS={**BASE, "RATE_LIMIT_PER_FETCHED_HOST": (5, 60)})
def test_names_and_the_ip_literal_of_one_server_share_its_fetch_cap(
    client, article_url, httpserver, dns
):
    """Five names of one server and its IP literal fetched it 360 times in 1.5 s at 60 a minute."""
    httpserver.expect_request("/s").respond_with_data(
        page_linking_to(article_url), content_type="text/html"
    )
    port = httpserver.port
    names = ["a.example", "b.example", "c.example", "www.a.example", "d.test", "127.0.0.1"]
    sources = [f"http://{name}:{port}/s?{i}" for i, name in enumerate(names)]

    answers = [
        ping(client, source, article_url, ip=f"198.51.100.{i + 1}")
        for i, source in enumerate(sources)
    ]

    assert all("registered" in a for a in answers[:5]), answers  # type: ignore[operator]
    assert QUEUED in answers[5]  # type: ignore[operator]  # waits for the server's window
    assert len(httpserver.log) == 5
    (row,) = verify_queued()
    assert row.state == InboundPing.State.QUEUED and len(httpserver.log) == 5
    assert "Too many requests" in row.detail and "127.0.0.1" not in row.detail


@override_settings(
    BACKLINKS={
        **BASE,
        "SCHEME": "http",
        "RATE_LIMIT_PER_FETCHED_HOST": (2, 60),
        "SEND_HOST_INTERVAL": 0,
    }
)
def test_strangers_pings_cannot_spend_what_our_sending_to_that_server_needs(
    client, article_url, httpserver
):
    """Pings "from" a third party's pages use up verification's budget, not sending's."""
    from django.db import transaction

    from backlinks_django import send
    from backlinks_django.models import OutboundPing, Outcome
    from tests.helpers import Peer

    peer = Peer(httpserver)
    link = f'<a href="{article_url}">you</a>'
    strangers = [ping(client, peer.page(f"/p{i}", link), article_url) for i in range(3)]
    assert QUEUED in strangers[2]  # type: ignore[operator]  # verification's budget is spent
    target = peer.page("/ours")
    with transaction.atomic():
        ours = Article.objects.create(
            title="Ours",
            slug="ours",
            body=f'<a href="{target}">x</a>',
            published_at=timezone.now(),
        )

    send.send_object(ours)

    assert OutboundPing.objects.get(target_url=target).outcome == Outcome.SUCCESS
    assert len(peer.calls) == 1


@override_settings(BACKLINKS={**BASE, "RATE_LIMIT_PER_SOURCE_DOMAIN": (3, 60)})
def test_pings_from_a_third_partys_missing_pages_do_not_spend_its_budget(client, site, httpserver):
    """60 pings "from" a party's missing pages once locked its genuine pings out (fault 49)."""
    posts = [
        Article.objects.create(title=f"P{i}", slug=f"p{i}", published_at=timezone.now())
        for i in range(2)
    ]
    target = f"http://testserver{posts[0].get_absolute_url()}"
    httpserver.expect_request("/real").respond_with_data(
        page_linking_to(target), content_type="text/html"
    )
    missing = [
        ping(client, httpserver.url_for(f"/missing{i}"), target, ip=f"203.0.113.{i + 1}")
        for i in range(6)
    ]

    genuine = ping(client, httpserver.url_for("/real"), target, ip="198.51.100.1")

    assert [a.faultCode for a in missing] == [16] * 6  # type: ignore[union-attr]
    assert "registered" in genuine  # type: ignore[operator]  # verified at once, not queued
