"""Web URLs and host names: resolving hrefs, comparable URL forms, one key per host spelling."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import idna

from backlinks_django import limits

# This module must stay free of HTML parsing (and so of bs4): the models, the registry and with
# them the template tags import it.

_DEFAULT_PORTS = {"http": 80, "https": 443}
_WEB_SCHEMES = frozenset(_DEFAULT_PORTS)
_PERCENT_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")
# WHATWG URL parsing drops these anywhere in a URL; browsers follow such hrefs.
_URL_NOISE = re.compile(r"[\t\n\r]")
# No URL worth fetching or storing holds these (PostgreSQL text columns refuse NUL outright).
_URL_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
# An attribute holding a URL may have ASCII whitespace around it (HTML's "potentially surrounded
# by spaces").
_ASCII_WHITESPACE = " \t\n\f\r"


def web_url(base_url: str, href: str) -> str | None:
    """``href`` resolved against ``base_url``, without fragment, if that is a storable http(s) URL.

    The one place hrefs, ``<base href>`` values and Link or Location headers are resolved.
    ``href=""`` resolves to the base itself.
    """
    try:
        url = urljoin(base_url, _URL_NOISE.sub("", href.strip(_ASCII_WHITESPACE)))
        url = url.partition("#")[0]
        if has_control_chars(url) or len(url) > limits.URL:
            return None
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in _WEB_SCHEMES or not parts.hostname:
        return None
    return url


def link_url(base_url: str, href: str) -> str | None:
    """Where a link's ``href`` leads: :func:`web_url`, or None for a link within the page.

    An empty or fragment-only href (``href="#top"``) names the page itself, not another page.
    Whitespace around the href is ignored, Unicode whitespace included.
    """
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    return web_url(base_url, href)


def document_base_url(document_url: str, base_href: str | None) -> str:
    """What a document's relative links resolve against, given its first ``<base href>``.

    That href may itself be relative (to the document's URL); None or a blank one leaves the
    document's URL.
    """
    if base_href is None or not base_href.strip():
        return document_url
    try:
        return urljoin(document_url, _URL_NOISE.sub("", base_href.strip()))
    except ValueError:
        return document_url


def normalize_url(url: str) -> str:
    """Comparable form of an http(s) URL; best effort (never raises) for anything else."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if not scheme or not parts.netloc:
        # No authority to normalize; rebuilding could invent one ("http:////a" -> "http://a").
        return url.partition("#")[0].strip()
    userinfo, at, _hostport = parts.netloc.rpartition("@")
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    path = _upper_escapes(parts.path) or "/"
    # Only a single slash, so "/a//" stays distinct from "/a/" and the result is a fixed point.
    if len(path) > 1 and path.endswith("/") and not path.endswith("//"):
        path = path[:-1]
    query = f"?{_upper_escapes(parts.query)}" if parts.query else ""
    return f"{scheme}://{userinfo}{at}{host}{path}{query}"


def same_page_key(url: str) -> str:
    """:func:`normalize_url`, but http and https the same: the key of one of *our* pages.

    A source may link to our page by ``http://`` while we serve ``https://`` (or the reverse),
    with or without the trailing slash; receivers count those twins as the same target.
    """
    key = normalize_url(url)
    return "https://" + key[len("http://") :] if key.startswith("http://") else key


def _upper_escapes(value: str) -> str:
    return _PERCENT_ESCAPE.sub(lambda match: match.group().upper(), value)


def has_control_chars(value: str) -> bool:
    """Whether ``value`` holds an ASCII control character (NUL included) or a lone surrogate.

    Such a URL or lookup value is refused, never stored or fetched.
    """
    return _URL_CONTROL.search(value) is not None


def host_key(host: str) -> str:
    """A host name in one comparable form: lower-case ASCII (IDNA, UTS #46), no trailing dot.

    "Пример.com" and "xn--e1afmkfd.com" give the same key. A host UTS #46 refuses as a whole (an
    underscore, an empty label) is keyed label by label; what no IDNA version takes stays as is.
    """
    host = host.strip().rstrip(".").lower()
    if host.isascii():
        # UTS #46 maps no ASCII character but the capitals lowered above, and an ASCII label
        # it refuses is kept as is: an ASCII name is its own key, without the cost of the
        # IDNA codec (tested against _idna_key).
        return host
    return _idna_key(host)


def _idna_key(host: str) -> str:
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        # Label by label, as urllib3 does: "a_b.пример.com" is still a_b.xn--e1afmkfd.com.
        return ".".join(_label_key(label) for label in host.split("."))


def _label_key(label: str) -> str:
    if label.isascii():
        return label
    try:
        return idna.encode(label, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        pass
    try:
        encoded = label.encode("idna").decode("ascii")  # IDNA 2003 takes emoji ("i❤" of i❤.ws)
    except UnicodeError:
        return label
    # IDNA 2003 maps "⒈" to "1.": a label must not turn into two.
    return label if "." in encoded else encoded


def host_forms(host: str) -> set[str]:
    """The ways a URL may spell ``host``: its key, and the Unicode form of an IDNA name."""
    key = host_key(host)
    try:
        return {key, idna.decode(key)}
    except (idna.IDNAError, UnicodeError):
        return {key}
