"""The per-server cap (fetch.budget): counted per address connected to, inbound and outbound apart."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from pytest_httpserver import HTTPServer

from backlinks_django import fetch as fetch_module
from backlinks_django.exceptions import ConnectionFailed, FetchError, HostBusy
from backlinks_django.fetch import fetch, outbound
from backlinks_django.fetch.budget import charge
from tests.fetch.rawserver import RawServer


@pytest.fixture
def cap(configure: Callable[..., None]) -> Callable[[int], None]:
    """Set ``RATE_LIMIT_PER_FETCHED_HOST`` to ``n`` requests a minute."""

    def apply(n: int) -> None:
        configure(RATE_LIMIT_PER_FETCHED_HOST=(n, 60.0))

    return apply


def spellings(server: HTTPServer) -> list[str]:
    """Five names of the server (all resolving to 127.0.0.1 here) and its IP literal."""
    names = ["a.example", "b.example", "WWW.A.EXAMPLE", "c.example.", "d.test"]
    return [f"http://{name}:{server.port}/" for name in names] + [server.url_for("/")]


def test_names_and_the_ip_literal_of_one_server_share_one_cap(
    server: HTTPServer, cap: Callable[[int], None], resolver: Callable[..., object]
) -> None:
    cap(5)
    resolver("127.0.0.1")
    server.expect_request("/").respond_with_data("ok")
    first, *others, last = spellings(server)

    for url in [first, *others]:
        assert fetch(url).status == 200
    with pytest.raises(HostBusy):
        fetch(last)

    assert len(server.log) == 5


def test_each_redirect_hop_counts_against_the_address_it_connects_to(
    server: HTTPServer,
    cap: Callable[[int], None],
    resolver: Callable[..., object],
    raw_server: Callable[..., RawServer],
) -> None:
    cap(1)
    resolver("127.0.0.2")
    other = raw_server(host="127.0.0.2")
    server.expect_request("/").respond_with_data(
        "", status=302, headers={"Location": f"http://elsewhere.example:{other.port}/"}
    )

    # The second hop reaches 127.0.0.2 (whose server hangs up): its own budget, not 127.0.0.1's.
    with pytest.raises(ConnectionFailed):
        fetch(server.url_for("/"))
    assert other.connections_so_far() == 1

    with pytest.raises(HostBusy):
        fetch(server.url_for("/"))
    with pytest.raises(HostBusy):
        fetch(other.url())
    assert len(server.log) == 1


def test_redirect_hops_to_one_server_each_count(
    server: HTTPServer, cap: Callable[[int], None], resolver: Callable[..., object]
) -> None:
    cap(2)
    resolver("127.0.0.1")
    server.expect_request("/0").respond_with_data(
        "", status=302, headers={"Location": f"http://b.example:{server.port}/1"}
    )
    server.expect_request("/1").respond_with_data("", status=302, headers={"Location": "/2"})

    with pytest.raises(HostBusy):
        fetch(server.url_for("/0"))

    assert [request.path for request, _ in server.log] == ["/0", "/1"]


def test_addresses_of_one_ipv6_network_share_one_cap(cap: Callable[[int], None]) -> None:
    cap(2)
    charge("2001:db8:5:5::1")
    charge("2001:db8:5:5:ffff::2")

    with pytest.raises(HostBusy):
        charge("2001:db8:5:5::3")
    charge("2001:db8:5:6::1")  # the next /64 is another server


def test_the_cap_error_says_when_to_retry_and_names_no_server(
    server: HTTPServer,
    cap: Callable[[int], None],
    resolver: Callable[..., object],
    throttle_clock: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cap(1)
    resolver("127.0.0.1")
    server.expect_request("/").respond_with_data("ok")
    fetch(f"http://a.example:{server.port}/")
    throttle_clock.advance(14.5)  # type: ignore[attr-defined]

    with caplog.at_level(logging.INFO, logger="backlinks_django.fetch"):
        with pytest.raises(HostBusy) as raised:
            fetch(f"http://a.example:{server.port}/")

    assert isinstance(raised.value, FetchError)
    assert raised.value.retry_after == 46
    assert "46 seconds" in raised.value.message
    assert "a.example" not in raised.value.message
    assert "127.0.0.1" not in raised.value.message
    assert "127.0.0.1" in caplog.text


def test_outbound_fetches_have_their_own_budget(
    server: HTTPServer, cap: Callable[[int], None]
) -> None:
    cap(2)
    server.expect_request("/").respond_with_data("ok")
    url = server.url_for("/")
    for _ in range(2):
        fetch(url)
    with pytest.raises(HostBusy):
        fetch(url)

    with outbound():
        assert fetch(url).status == 200
        assert fetch(url).status == 200
        with pytest.raises(HostBusy):
            fetch(url)


def test_outbound_fetches_leave_the_inbound_budget_alone(
    server: HTTPServer, cap: Callable[[int], None]
) -> None:
    cap(1)
    server.expect_request("/").respond_with_data("ok")
    url = server.url_for("/")
    with outbound():
        fetch(url)

    assert fetch(url).status == 200


def test_fetches_count_as_inbound_again_after_the_outbound_block(
    server: HTTPServer, cap: Callable[[int], None]
) -> None:
    cap(1)
    server.expect_request("/").respond_with_data("ok")
    url = server.url_for("/")
    with outbound():
        fetch(url)
    fetch(url)

    with pytest.raises(HostBusy):
        fetch(url)


def test_outbound_is_exported_by_the_package() -> None:
    assert fetch_module.outbound is outbound
