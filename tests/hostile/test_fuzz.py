"""Property tests of both endpoints with arbitrary input: an answer in the protocol, never a 500.

Fetches can only go to one loopback port where nothing listens (``ALLOWED_PORTS``), no name
resolves (the resolver hook refuses every name, so no DNS server is asked), and any connection
beyond loopback would be refused and fail the test.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
import xmlrpc.client
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_from_bytes, urlencode

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client, override_settings
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from backlinks_django.models import Backlink, InboundPing
from tests.settings import BACKLINKS as BASE
from tests.testapp.models import Article

pytestmark = [pytest.mark.hostile, pytest.mark.usefixtures("no_dns", "loopback_only")]

ENDPOINT = "/backlinks/xmlrpc/"

fuzz = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def sealed(unused_port: int) -> Iterator[int]:
    """Settings under which no fetch can reach anything; returns the one (closed) port."""
    with override_settings(
        BACKLINKS={
            **BASE,
            "ALLOWED_NETWORKS": ["127.0.0.1/32"],
            "ALLOWED_PORTS": [unused_port],
            "FETCH_CONNECT_TIMEOUT": 0.5,
            "FETCH_DEADLINE": 1.0,
            "RATE_LIMIT_PER_IP": None,
            "RATE_LIMIT_PER_SOURCE_DOMAIN": None,
            "RATE_LIMIT_PER_FETCHED_HOST": None,
        }
    ):
        yield unused_port


# --- Strategies ----------------------------------------------------------------------------------

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


def urls(port: int, article_url: str) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(
            [
                f"http://127.0.0.1:{port}/post",
                f"http://127.0.0.1:{port}/?p=1#x",
                f"https://127.0.0.1:{port}/",
                f"http://[::1]:{port}/",
                f"http://source.test:{port}/post",
                "http://127.0.0.1:22/",
                article_url,
                article_url + "?p=1",
                article_url.upper(),
                "http://testserver/",
                "http://testserver/articles/",
                "http://testserver/articles/missing/",
                "http://other.example/articles/target/",
                "ftp://127.0.0.1/",
                "javascript:alert(1)",
                "http://",
                "http://[::1",
                "",
                # NUL, raw or decoded from a permalink's query: PostgreSQL refuses it in text.
                f"http://127.0.0.1:{port}/\x00",
                "http://testserver/?p=%00",
                article_url + "\x1b",
            ]
        ),
        st.builds(lambda path: f"http://127.0.0.1:{port}/{path}", text),
        st.builds(lambda n: f"http://127.0.0.1:{port}/" + "a" * n, st.integers(0, 70_000)),
        text,
    )


def xmlrpc_values(port: int, article_url: str) -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.integers(-(2**31), 2**31 - 1),
        st.booleans(),
        st.floats(),
        st.none(),
        text,
        st.binary(max_size=40).map(xmlrpc.client.Binary),
        st.datetimes().map(xmlrpc.client.DateTime),
        st.integers(0, 100_000).map(lambda n: "x" * n),
        urls(port, article_url),
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
        max_leaves=12,
    )


def xmlrpc_documents(port: int, article_url: str) -> st.SearchStrategy[bytes]:
    values = xmlrpc_values(port, article_url)
    calls = st.builds(
        lambda params, method: xmlrpc.client.dumps(tuple(params), method, allow_none=True),
        st.one_of(
            st.lists(values, max_size=4),
            st.tuples(urls(port, article_url), urls(port, article_url)),
            st.tuples(urls(port, article_url)),
        ),
        st.one_of(
            st.sampled_from(
                [
                    "pingback.ping",
                    "pingback.extensions.getPingbacks",
                    "system.multicall",
                    "system.listMethods",
                    "",
                ]
            ),
            text,
        ),
    )
    responses = st.one_of(
        st.builds(
            lambda value: xmlrpc.client.dumps((value,), methodresponse=True, allow_none=True),
            values,
        ),
        st.builds(
            lambda code, message: xmlrpc.client.dumps(
                xmlrpc.client.Fault(code, message), methodresponse=True
            ),
            st.integers(-(2**31), 2**31 - 1),
            text,
        ),
    )
    return st.one_of(calls, responses).map(lambda doc: doc.encode("utf-8"))


# --- XML-RPC endpoint ----------------------------------------------------------------------------


def check_xmlrpc_answer(client: Client, body: bytes, content_type: str = "text/xml") -> None:
    """The answer is a 200 text/xml methodResponse: a fault, or a string (a list for
    getPingbacks); never a 500 or a traceback; nothing is stored."""
    response = client.generic("POST", ENDPOINT, body, content_type=content_type)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert b"Traceback" not in response.content
    try:
        (result,), _ = xmlrpc.client.loads(response.content)
    except xmlrpc.client.Fault as fault:
        assert isinstance(fault.faultCode, int)
        assert isinstance(fault.faultString, str)
    else:
        assert isinstance(result, str) or (
            isinstance(result, list) and all(isinstance(item, str) for item in result)
        )
    assert not Backlink.objects.exists()


@pytest.mark.django_db
@fuzz
@given(body=st.binary(max_size=3000))
def test_arbitrary_bytes_to_the_xmlrpc_endpoint_get_a_fault(
    client: Client, site: object, sealed: int, body: bytes
) -> None:
    check_xmlrpc_answer(client, body)


@pytest.mark.django_db
@fuzz
@given(data=st.data())
def test_arbitrary_xmlrpc_documents_get_a_fault_or_a_string(
    client: Client, article_url: str, sealed: int, data: st.DataObject
) -> None:
    body = data.draw(xmlrpc_documents(sealed, article_url), label="body")

    check_xmlrpc_answer(client, body)


@pytest.mark.django_db
@fuzz
@given(data=st.data())
def test_xmlrpc_documents_mangled_at_one_byte_get_a_fault(
    client: Client, article_url: str, sealed: int, data: st.DataObject
) -> None:
    body = data.draw(xmlrpc_documents(sealed, article_url), label="body")
    if body:
        at = data.draw(st.integers(0, len(body) - 1), label="at")
        byte = data.draw(st.integers(0, 255), label="byte")
        body = body[:at] + bytes([byte]) + body[at + 1 :]
    content_type = data.draw(
        st.sampled_from(["text/xml", "application/xml", "text/plain", ""]), label="content_type"
    )

    check_xmlrpc_answer(client, body, content_type)


# --- TrackBack endpoint --------------------------------------------------------------------------

CHARSETS = [
    "utf-8",
    "UTF-8",
    "latin-1",
    "iso-8859-1",
    "windows-1252",
    "utf-16",
    "utf-32",
    "shift_jis",
    "euc-jp",
    "koi8-r",
    "utf-7",
    "idna",
    "punycode",
    "base64",
    "rot13",
    "hex",
    "x-no-such-charset",
    "",
    '"utf-8"',
]

header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=30)
charsets = st.one_of(st.sampled_from(CHARSETS), header_text)
content_types = st.one_of(
    st.builds(lambda cs: f"application/x-www-form-urlencoded; charset={cs}", charsets),
    st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=xyz",
            "text/plain",
            "application/json",
            "",
        ]
    ),
    header_text,
)


def tb_path(article: Article) -> str:
    content_type = ContentType.objects.get_for_model(article)
    return f"/backlinks/trackback/{content_type.pk}/{article.pk}/"


def encoded(value: str, charset: str) -> bytes:
    try:
        return value.encode(charset)
    except (LookupError, UnicodeError, TypeError, ValueError):
        return value.encode("utf-8", "surrogatepass")


def trackback_forms(port: int, article_url: str) -> st.SearchStrategy[bytes]:
    fields = st.dictionaries(
        st.one_of(st.sampled_from(["url", "title", "excerpt", "blog_name", "charset"]), text),
        st.one_of(urls(port, article_url), text, st.sampled_from(CHARSETS)),
        max_size=6,
    )
    return st.builds(
        lambda pairs, charset: b"&".join(
            quote_from_bytes(encoded(k, charset)).encode()
            + b"="
            + quote_from_bytes(encoded(v, charset)).encode()
            for k, v in pairs.items()
        ),
        fields,
        st.sampled_from(CHARSETS),
    )


def check_trackback_answer(client: Client, path: str, body: bytes, content_type: str) -> None:
    """The answer is TrackBack XML with <error>1</error>, never a 500; nothing is stored."""
    response = client.generic("POST", path, body, content_type=content_type)
    assert response.status_code < 500
    assert response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "response"
    assert root.findtext("error") == "1"
    assert not Backlink.objects.exists()


FORM = "application/x-www-form-urlencoded"


@pytest.mark.django_db
@fuzz
@given(body=st.binary(max_size=3000), content_type=content_types)
# Inputs hypothesis found, kept so that they run every time.
@example(body=b"url=http%3A//127.0.0.1/", content_type=f"{FORM}; charset=base64")
@example(body=b"url=http%3A//127.0.0.1/", content_type=f"{FORM}; charset=rot13")
@example(body=b"url=http%3A//127.0.0.1/", content_type=f"{FORM}; charset=punycode")
@example(body=b"charset=utf-8%00&url=http%3A//127.0.0.1/", content_type=FORM)
@example(body=b"charset=utf%01-8&url=%FF", content_type=FORM)
def test_arbitrary_bytes_to_the_trackback_url_get_an_error_answer(
    client: Client, article: Article, sealed: int, body: bytes, content_type: str
) -> None:
    check_trackback_answer(client, tb_path(article), body, content_type)


@pytest.mark.django_db
@fuzz
@given(data=st.data(), content_type=content_types)
def test_arbitrary_trackback_forms_get_an_error_answer(
    client: Client,
    article: Article,
    article_url: str,
    sealed: int,
    data: st.DataObject,
    content_type: str,
) -> None:
    body = data.draw(trackback_forms(sealed, article_url), label="body")

    check_trackback_answer(client, tb_path(article), body, content_type)


@pytest.mark.django_db
@fuzz
@given(data=st.data(), content_type=content_types)
def test_arbitrary_webmention_forms_get_a_4xx_or_are_queued(
    client: Client,
    article: Article,
    article_url: str,
    sealed: int,
    data: st.DataObject,
    content_type: str,
) -> None:
    fields = st.dictionaries(
        st.one_of(st.sampled_from(["source", "target"]), text),
        st.one_of(urls(sealed, article_url), text),
        max_size=4,
    )
    body = data.draw(fields.map(urlencode), label="body")

    response = client.generic("POST", "/backlinks/webmention/", body, content_type=content_type)

    assert response.status_code in (201, 202, 400, 429), response.content
    queued = InboundPing.objects.count()
    assert queued == (1 if response.status_code < 300 else 0)
    InboundPing.objects.all().delete()
