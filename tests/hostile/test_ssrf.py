"""SSRF: every way of spelling or reaching an internal address is refused without connecting.

All tests run with the loopback allowance off (``ALLOWED_NETWORKS=[]``) and any port allowed,
so only the address guard stands between the fetcher and the connection counter; see
``conftest.py`` for the counter, the simulated network and the fake DNS.
"""

from __future__ import annotations

import xmlrpc.client
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.test import override_settings

from backlinks_django.fetch import AddressNotAllowed, FetchError, InvalidURL, fetch
from backlinks_django.models import Backlink
from tests.hostile.conftest import (
    PUBLIC_ADDRESS,
    ConnectionCounter,
    FakeDNS,
    SimulatedNetwork,
    redirecting,
)
from tests.settings import BACKLINKS as BASE

pytestmark = pytest.mark.hostile

Answers = tuple[tuple[str, tuple[str, ...]], ...]

# (id, URL template, DNS answers). {port} is the counter's port (on 127.0.0.1 and ::1).
FORMS: list[tuple[str, str, Answers]] = [
    # Numeric IPv4 spellings the system resolver (inet_aton) accepts.
    ("decimal", "http://2130706433:{port}/", ()),
    ("octal-dotted", "http://0177.0.0.1:{port}/", ()),
    ("octal-whole", "http://017700000001:{port}/", ()),
    ("hex-dotted", "http://0x7f.0.0.1:{port}/", ()),
    ("hex-whole", "http://0x7f000001:{port}/", ()),
    ("short-127.1", "http://127.1:{port}/", ()),
    ("short-127.0.1", "http://127.0.1:{port}/", ()),
    ("hex-short", "http://0x7f.1:{port}/", ()),
    ("leading-zeros", "http://127.000.000.001:{port}/", ()),
    ("unspecified", "http://0.0.0.0:{port}/", ()),
    ("zero", "http://0:{port}/", ()),
    ("loopback-other", "http://127.255.255.254:{port}/", ()),
    # IPv6 literals standing for loopback.
    ("ipv6-loopback", "http://[::1]:{port}/", ()),
    ("ipv6-loopback-long", "http://[0000:0000:0000:0000:0000:0000:0000:0001]:{port}/", ()),
    ("ipv6-unspecified", "http://[::]:{port}/", ()),
    ("ipv6-mapped", "http://[::ffff:127.0.0.1]:{port}/", ()),
    ("ipv6-mapped-hex", "http://[::ffff:7f00:1]:{port}/", ()),
    ("ipv6-mapped-long", "http://[0:0:0:0:0:ffff:127.0.0.1]:{port}/", ()),
    ("ipv6-compatible", "http://[::127.0.0.1]:{port}/", ()),
    ("ipv6-translated", "http://[::ffff:0:127.0.0.1]:{port}/", ()),
    ("ipv6-nat64", "http://[64:ff9b::127.0.0.1]:{port}/", ()),
    ("ipv6-6to4", "http://[2002:7f00:1::1]:{port}/", ()),
    ("link-local-zone", "http://[fe80::1%25lo]:{port}/", ()),
    ("link-local-zone-raw", "http://[fe80::1%lo]:{port}/", ()),
    # Cloud metadata.
    ("metadata-literal", "http://169.254.169.254:{port}/latest/meta-data/", ()),
    ("metadata-dns", "http://metadata.test:{port}/", (("metadata.test", ("169.254.169.254",)),)),
    # Local names (the fake DNS answers loopback for names, as a resolver would).
    ("localhost", "http://localhost:{port}/", ()),
    ("localhost-upper", "http://LOCALHOST:{port}/", ()),
    ("localhost-trailing-dot", "http://localhost.:{port}/", ()),
    ("localhost-localdomain", "http://localhost.localdomain:{port}/", ()),
    ("sub-localhost", "http://sub.localhost:{port}/", ()),
    ("localhost-ipv6-answer", "http://ip6-localhost:{port}/", (("ip6-localhost", ("::1",)),)),
    ("ip-trailing-dot", "http://127.0.0.1.:{port}/", ()),
    # User-info and parser confusion.
    ("userinfo-before-loopback", "http://example.com@127.0.0.1:{port}/", ()),
    ("userinfo-port-trick", "http://127.0.0.1:{port}@example.com/", ()),
    ("userinfo-user-pass", "http://user:pass@127.0.0.1:{port}/", ()),
    ("backslash-at", "http://example.com\\@127.0.0.1:{port}/", ()),
    ("fragment-at", "http://127.0.0.1:{port}#@example.com/", ()),
    ("percent-encoded-host", "http://%31%32%37.0.0.1:{port}/", ()),
    ("uppercase-scheme", "HTTP://127.0.0.1:{port}/", ()),
    ("https-scheme", "https://127.0.0.1:{port}/", ()),
    # Unicode hosts that IDNA maps to ASCII.
    ("fullwidth-digits", "http://１２７.０.０.１:{port}/", ()),
    ("ideographic-full-stops", "http://127。0。0。1:{port}/", ()),
    ("enclosed-letters", "http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ:{port}/", ()),
    # Names whose DNS answers are internal.
    ("dns-10", "http://internal.test:{port}/", (("internal.test", ("10.0.0.1",)),)),
    ("dns-172.16", "http://internal.test:{port}/", (("internal.test", ("172.16.0.1",)),)),
    ("dns-192.168", "http://internal.test:{port}/", (("internal.test", ("192.168.1.1",)),)),
    ("dns-cgnat", "http://internal.test:{port}/", (("internal.test", ("100.64.0.1",)),)),
    ("dns-ula", "http://internal.test:{port}/", (("internal.test", ("fc00::1",)),)),
    ("dns-link-local", "http://internal.test:{port}/", (("internal.test", ("fe80::1",)),)),
    ("dns-mapped-10", "http://internal.test:{port}/", (("internal.test", ("::ffff:10.0.0.1",)),)),
    ("dns-loopback", "http://www.example.com:{port}/", (("www.example.com", ("127.0.0.1",)),)),
    (
        "dns-mixed-public-first",
        "http://mixed.test:{port}/",
        (("mixed.test", (PUBLIC_ADDRESS, "10.0.0.1")),),
    ),
    (
        "dns-mixed-private-first",
        "http://mixed.test:{port}/",
        (("mixed.test", ("127.0.0.1", PUBLIC_ADDRESS)),),
    ),
    (
        # RFC 8215 local-use NAT64 prefix (IANA: not globally reachable): a local translator
        # turns 64:ff9b:1::a00:1 into 10.0.0.1.
        "dns-local-use-nat64",
        "http://internal.test:{port}/",
        (("internal.test", ("64:ff9b:1::a00:1",)),),
    ),
]

