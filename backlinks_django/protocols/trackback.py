"""TrackBack 1.2: form parsing with the sender's charset, and the XML answers."""

from __future__ import annotations

import codecs
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from backlinks_django.exceptions import BacklinkError, InvalidRequest

FIELDS = ("url", "title", "excerpt", "blog_name")
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
    try:
        codecs.lookup(charset)
    except LookupError:
        raise InvalidRequest(f"Unknown charset {charset[:40]!r}.") from None
    fields: dict[str, str] = {}
    for name in FIELDS:
        value = raw.get(name.encode("ascii"))
        if value is None:
            continue
        try:
            fields[name] = value.decode(charset)
        except UnicodeDecodeError:
            raise InvalidRequest(f"The {name} field is not valid {charset[:40]}.") from None
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
