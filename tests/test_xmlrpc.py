"""The compatibility layer around django-xmlrpc 0.1.8."""

from __future__ import annotations

import inspect

from backlinks_django.protocols.pingback import loads
from backlinks_django.xmlrpc import get_dispatcher


def test_dispatcher_comes_from_django_xmlrpc():
    from django_xmlrpc.dispatcher import DjangoXMLRPCDispatcher

    assert isinstance(get_dispatcher(), DjangoXMLRPCDispatcher)


def test_only_the_pingback_methods_are_registered():
    assert sorted(get_dispatcher().funcs) == ["pingback.extensions.getPingbacks", "pingback.ping"]


def test_inspect_is_left_as_python_ships_it():
    get_dispatcher()
    assert not hasattr(inspect, "getargspec")


def test_loads_reads_a_pingback_call():
    body = (
        b'<?xml version="1.0"?>\n<methodCall>\n<methodName>pingback.ping</methodName>\n<params>\n'
        b"<param><value><string>http://127.0.0.1:8081/?p=6</string></value></param>\n"
        b"<param><value><string>http://127.0.0.1:33461/target</string></value></param>\n"
        b"</params></methodCall>"
    )  # as WordPress 6.1.9 sent it (../shared/wire)

    assert loads(body) == (
        ("http://127.0.0.1:8081/?p=6", "http://127.0.0.1:33461/target"),
        "pingback.ping",
    )


def test_request_bodies_are_not_logged(client, site, caplog):
    import logging
    import xmlrpc.client

    caplog.set_level(logging.DEBUG)
    client.post(
        "/backlinks/xmlrpc/",
        xmlrpc.client.dumps(("secret-marker",), "pingback.ping"),
        content_type="text/xml",
    )

    assert "secret-marker" not in caplog.text
