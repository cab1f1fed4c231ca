"""The address guard (fetch.guard): only public or explicitly allowed addresses are reached."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

import pytest
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from backlinks_django.exceptions import AddressNotAllowed, ConnectionFailed
from backlinks_django.fetch import check_address, fetch, resolve_host
from tests.fetch.rawserver import RawServer

# --- Refused before connecting -------------------------------------------------------------------


def test_default_settings_refuse_loopback_without_connecting(
    configure: Callable[..., None], raw_server: Callable[..., RawServer]
) -> None:
    configure(ALLOWED_NETWORKS=[])
    listener = raw_server()

    with pytest.raises(AddressNotAllowed):
        fetch(listener.url())

    assert listener.connections_so_far() == 0


def test_default_settings_refuse_localhost_by_name(
    configure: Callable[..., None], raw_server: Callable[..., RawServer]
) -> None:
    configure(ALLOWED_NETWORKS=[])
    listener = raw_server()

    with pytest.raises(AddressNotAllowed):
        fetch(f"http://localhost:{listener.port}/")

    assert listener.connections_so_far() == 0


def test_default_settings_refuse_ipv6_loopback_literal(configure: Callable[..., None]) -> None:
    configure(ALLOWED_NETWORKS=[])

    with pytest.raises(AddressNotAllowed):
        fetch("http://[::1]:9/")


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "127.0.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "240.0.0.1",
        "192.0.2.1",
        "198.18.0.1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "fec0::1",
        "ff02::1",
        "2001:db8::1",
        "64:ff9b::a00:1",
        "2002:7f00:1::1",
        "::127.0.0.1",
    ],
)
def test_name_resolving_to_refused_address_is_refused(
    address: str,
    configure: Callable[..., None],
    resolver: Callable[..., list[tuple[str, int]]],
) -> None:
    configure(ALLOWED_NETWORKS=[])
    resolver(address)

    with pytest.raises(AddressNotAllowed) as excinfo:
        fetch("http://internal.invalid/")

    assert "internal.invalid" in excinfo.value.message
    assert address not in excinfo.value.message


def test_name_with_one_allowed_and_one_refused_address_is_refused(
    configure: Callable[..., None],
    raw_server: Callable[..., RawServer],
    resolver: Callable[..., list[tuple[str, int]]],
) -> None:
    configure(ALLOWED_NETWORKS=["127.0.0.1/32"])
    listener = raw_server()
    resolver("127.0.0.1", "10.0.0.1")

    with pytest.raises(AddressNotAllowed):
        fetch(f"http://mixed.invalid:{listener.port}/")

    assert listener.connections_so_far() == 0


# --- check_address -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses_are_allowed(address: str, configure: Callable[..., None]) -> None:
    configure(ALLOWED_NETWORKS=[])

    check_address(address)


def test_allowed_networks_admit_a_private_range(configure: Callable[..., None]) -> None:
    configure(ALLOWED_NETWORKS=["10.0.0.0/8"])

    check_address("10.1.2.3")
    with pytest.raises(AddressNotAllowed):
        check_address("192.168.1.1")


def test_allowed_networks_admit_the_mapped_form_of_an_allowed_ipv4(
    configure: Callable[..., None],
) -> None:
    configure(ALLOWED_NETWORKS=["127.0.0.0/8"])

    check_address("::ffff:127.0.0.1")


def test_invalid_address_string_is_not_allowed() -> None:
    with pytest.raises(AddressNotAllowed):
        check_address("not-an-ip")


@given(st.ip_addresses(v=4))
def test_embedded_ipv4_forms_are_judged_like_the_ipv4_address(
    address: ipaddress.IPv4Address,
) -> None:
    def refused(ip: str) -> bool:
        try:
            check_address(ip)
        except AddressNotAllowed:
            return True
        return False

    packed = int(address)
    forms = [
        f"::ffff:{address}",
        str(ipaddress.IPv6Address((0x0064FF9B << 96) | packed)),  # NAT64
        str(ipaddress.IPv6Address((0x2002 << 112) | (packed << 80) | 1)),  # 6to4
    ]
    with override_settings(BACKLINKS={"ALLOWED_PORTS": None}):
        expected = refused(str(address))
        assert [refused(form) for form in forms] == [expected] * len(forms)


@given(st.text(max_size=60))
def test_check_address_raises_nothing_but_address_not_allowed(text: str) -> None:
    try:
        check_address(text)
    except AddressNotAllowed:
        pass


# --- Resolving -----------------------------------------------------------------------------------


def test_host_is_resolved_exactly_once_per_hop(
    server: HTTPServer, resolver: Callable[..., list[tuple[str, int]]]
) -> None:
    calls = resolver("127.0.0.1")
    server.expect_request("/a").respond_with_data("", status=302, headers={"Location": "/b"})
    server.expect_request("/b").respond_with_data("ok")

    fetch(f"http://localhost:{server.port}/a")

    assert calls == [("localhost", server.port), ("localhost", server.port)]


def test_resolve_host_returns_addresses_as_strings() -> None:
    assert resolve_host("127.0.0.1", 80) == ["127.0.0.1"]


def test_resolve_host_failure_is_connection_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)

    with pytest.raises(ConnectionFailed):
        resolve_host("nothing.invalid", 80)


def test_the_suite_resolves_no_name_beyond_this_machine() -> None:
    """tests/conftest.py: no test sends a DNS query; loopback names and numbers still work."""
    with pytest.raises(socket.gaierror, match="tests do not resolve"):
        socket.getaddrinfo("example.com", 80)

    assert resolve_host("sub.localhost", 80) and resolve_host("127.1", 80) == ["127.0.0.1"]
