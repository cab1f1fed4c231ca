"""TrackBack 1.2 on the wire: form parsing with the sender's charset, the XML answers, the client.

The receiving side's HTTP glue is :func:`backlinks_django.views.trackback_view`. The client
side reads a page's RDF for the ping URL (:func:`discover_ping_url`) and posts pings
(:func:`send`), raising :class:`DeliveryError` subclasses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

import defusedxml.ElementTree
from defusedxml import DefusedXmlException

from backlinks_django import limits
from backlinks_django.exceptions import (
    BacklinkError,
    InvalidRequest,
    PeerHTTPError,
    PeerRejected,
)
from backlinks_django.protocols import fetch_from_peer
from backlinks_django.text import crop
from backlinks_django.weburl import normalize_url

__all__ = [
    "FIELDS",
    "MAX_BODY",
    "UNPARSED_ANSWER",
    "charset_of",
    "discover_ping_url",
    "error_xml",
    "parse_form",
    "send",
    "success_xml",
    "to_error",
]

FIELDS = ("url", "title", "excerpt", "blog_name")
_CHARSET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,39}")
MAX_BODY = 64 * 1024


def charset_of(content_type: str) -> str | None:
    """The ``charset`` parameter of a Content-Type header value, if any."""
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'") or None
    return None


def parse_form(body: bytes, content_type: str) -> dict[str, str]:
    """The TrackBack fields of a form-encoded body, decoded in the declared charset.

    The charset comes from the Content-Type, else from WordPress's
    non-standard ``charset`` field, else UTF-8. Undecodable bytes and
    unknown charsets are an error, never silently replaced.
    """
    if len(body) > MAX_BODY:
        raise InvalidRequest("The TrackBack request is too large.")
    # Latin-1 maps every byte to one code point and back, so the fields come
    # out as the sender's bytes, to be decoded in the sender's charset below.
    pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
    raw = {key.encode("latin-1"): value.encode("latin-1") for key, value in reversed(pairs)}
    charset = charset_of(content_type)
    if charset is None:
        declared = raw.get(b"charset", b"").decode("ascii", "ignore").strip()
        charset = declared or "utf-8"
    if not _CHARSET_NAME.fullmatch(charset):
        raise InvalidRequest("The charset name is not valid.")
    try:
        # bytes.decode refuses unknown names and codecs that are not text
        # encodings (rot13, base64, zlib...); four NULs decode in any text one.
        b"\0\0\0\0".decode(charset)
    except LookupError:
        raise InvalidRequest(f"Unknown charset {charset!r}.") from None
    except (UnicodeError, ValueError):
        pass
    fields: dict[str, str] = {}
    for name in FIELDS:
        value = raw.get(name.encode("ascii"))
        if value is None:
            continue
        try:
            fields[name] = value.decode(charset)
        except (UnicodeError, ValueError):
            raise InvalidRequest(f"The {name} field is not valid {charset}.") from None
    if not fields.get("url", "").strip():
        raise InvalidRequest("The url field is required.")
    return fields


def success_xml() -> str:
    """The success answer."""
    return '<?xml version="1.0" encoding="utf-8"?>\n<response>\n<error>0</error>\n</response>\n'


def error_xml(message: str) -> str:
    """An error answer carrying ``message``."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<response>\n<error>1</error>\n'
        f"<message>{escape(message)}</message>\n</response>\n"
    )


def to_error(error: BacklinkError) -> tuple[str, int]:
    """The XML body and HTTP status for a pipeline error."""
    return error_xml(error.message), error.http_status


# --- Client: discovery and ping ------------------------------------------------------------------

# The message recorded for a 2xx answer that is not TrackBack XML.
UNPARSED_ANSWER = "unparsed answer"

_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_TRACKBACK = "{http://madskills.com/public/xml/rss/module/trackback/}"
_RDF_OPEN = "<rdf:RDF"
_RDF_CLOSE = "</rdf:RDF>"


def discover_ping_url(html: str, target_url: str) -> str | None:
    """The TrackBack ping URL that the page's RDF gives for ``target_url``, if any."""
    wanted = normalize_url(target_url)
    for rdf in _rdf_blocks(html):
        for description in rdf.iter(f"{_RDF}Description"):
            identifier = _rdf_property(description, f"{_DC}identifier")
            ping_url = _rdf_property(description, f"{_TRACKBACK}ping")
            # Only an exact identifier match counts: a page's RDF may describe other entries,
            # and pinging the wrong one attaches the backlink to the wrong post.
            if identifier and normalize_url(identifier) == wanted and _is_web_url(ping_url):
                return ping_url
    return None


def send(
    ping_url: str, *, url: str, title: str, excerpt: str, blog_name: str, user_agent: str
) -> str:
    """POST a TrackBack ping to ``ping_url``; the peer's message ("" on plain success)."""
    # WordPress's field order; receivers that ignore the charset parameter mostly assume UTF-8.
    fields = [
        ("title", title),
        ("url", url),
        ("blog_name", blog_name),
        ("excerpt", crop(excerpt, limits.TRACKBACK_EXCERPT)),
    ]
    response = fetch_from_peer(
        ping_url,
        method="POST",
        data=urlencode(fields, encoding="utf-8").encode("ascii"),
        headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "User-Agent": user_agent,
        },
    )
    if not 200 <= response.status < 300:
        raise PeerHTTPError(response.status)
    return _read_answer(response.content)


def _read_answer(content: bytes) -> str:
    """The message of a TrackBack XML answer; PeerRejected for a non-zero error."""
    try:
        root = defusedxml.ElementTree.fromstring(content.strip(), forbid_dtd=True)
    except (ParseError, DefusedXmlException, LookupError, ValueError, UnicodeError):
        # Not XML, or declared in an encoding expat cannot read ("x-bogus", "utf-32", "idna").
        # WordPress never reads the answer either: a 2xx counts as delivered.
        return UNPARSED_ANSWER
    error = root.findtext("error") if root.tag == "response" else None
    try:
        code = int((error or "").strip())
    except ValueError:
        return UNPARSED_ANSWER
    message = crop((root.findtext("message") or "").strip(), limits.MESSAGE)
    if code != 0:
        raise PeerRejected(message or "rejected")
    return message


def _rdf_blocks(text: str) -> Iterator[Element]:
    """Each well-formed <rdf:RDF> element in ``text``, parsed without DTDs or entities."""
    position = 0
    while True:
        end = text.find(_RDF_CLOSE, position)
        if end < 0:
            return
        end += len(_RDF_CLOSE)
        # The last opening tag before the close, so a broken earlier block cannot swallow
        # a good one; each stretch of text is searched once, keeping this linear.
        start = text.rfind(_RDF_OPEN, position, end)
        position = end
        if start < 0:
            continue
        try:
            root = defusedxml.ElementTree.fromstring(text[start:end], forbid_dtd=True)
        except (ParseError, DefusedXmlException):
            continue
        if root.tag == f"{_RDF}RDF":
            yield root


def _rdf_property(description: Element, name: str) -> str:
    """A property given as attribute (WordPress, Movable Type) or as child element."""
    value = description.get(name)
    if value is None:
        child = description.find(name)
        value = child.text if child is not None else None
    return (value or "").strip()


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
