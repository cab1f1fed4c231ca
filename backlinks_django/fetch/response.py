"""The fetched Response, and which encoding its text is decoded with (BOM, charset, meta)."""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass

# How far into an HTML body a <meta charset> is looked for.
_SNIFF_BYTES = 2048
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([a-z0-9_.:-]+)""", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True)
class Response:
    """A fetched response: final URL, status, headers and (bounded, decoded) body."""

    url: str
    status: int
    headers: Mapping[str, str]
    content: bytes
    truncated: bool = False

    @property
    def content_type(self) -> str:
        """The media type alone, lower-case (``"text/html"``); ``""`` when absent."""
        return self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()

    @property
    def is_html(self) -> bool:
        """Whether the body is HTML or XHTML."""
        return self.content_type in ("text/html", "application/xhtml+xml")

    @property
    def encoding(self) -> str:
        """The encoding :attr:`text` uses: BOM, header charset, HTML meta charset, else UTF-8."""
        for bom, name in _BOMS:
            if self.content.startswith(bom):
                return name
        declared = _charset_param(self.headers.get("Content-Type", ""))
        if declared is None and self.is_html:
            match = _META_CHARSET.search(self.content[:_SNIFF_BYTES])
            if match:
                declared = _known_codec(match.group(1).decode("ascii"))
        return declared or "utf-8"

    @property
    def text(self) -> str:
        """The body decoded with :attr:`encoding`; undecodable bytes are replaced."""
        return self.content.decode(self.encoding, errors="replace")


def _known_codec(name: str) -> str | None:
    """``name`` if Python has a text codec by that name that can replace bad bytes, else None."""
    try:
        info = codecs.lookup(name.strip().strip("\"'"))
        # Codecs such as rot13 or base64 are not text encodings; idna and undefined are, but
        # refuse the "replace" error handler that :attr:`Response.text` decodes with.
        if not getattr(info, "_is_text_encoding", True):
            return None
        b"a\xff".decode(info.name, "replace")
    except (LookupError, ValueError, UnicodeError):  # ValueError: a NUL in the name
        return None
    return info.name


def _charset_param(content_type: str) -> str | None:
    """The known codec a ``charset`` parameter of ``content_type`` names, if any."""
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return _known_codec(value)
    return None