FORM_PARAMS = [pytest.param(url, answers, id=name) for name, url, answers in FORMS]

NO_PRIVATE_NETWORKS = {**BASE, "ALLOWED_NETWORKS": [], "ALLOWED_PORTS": None}


@contextmanager
def guard_only() -> Iterator[None]:
    """The loopback allowance off, any port allowed: only the address guard is left."""
    with override_settings(BACKLINKS=NO_PRIVATE_NETWORKS):
        yield


def refusal(url: str, **kwargs: Any) -> FetchError:
    """Fetch ``url`` expecting a refusal (not a failed attempt) and return it."""
    with pytest.raises(FetchError) as info:
        fetch(url, **kwargs)
    assert isinstance(info.value, AddressNotAllowed | InvalidURL), info.value
    return info.value


def apply(dns: FakeDNS, answers: Answers) -> None:
    for name, addresses in answers:
        dns.answer(name, addresses)


# --- One fetch per form --------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "answers"), FORM_PARAMS)
def test_ssrf_form_is_refused_without_connecting(
    url: str,
    answers: Answers,
    counter: ConnectionCounter,
    network: SimulatedNetwork,
    dns: FakeDNS,
) -> None:
    apply(dns, answers)

    with guard_only():
        refusal(url.format(port=counter.port))

    assert counter.connections() == 0
    assert network.attempts == []


