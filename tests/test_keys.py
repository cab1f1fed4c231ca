"""Sender and source-domain keys: what one person controls counts as one."""

import pytest
from django.test import override_settings

from backlinks_django.keys import domain_key, sender_key
from backlinks_django.weburl import host_key


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:fffe", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7 ", "203.0.113.7"),
        ("unknown", ""),
        (None, ""),
    ],
)
def test_sender_key(address, key):
    assert sender_key(address) == key


@override_settings(BACKLINKS={"IPV6_PREFIX": 48})
def test_sender_key_prefix_is_a_setting():
    assert sender_key("2001:db8:1:2::1") == sender_key("2001:db8:1:ffff::1") == "2001:db8:1::/48"


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("example.com", "example.com"),
        ("a.b.example.com", "example.com"),
        ("WWW.Example.COM.", "example.com"),
        ("x.y.example.co.uk", "example.co.uk"),
        ("alice.github.io", "alice.github.io"),
        ("a.alice.github.io", "alice.github.io"),
        ("blog.bücher.example", "xn--bcher-kva.example"),
        ("blog.xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("co.uk", "co.uk"),
        ("localhost", "localhost"),
        ("127.0.0.1", "127.0.0.1"),
        ("::1", "::1"),
    ],
)
def test_domain_key(host, key):
    assert domain_key(host) == key


def test_wildcard_subdomains_share_one_key():
    assert len({domain_key(f"n{i}.spam.example") for i in range(1000)}) == 1


def test_domain_key_is_the_registrable_domain_the_encoded_list_finds_for_every_rule():
    """The list is read with its internationalized rules in Unicode only (a quarter of the
    cost of the package's encoded copies): every rule's names, in either spelling, still get
    the key that the encoded list gives."""
    import ipaddress
    from pathlib import Path

    import publicsuffixlist

    encoded = publicsuffixlist.PublicSuffixList()  # the package's default: encoded copies too

    def expected(host: str) -> str:
        key = host_key(host)
        try:
            ipaddress.ip_address(key)
        except ValueError:
            return encoded.privatesuffix(key) or key
        return key

    listed = Path(publicsuffixlist.__file__).with_name("public_suffix_list.dat")
    rules = [
        line.strip().lstrip("!").replace("*.", "w.")
        for line in listed.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("//")
    ]
    assert len(rules) > 5000 and any(not rule.isascii() for rule in rules)
    hosts = [form for rule in rules for form in (f"a.b.{rule}", host_key(f"a.b.{rule}"), rule)]
    assert [domain_key(host) for host in hosts] == [expected(host) for host in hosts]
