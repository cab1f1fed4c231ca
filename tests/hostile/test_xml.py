"""Hostile XML sent to the XML-RPC endpoint: every one is a fault, quick and small, never a 500."""

from __future__ import annotations

import time
import xmlrpc.client

import pytest
from django.test import Client, override_settings

from backlinks_django.models import Backlink
from tests.hostile.conftest import ConnectionCounter
from tests.hostile.measure import measured
from tests.settings import BACKLINKS as BASE

pytestmark = [pytest.mark.hostile, pytest.mark.django_db]

ENDPOINT = "/backlinks/xmlrpc/"
PARSE_ERROR = -32700
INVALID_REQUEST = -32600

CALL_HEAD = "<methodCall><methodName>pingback.ping</methodName><params><param><value>"
CALL_TAIL = "</value></param></params></methodCall>"


def call_with(value: str, doctype: str = "") -> bytes:
    """A pingback.ping call whose one parameter is ``value``, after an optional DOCTYPE."""
    return f'<?xml version="1.0"?>{doctype}{CALL_HEAD}{value}{CALL_TAIL}'.encode()


def post(client: Client, body: bytes, **extra: str) -> xmlrpc.client.Fault:
    """POST ``body``; the answer must be a 200 text/xml fault, which is returned."""
    response = client.post(ENDPOINT, body, content_type="text/xml", **extra)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert b"Traceback" not in response.content
    with pytest.raises(xmlrpc.client.Fault) as info:
        xmlrpc.client.loads(response.content)
    return info.value


def fault_code(client: Client, body: bytes) -> int:
    return int(post(client, body).faultCode)


# --- Entity expansion --------------------------------------------------------------------------


def laughs_doctype(levels: int = 10, fanout: int = 10) -> str:
    entities = ['<!ENTITY lol0 "lol">']
    for level in range(1, levels):
        refs = f"&lol{level - 1};" * fanout
        entities.append(f'<!ENTITY lol{level} "{refs}">')
    return "<!DOCTYPE methodCall [" + "".join(entities) + "]>"


def test_billion_laughs_is_a_fault_quickly_and_small(client: Client, site: object) -> None:
    body = call_with("<string>&lol9;</string>", laughs_doctype())

    with measured() as cost:
        code = fault_code(client, body)

    assert code == PARSE_ERROR
    assert cost.cpu_seconds < 1.0
    assert cost.peak_bytes < 5_000_000


def test_quadratic_blowup_is_a_fault_quickly_and_small(client: Client, site: object) -> None:
    # 25 KB entity referenced 10,000 times: 60 KB on the wire, 250 MB if expanded.
    doctype = f'<!DOCTYPE methodCall [<!ENTITY a "{"x" * 25_000}">]>'
    body = call_with("<string>" + "&a;" * 10_000 + "</string>", doctype)
    assert len(body) < 65536  # the default XMLRPC_MAX_BODY
    assert 25_000 * 10_000 > 50_000_000

    with measured() as cost:
        code = fault_code(client, body)

    assert code == PARSE_ERROR
    assert cost.cpu_seconds < 1.0
    assert cost.peak_bytes < 5_000_000


def test_internal_parameter_entities_are_a_fault(client: Client, site: object) -> None:
    doctype = (
        "<!DOCTYPE methodCall [<!ENTITY % p \"<!ENTITY e '&#x26;#x6c;ol'>\"> %p;"
        '<!ENTITY % q "&#x25;p;&#x25;p;"> %q;]>'
    )
    body = call_with("<string>&e;</string>", doctype)

    with measured() as cost:
        code = fault_code(client, body)

    assert code == PARSE_ERROR
    assert cost.cpu_seconds < 1.0
    assert cost.peak_bytes < 5_000_000


# --- External resources: never fetched ------------------------------------------------------------