def test_every_ssrf_form_is_distinct() -> None:
    assert len({(url, answers) for _, url, answers in FORMS}) == len(FORMS) >= 40


# --- Redirect chains that start public and end inside ----------------------------------------------


@pytest.fixture
def public_redirector(
    raw_servers: Callable[..., Any], network: SimulatedNetwork, dns: FakeDNS, settings: Any
) -> Callable[..., Any]:
    """A "public" site: public.test resolves to 127.0.0.2, the only address allowed.

    Returns ``start(routes)``, which serves ``routes`` there and returns the server.
    """
    settings.BACKLINKS = {**BASE, "ALLOWED_NETWORKS": ["127.0.0.2/32"], "ALLOWED_PORTS": None}
    dns.answer("public.test", ("127.0.0.2",))

    def start(routes: dict[str, tuple[int, str]]) -> Any:
        server = raw_servers(redirecting(routes), host="127.0.0.2")
        network.add_server("127.0.0.2", server.port)
        return server

    return start


REDIRECT_TARGETS = [
    pytest.param("http://127.0.0.1:{port}/", id="to-loopback"),
    pytest.param("http://[::1]:{port}/", id="to-ipv6-loopback"),
    pytest.param("http://0.0.0.0:{port}/", id="to-unspecified"),
    pytest.param("http://[::ffff:127.0.0.1]:{port}/", id="to-ipv6-mapped"),
    pytest.param("http://localhost:{port}/", id="to-localhost"),
    pytest.param("http://2130706433:{port}/", id="to-decimal"),
    pytest.param("//127.0.0.1:{port}/", id="to-scheme-relative-loopback"),
    pytest.param("http://169.254.169.254/latest/meta-data/", id="to-metadata"),
    pytest.param("http://10.0.0.1:{port}/", id="to-private"),
    pytest.param("http://user@127.0.0.1:{port}/", id="to-userinfo"),
]


@pytest.mark.parametrize("location", REDIRECT_TARGETS)
def test_redirect_from_a_public_site_to_an_internal_address_is_refused(
    location: str,
    public_redirector: Callable[..., Any],
    counter: ConnectionCounter,
    network: SimulatedNetwork,
) -> None:
    server = public_redirector({"/start": (302, location.format(port=counter.port))})

    refusal(f"http://public.test:{server.port}/start")

    assert server.connections_so_far() == 1
    assert counter.connections() == 0
    assert network.internal_attempts() == []


def test_redirect_chain_ending_inside_is_refused_at_its_last_hop(
    public_redirector: Callable[..., Any],
    counter: ConnectionCounter,
    network: SimulatedNetwork,
    dns: FakeDNS,
) -> None:
    dns.answer("intranet.test", ("192.168.0.10",))
    server = public_redirector(
        {
            "/start": (301, "/hop"),
            "/hop": (302, "/hop2"),
            "/hop2": (303, f"http://intranet.test:{counter.port}/admin"),
        }
    )

    refusal(f"http://public.test:{server.port}/start")

    assert server.connections_so_far() == 3
    assert counter.connections() == 0
    assert network.internal_attempts() == []


@pytest.mark.parametrize("status", [307, 308])
def test_post_redirected_with_307_or_308_to_loopback_is_refused(
    status: int,
    public_redirector: Callable[..., Any],
    counter: ConnectionCounter,
    network: SimulatedNetwork,
) -> None:
    server = public_redirector({"/rpc": (status, f"http://127.0.0.1:{counter.port}/rpc")})

    refusal(
        f"http://public.test:{server.port}/rpc",
        method="POST",
        data=b"<methodCall/>",
        headers={"Content-Type": "text/xml"},
    )

    assert server.connections_so_far() == 1
    assert counter.connections() == 0
    assert network.internal_attempts() == []


# --- DNS rebinding -------------------------------------------------------------------------------
#
# The resolver answers a public address first and loopback afterwards. A sound fetcher looks the
# name up once per hop and connects to the address it checked: the simulated network sees one
# attempt, to the public address (which it cannot reach), and the counter none. A fetcher that
# checked one answer and let the HTTP library resolve again would connect by name (the simulated
# network sends names to the counter) or to 127.0.0.1, and would show a second lookup.