def external_doctypes(port: int) -> list[str]:
    url = f"http://127.0.0.1:{port}"
    return [
        f'<!DOCTYPE methodCall [<!ENTITY x SYSTEM "{url}/entity">]>',
        f'<!DOCTYPE methodCall [<!ENTITY x PUBLIC "-//evil//x" "{url}/public">]>',
        f'<!DOCTYPE methodCall SYSTEM "{url}/external.dtd">',
        f'<!DOCTYPE methodCall [<!ENTITY % p SYSTEM "{url}/param.dtd"> %p;]>',
        f'<!DOCTYPE methodCall [<!ENTITY % p SYSTEM "{url}/param.dtd"> %p; <!ENTITY x "y">]>',
    ]


@pytest.mark.parametrize(
    "index",
    range(5),
    ids=[
        "entity-system",
        "entity-public",
        "external-dtd",
        "parameter-entity",
        "param-then-entity",
    ],
)
def test_external_entities_and_dtds_are_a_fault_without_connecting(
    client: Client, site: object, counter: ConnectionCounter, index: int
) -> None:
    doctype = external_doctypes(counter.port)[index]
    value = "<string>&x;</string>" if "ENTITY x" in doctype else "<string>v</string>"

    with measured() as cost:
        code = fault_code(client, call_with(value, doctype))

    assert code == PARSE_ERROR
    assert cost.cpu_seconds < 1.0
    assert cost.peak_bytes < 5_000_000
    assert counter.connections() == 0


def test_external_file_entity_is_a_fault_and_not_read(client: Client, site: object) -> None:
    doctype = '<!DOCTYPE methodCall [<!ENTITY x SYSTEM "file:///etc/passwd">]>'

    fault = post(client, call_with("<string>&x;</string>", doctype))

    assert fault.faultCode == PARSE_ERROR
    assert "root:" not in fault.faultString


# --- Size --------------------------------------------------------------------------------------


def test_one_megabyte_body_is_refused_before_parsing(client: Client, site: object) -> None:
    # A well-formed call: parsing it would lead to fault 0 or 16, not -32600.
    body = xmlrpc.client.dumps(
        ("http://a.example/" + "x" * 1_000_000, "http://testserver/articles/target/"),
        "pingback.ping",
    ).encode()

    started = time.monotonic()
    fault = post(client, body)

    assert fault.faultCode == INVALID_REQUEST
    assert time.monotonic() - started < 0.5


def test_unparsable_content_length_is_refused(client: Client, site: object) -> None:
    body = xmlrpc.client.dumps(("a", "b"), "pingback.ping").encode()

    assert post(client, body, CONTENT_LENGTH="12abc").faultCode == INVALID_REQUEST


# --- Encodings and bytes -------------------------------------------------------------------------

NO_PARAMS = "<methodCall><methodName>pingback.ping</methodName><params/></methodCall>"


def declared(encoding: str, data: bytes | None = None) -> bytes:
    head = f'<?xml version="1.0" encoding="{encoding}"?>'
    return data if data is not None else (head + NO_PARAMS).encode("ascii")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # Real documents in a declared encoding: parsed; no arguments is fault 0.
        pytest.param(declared("iso-8859-1"), 0, id="latin-1"),
        pytest.param(
            ('<?xml version="1.0" encoding="utf-16"?>' + NO_PARAMS).encode("utf-16"),
            0,
            id="utf-16",
        ),
        # Declared encodings the bytes are not in, or that expat cannot use.
        pytest.param(declared("utf-16"), PARSE_ERROR, id="utf-16-declared-ascii-bytes"),
        pytest.param(declared("utf-7"), PARSE_ERROR, id="utf-7"),
        pytest.param(declared("shift_jis"), PARSE_ERROR, id="shift-jis"),
        pytest.param(declared("cp037"), PARSE_ERROR, id="ebcdic"),
        pytest.param(declared("x-no-such-encoding"), PARSE_ERROR, id="unknown"),
        pytest.param(declared("base64"), PARSE_ERROR, id="non-text-codec-base64"),
        pytest.param(declared("rot13"), PARSE_ERROR, id="non-text-codec-rot13"),
        pytest.param(declared("zlib_codec"), PARSE_ERROR, id="non-text-codec-zlib"),
        pytest.param(b"\xff\xfe<\x00m\x00", PARSE_ERROR, id="truncated-utf-16-bom"),
        pytest.param(
            ('<?xml version="1.0"?>' + NO_PARAMS).encode() + b"\x80\x81",
            PARSE_ERROR,
            id="bad-utf8",
        ),
    ],
)
def test_declared_encodings_give_a_fault(
    client: Client, site: object, body: bytes, expected: int
) -> None:
    assert fault_code(client, body) == expected