def test_rebinding_name_is_resolved_once_and_connected_at_the_checked_address(
    counter: ConnectionCounter, network: SimulatedNetwork, dns: FakeDNS
) -> None:
    dns.answer("rebind.test", (PUBLIC_ADDRESS,), ("127.0.0.1",))

    with guard_only(), pytest.raises(FetchError):
        fetch(f"http://rebind.test:{counter.port}/")

    assert dns.lookups("rebind.test") == 1
    assert network.attempts == [PUBLIC_ADDRESS]
    assert counter.connections() == 0


def test_rebinding_between_redirect_hops_is_checked_again(
    public_redirector: Callable[..., Any],
    counter: ConnectionCounter,
    network: SimulatedNetwork,
    dns: FakeDNS,
) -> None:
    dns.answer("rebind.test", ("127.0.0.2",), ("127.0.0.1",))
    server = public_redirector({"/": (302, "/again")})

    refusal(f"http://rebind.test:{server.port}/")

    assert dns.lookups("rebind.test") == 2  # one per hop
    assert network.attempts == ["127.0.0.2"]
    assert counter.connections() == 0


# --- End to end through the pingback endpoint --------------------------------------------------

END_TO_END = [
    "decimal",
    "octal-dotted",
    "hex-whole",
    "short-127.1",
    "zero",
    "ipv6-loopback",
    "ipv6-mapped",
    "ipv6-compatible",
    "link-local-zone",
    "metadata-dns",
    "localhost-trailing-dot",
    "userinfo-before-loopback",
    "backslash-at",
    "fullwidth-digits",
    "dns-10",
    "dns-mixed-public-first",
]
END_TO_END_PARAMS = [
    pytest.param(url, answers, id=name) for name, url, answers in FORMS if name in END_TO_END
]


def ping_fault(call: Callable[..., Any], source: str, target: str) -> int:
    with pytest.raises(xmlrpc.client.Fault) as info:
        call("pingback.ping", source, target)
    return int(info.value.faultCode)


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "answers"), END_TO_END_PARAMS)
def test_pingback_with_ssrf_source_is_fault_16_without_connecting(
    url: str,
    answers: Answers,
    xmlrpc_call: Callable[..., Any],
    article_url: str,
    counter: ConnectionCounter,
    network: SimulatedNetwork,
    dns: FakeDNS,
) -> None:
    apply(dns, answers)

    with guard_only():
        code = ping_fault(xmlrpc_call, url.format(port=counter.port), article_url)

    assert code == 16
    assert counter.connections() == 0
    assert network.attempts == []
    assert not Backlink.objects.exists()


@pytest.mark.django_db
def test_pingback_source_redirecting_to_loopback_is_fault_16_without_connecting(
    xmlrpc_call: Callable[..., Any],
    article_url: str,
    public_redirector: Callable[..., Any],
    counter: ConnectionCounter,
    network: SimulatedNetwork,
) -> None:
    server = public_redirector({"/post": (302, f"http://127.0.0.1:{counter.port}/")})

    code = ping_fault(xmlrpc_call, f"http://public.test:{server.port}/post", article_url)

    assert code == 16
    assert counter.connections() == 0
    assert network.internal_attempts() == []
    assert not Backlink.objects.exists()


@pytest.mark.django_db
def test_pingback_source_on_a_rebinding_name_is_fault_16_without_connecting(
    xmlrpc_call: Callable[..., Any],
    article_url: str,
    counter: ConnectionCounter,
    network: SimulatedNetwork,
    dns: FakeDNS,
) -> None:
    dns.answer("rebind.test", (PUBLIC_ADDRESS,), ("127.0.0.1",))

    with guard_only():
        code = ping_fault(xmlrpc_call, f"http://rebind.test:{counter.port}/post", article_url)

    assert code == 16
    assert dns.lookups("rebind.test") == 1
    assert network.attempts == [PUBLIC_ADDRESS]
    assert counter.connections() == 0