@pytest.mark.parametrize(
    "body",
    [
        b"\x00",
        b"<methodCall>\x00</methodCall>",
        call_with("<string>a\x00b</string>"),
        call_with("<string>a&#0;b</string>"),
        b"<methodCall><methodName>pingback.ping\x00</methodName></methodCall>",
    ],
    ids=["nul-only", "nul-in-element", "nul-in-string", "nul-char-reference", "nul-in-method"],
)
def test_nul_bytes_are_a_parse_fault(client: Client, site: object, body: bytes) -> None:
    assert fault_code(client, body) == PARSE_ERROR


# --- Structure --------------------------------------------------------------------------------


@override_settings(BACKLINKS={**BASE, "XMLRPC_MAX_BODY": 1024 * 1024})
@pytest.mark.parametrize(
    ("open_tag", "close_tag"),
    [
        ("<array><data><value>", "</value></data></array>"),
        ("<struct><member><name>m</name><value>", "</value></member></struct>"),
    ],
    ids=["arrays", "structs"],
)
def test_ten_thousand_nested_values_are_a_fault_without_recursion_error(
    client: Client, site: object, open_tag: str, close_tag: str
) -> None:
    depth = 10_000
    body = call_with(open_tag * depth + "<string>x</string>" + close_tag * depth)
    assert len(body) < 1024 * 1024  # within the (raised) body limit

    with measured() as cost:
        code = fault_code(client, body)

    assert code == 0  # parsed: a nested value is not a string argument
    assert cost.cpu_seconds < 2.0


def test_nesting_as_deep_as_the_default_limit_allows_is_a_fault(
    client: Client, site: object
) -> None:
    depth = (65536 - 200) // len("<array><data></data></array>")
    body = call_with("<array><data>" * depth + "</data></array>" * depth)
    assert len(body) <= 65536

    assert fault_code(client, body) == 0


# --- Well-formed XML that is no valid XML-RPC call ---------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            xmlrpc.client.dumps(xmlrpc.client.Fault(16, "x"), methodresponse=True).encode(),
            id="fault-response-instead-of-call",
        ),
        pytest.param(
            b"<methodCall><methodName>pingback.ping</methodName><fault><value><struct>"
            b"<member><name>faultCode</name><value><int>1</int></value></member>"
            b"<member><name>faultString</name><value>x</value></member>"
            b"</struct></value></fault></methodCall>",
            id="fault-inside-call",
        ),
        pytest.param(
            call_with("<struct><member><value><string>v</string></value></member></struct>"),
            id="struct-member-without-name",
        ),
        pytest.param(
            call_with("<struct><member><name>k</name></member></struct>"),
            id="struct-member-without-value",
        ),
        pytest.param(call_with("<bigdecimal>not a number</bigdecimal>"), id="bad-bigdecimal"),
        pytest.param(call_with("<int>" + "9" * 5000 + "</int>"), id="int-with-5000-digits"),
        pytest.param(call_with("<int>12abc</int>"), id="bad-int"),
        pytest.param(call_with("<double>one</double>"), id="bad-double"),
        pytest.param(call_with("<boolean>2</boolean>"), id="bad-boolean"),
        pytest.param(call_with("<base64>A</base64>"), id="bad-base64"),
        pytest.param(call_with("<unknown>x</unknown>"), id="unknown-type"),
        pytest.param(b"<methodCall><params><param>", id="truncated"),
        pytest.param(b"<methodCall></methodCall><methodCall/>", id="two-roots"),
    ],
)
def test_malformed_xmlrpc_is_a_parse_or_request_fault(
    client: Client, site: object, body: bytes
) -> None:
    assert fault_code(client, body) in (PARSE_ERROR, INVALID_REQUEST)
    assert not Backlink.objects.exists()
