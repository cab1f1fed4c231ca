"""Pure functions on HTML and URLs: links, title, the excerpt around a link, plain text."""

from __future__ import annotations

import html as html_module
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import idna
from bs4 import BeautifulSoup, Tag
from bs4.element import NavigableString, PageElement, PreformattedString
from bs4.exceptions import ParserRejectedMarkup

from backlinks_django import limits

__all__ = [
    "LinkContext",
    "crop",
    "extract_links",
    "find_link",
    "has_control_chars",
    "host_key",
    "normalize_url",
    "page_title",
    "rel_link",
    "to_plain_text",
    "to_single_line",
    "web_url",
]

# The longest URL stored (the models' URL columns); longer links are neither pinged nor followed.
ELLIPSIS = "…"

_DEFAULT_PORTS = {"http": 80, "https": 443}
_WEB_SCHEMES = frozenset(_DEFAULT_PORTS)
# Never rendered as page text; <title> is read separately and then dropped too.
_HIDDEN = ("script", "style", "noscript", "template")
# The ancestors whose text frames a link's excerpt.
_CONTEXT_BLOCKS = frozenset(
    {
        *("p", "li", "blockquote", "td", "th", "dd", "dt", "div", "article", "section"),
        *("header", "footer", "main", "aside", "figure", "pre", "body"),
        *("h1", "h2", "h3", "h4", "h5", "h6"),
    }
)
# Elements that separate words visually, so "<p>a</p><p>b</p>" reads "a b" and not "ab".
_BREAKS = _CONTEXT_BLOCKS | {
    *("br", "hr", "table", "tr", "ul", "ol", "dl", "nav", "address", "figcaption"),
    *("caption", "details", "summary", "form", "fieldset", "legend", "option", "html"),
}

_WHITESPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_PERCENT_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")
# WHATWG URL parsing drops these anywhere in a URL; browsers follow such hrefs.
_URL_NOISE = re.compile(r"[\t\n\r]")
# No URL worth fetching or storing holds these (PostgreSQL text columns refuse NUL outright).
_URL_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
# HTML splits attribute token lists on ASCII whitespace only.
_ASCII_WHITESPACE = re.compile(r"[ \t\n\f\r]+")
_TAG_START = re.compile(r"<+(?=[A-Za-z/!?])")
# A trailing partial word (left crop) or leading partial word (right crop).
_LAST_WORD = re.compile(r"\s\S*\Z")
_FIRST_WORD = re.compile(r"\A\S*\s")


@dataclass(frozen=True)
class LinkContext:
    """Where a page links to a target: the page title and the text around the link."""

    title: str
    excerpt: str


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


def extract_links(html: str, base_url: str) -> list[str]:
    """Absolute http(s) URLs of every <a href> in document order, fragment-free, de-duplicated."""
    soup = _parse(html)
    if soup is None:
        return []
    links: list[str] = []
    seen: set[str] = set()
    for _anchor, url in _anchors(soup, base_url):
        key = normalize_url(url)
        if key not in seen:
            seen.add(key)
            links.append(url)
    return links


def find_link(
    html: str, base_url: str, target_url: str, context: int = 100, *, media: bool = False
) -> LinkContext | None:
    """The first <a href> pointing at target_url, with the page title and an excerpt around it.

    With ``media`` an ``<img src>`` or ``<video src>`` counts too (Webmention's rule).
    """
    if "<" not in html:
        return None
    html = defuse(html)
    elements = _MEDIA_LINKS if media else _LINKS
    target = normalize_url(target_url)
    # A streaming pass finds the link without building a tree, so a page without it
    # (most spam) costs no tree at all; only a window around the link is parsed.
    scanner = _LinkScanner(base_url, target, elements)
    offset = scanner.find(html)
    if offset is None:
        return None
    start = html.find("<", max(0, offset - _WINDOW))
    found = _link_context(html[start : offset + _WINDOW], scanner, target, elements, context)
    if found is None:  # the window cut the page badly: fall back to the whole page
        found = _link_context(html, scanner, target, elements, context)
    return found


# Characters on each side of a found link that are parsed for its excerpt.
_WINDOW = 16 * 1024


def _link_context(
    html: str, scanner: _LinkScanner, target: str, elements: dict[str, str], context: int
) -> LinkContext | None:
    soup = _parse(html)
    if soup is None:
        return None
    for anchor, url in _anchors(soup, scanner.base_url, elements):
        if normalize_url(url) == target:
            title = scanner.title or _title(soup)
            _drop(soup, "title")
            return LinkContext(title=title, excerpt=_excerpt(anchor, max(context, 0)))
    return None


class _Found(Exception):
    """Stops the scanner at the first matching link."""


class _LinkScanner(HTMLParser):
    """One pass over a page, no tree: its base URL, its title, where the target is linked."""

    def __init__(self, base_url: str, target: str, elements: dict[str, str]) -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.title = ""
        self._target = target
        self._elements = elements
        self._base_seen = False
        self._hidden = 0  # inside <noscript> or <template> (script and style are CDATA)
        self._foreign = 0  # inside <svg> or <math>, whose <title> is a tooltip
        self._title_parts: list[str] | None = None

    def find(self, html: str) -> int | None:
        """The offset in ``html`` of the first element linking to the target, or None."""
        try:
            self.feed(html)
            self.close()
        except _Found:
            line, column = self.getpos()
            offset = 0
            for _ in range(line - 1):
                offset = html.index("\n", offset) + 1
            return offset + column
        except (AssertionError, ValueError):  # malformed markup the stdlib parser gives up on
            return None
        return None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("noscript", "template"):
            self._hidden += 1
        elif tag in ("svg", "math"):
            self._foreign += 1
        if self._hidden:
            return
        if tag == "title" and not self._foreign and not self.title:
            self._title_parts = []
        values = dict(reversed(attrs))  # the first of duplicated attributes wins
        if tag == "base" and not self._base_seen and values.get("href"):
            self._base_seen = True
            try:
                self.base_url = urljoin(self.base_url, _URL_NOISE.sub("", values["href"] or ""))
            except ValueError:
                pass
        attribute = self._elements.get(tag)
        href = values.get(attribute) if attribute else None
        if href and self._links_to_target(href):
            raise _Found

    def handle_endtag(self, tag: str) -> None:
        if tag in ("noscript", "template") and self._hidden:
            self._hidden -= 1
        elif tag in ("svg", "math") and self._foreign:
            self._foreign -= 1
        elif tag == "title" and self._title_parts is not None:
            self.title = crop(to_single_line("".join(self._title_parts)), limits.TITLE)
            self._title_parts = None

    def handle_data(self, data: str) -> None:
        if self._title_parts is not None:
            self._title_parts.append(data)

    def _links_to_target(self, href: str) -> bool:
        href = _URL_NOISE.sub("", href.strip())
        if not href or href.startswith("#"):
            return False
        try:
            url = urljoin(self.base_url, href).partition("#")[0]
            scheme = urlsplit(url).scheme
        except ValueError:
            return False
        return scheme.lower() in _WEB_SCHEMES and normalize_url(url) == self._target


def find_mention(
    document: str, content_type: str, base_url: str, target_url: str, context: int = 100
) -> LinkContext | None:
    """Webmention verification: does the document, by its media type, mention target_url?

    HTML: an ``a href``, ``img src`` or ``video src``; JSON: a string value equal to
    the target; plain text: the target's text. Other types never mention anything.
    """
    if content_type in ("text/html", "application/xhtml+xml"):
        return find_link(document, base_url, target_url, context, media=True)
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            data = json.loads(document)
        except (ValueError, RecursionError):
            return None
        return LinkContext(title="", excerpt="") if _json_has(data, target_url) else None
    if content_type == "text/plain":
        position = document.find(target_url)
        if position < 0:
            return None
        start, end = max(0, position - context), position + len(target_url) + context
        return LinkContext(title="", excerpt=to_plain_text(document[start:end]))
    return None


def _json_has(data: object, value: str) -> bool:
    stack = [data]
    while stack:
        item = stack.pop()
        if item == value:
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def web_url(base_url: str, href: str) -> str | None:
    """``href`` resolved against ``base_url``, without fragment, if that is a storable http(s) URL.

    ``href=""`` resolves to the base itself.
    """
    try:
        url = urljoin(base_url, _URL_NOISE.sub("", href.strip(" \t\n\f\r")))
        url = url.partition("#")[0]
        if has_control_chars(url) or len(url) > limits.URL:
            return None
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in _WEB_SCHEMES or not parts.hostname:
        return None
    return url


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


def has_rel(rel: object, token: str) -> bool:
    """Whether a rel value (a string, or bs4's list of tokens) holds ``token``.

    Link relation types compare ASCII case-insensitively (HTML and RFC 8288 alike).
    """
    if isinstance(rel, str):
        tokens: list[str] = _ASCII_WHITESPACE.split(rel)
    elif isinstance(rel, list):
        tokens = [part for item in rel if isinstance(item, str) for part in item.split()]
    else:
        return False
    return any(part.isascii() and part.lower() == token for part in tokens)


def rel_link(markup: str, page_url: str, token: str, elements: tuple[str, ...]) -> str | None:
    """The first of ``elements`` whose rel holds ``token`` and whose href is a web URL.

    In document order, resolved against the document's base URL; comments, escaped
    text and <template> content never count, and an element without href is skipped
    (only ``href=""`` means the page itself).
    """
    soup = parse(markup)
    if soup is None:
        return None
    # A template's content is inert until a script uses it.
    _drop(soup, "template")
    base_url = web_url(page_url, _base_url(soup, page_url)) or page_url
    for element in soup.find_all(list(elements)):
        if not isinstance(element, Tag) or not has_rel(element.get("rel"), token):
            continue
        href = element.get("href")
        if isinstance(href, str) and (url := web_url(base_url, href)) is not None:
            return url
    return None


def page_title(html: str) -> str:
    """The document's <title> as plain text ("" if none), whitespace collapsed, cropped to 255."""
    soup = _parse(html)
    return "" if soup is None else _title(soup)


def to_plain_text(value: str, max_length: int | None = None) -> str:
    """Tags removed, entities decoded, whitespace collapsed, control chars dropped, cropped."""
    text = value
    # Peers double-escape ("&lt;b&gt;"): decoding once can reveal markup, so strip until none is.
    for _attempt in range(4):
        soup = _parse(text)
        if soup is not None:
            _drop(soup, "title")
            text = "".join(_text_pieces(soup))
        elif "<" in text:  # the parser gave up
            text = html_module.unescape(re.sub(r"<[^>]*>?", " ", _SURROGATES.sub("", text)))
        else:
            text = html_module.unescape(text)
        if not _TAG_START.search(text):
            break
    # What the parser left as literal text (an unclosed "<script" at the end, "<\x08a") still must
    # not read as markup; controls go first so they cannot hide a "<" from the substitution.
    text = _TAG_START.sub("", to_single_line(text))
    return text if max_length is None else crop(text, max_length)


def crop(text: str, max_length: int) -> str:
    """text if short enough, else cut at a word boundary near max_length, "…" included."""
    if len(text) <= max_length:
        return text
    if max_length <= 0:
        return ""
    return _cut_end(text, max_length - 1) + ELLIPSIS


def defuse(markup: str) -> str:
    """``markup`` made safe for html.parser in linear time: hopeless "<" escaped.

    Python's html.parser looks for the end of each would-be tag, comment or
    declaration afresh, which takes quadratic time on pages made of unfinished ones
    ("<a <a <a ...", "<!--<!--...", "</</..."): a stranger's page could hold a
    worker for minutes. Here a "<" that no ">" follows before the next "<" (and a
    "<!--" that no "-->" closes) becomes "&lt;", since it can start nothing; each
    search is remembered, so the whole pass is linear. A "<" inside a quoted
    attribute value with no ">" after it is escaped too.
    """
    # Lone surrogates cannot be encoded, and bs4 encodes the markup to sniff it.
    markup = _SURROGATES.sub("", markup)
    escapes: list[int] = []
    position = 0
    next_gt = next_comment_end = -2  # -2: not looked for yet; -1: none left
    while (lt := markup.find("<", position)) >= 0:
        position = lt + 1
        if markup.startswith("<!--", lt):
            if next_comment_end != -1 and next_comment_end < lt + 4:
                next_comment_end = markup.find("-->", lt + 4)
            if next_comment_end >= 0:
                position = next_comment_end + 3
                continue
        else:
            if next_gt != -1 and next_gt <= lt:
                next_gt = markup.find(">", lt + 1)
            following_lt = markup.find("<", lt + 1)
            if next_gt >= 0 and (following_lt < 0 or next_gt < following_lt):
                continue
        escapes.append(lt)
    if not escapes:  # the usual page: no copy at all
        return markup
    pieces = []
    start = 0
    for lt in escapes:
        pieces.append(markup[start:lt])
        pieces.append("&lt;")
        start = lt + 1
    pieces.append(markup[start:])
    return "".join(pieces)


def parse(markup: str) -> BeautifulSoup | None:
    """``markup`` parsed by bs4's html.parser after :func:`defuse`; None if it has no tags."""
    if "<" not in markup:
        # Nothing to find; also keeps bs4 from warning that a bare URL "looks like a URL".
        return None
    try:
        # "ignore" keeps the first of duplicated attributes, as browsers do.
        return BeautifulSoup(defuse(markup), "html.parser", on_duplicate_attribute="ignore")
    except ParserRejectedMarkup:
        return None


def _parse(html: str) -> BeautifulSoup | None:
    """The document minus never-rendered elements; None if it has no markup or cannot be parsed."""
    soup = parse(html)
    if soup is None:
        return None
    for name in _HIDDEN:
        _drop(soup, name)
    return soup


def _drop(soup: BeautifulSoup, name: str) -> None:
    for tag in soup.find_all(name):
        # An element nested in one already removed has been destroyed with it.
        if isinstance(tag, Tag) and not tag.decomposed:
            tag.decompose()


_LINKS = {"a": "href"}
_MEDIA_LINKS = {"a": "href", "img": "src", "video": "src"}


def _anchors(
    soup: BeautifulSoup, base_url: str, elements: dict[str, str] = _LINKS
) -> Iterator[tuple[Tag, str]]:
    """Each linking element with an http(s) URL, that URL resolved and without its fragment."""
    base = _base_url(soup, base_url)
    for anchor in soup.find_all(list(elements)):
        if not isinstance(anchor, Tag):
            continue
        href = anchor.get(elements[anchor.name])
        if not isinstance(href, str):
            continue
        href = _URL_NOISE.sub("", href.strip())
        if not href or href.startswith("#"):
            continue
        try:
            url = urljoin(base, href).partition("#")[0]
            scheme = urlsplit(url).scheme
        except ValueError:
            continue
        # The check is on the resolved URL: a <base href> may carry the control character too.
        if scheme.lower() in _WEB_SCHEMES and len(url) <= limits.URL:
            if not has_control_chars(url):
                yield anchor, url


def _base_url(soup: BeautifulSoup, document_url: str) -> str:
    """The first <base href>, itself resolved against the document's URL (it may be relative)."""
    base = soup.find("base", href=True)
    href = base.get("href") if isinstance(base, Tag) else None
    if not isinstance(href, str) or not href.strip():
        return document_url
    try:
        return urljoin(document_url, _URL_NOISE.sub("", href.strip()))
    except ValueError:
        return document_url


def _title(soup: BeautifulSoup) -> str:
    for tag in soup.find_all("title"):
        # An SVG <title> is a tooltip, not the document's title.
        if isinstance(tag, Tag) and tag.find_parent(["svg", "math"]) is None:
            return crop(to_single_line("".join(_text_pieces(tag))), limits.TITLE)
    return ""


def _text_pieces(root: Tag) -> Iterator[str]:
    for _node, text in _text_nodes(root):
        yield text


def _text_nodes(root: Tag) -> Iterator[tuple[PageElement, str]]:
    """Rendered text under root in document order; elements give " " where they separate words."""
    for node in root.descendants:
        if isinstance(node, Tag):
            # Every element is reported, so callers see where an empty one (<a><img></a>) sits.
            yield node, " " if node.name in _BREAKS else ""
        # Comments, CDATA, doctypes and processing instructions are not page text.
        elif isinstance(node, NavigableString) and not isinstance(node, PreformattedString):
            previous = node.previous_sibling
            if isinstance(previous, Tag) and previous.name in _BREAKS:
                yield node, " "
            yield node, str(node)


def _excerpt(anchor: Tag, context: int) -> str:
    """The link's text with up to `context` characters of its block's text on either side."""
    block = next((p for p in anchor.parents if p.name in _CONTEXT_BLOCKS), None)
    root = block if block is not None else _root(anchor)
    inside = {id(node) for node in anchor.descendants}
    before: list[str] = []
    link: list[str] = []
    after: list[str] = []
    part = before
    for node, text in _text_nodes(root):
        if node is anchor or id(node) in inside:
            part = link
        elif part is link:
            part = after
        part.append(text)
    _lead_b, text_b, trail_b = _edges("".join(before))
    lead_l, text_l, trail_l = _edges("".join(link))
    lead_a, text_a, _trail_a = _edges("".join(after))
    cropped_before = text_b
    if len(text_b) > context:
        cropped_before = ELLIPSIS + _cut_start(text_b, context)
    cropped_after = text_a
    if len(text_a) > context:
        cropped_after = _cut_end(text_a, context) + ELLIPSIS
    # Link text can be a whole paragraph; bound it too so the excerpt's length stays bounded.
    cropped_link = crop(text_l, max(2 * context, 1))
    pieces = (cropped_before, trail_b, lead_l, cropped_link, trail_l, lead_a, cropped_after)
    return to_single_line("".join(pieces))


def _root(node: Tag) -> Tag:
    while node.parent is not None:
        node = node.parent
    return node


def _edges(text: str) -> tuple[str, str, str]:
    """Collapsed text as (leading space, words, trailing space), so joins keep word gaps."""
    text = _squash(text)
    core = text.strip()
    lead = " " if text[:1] == " " else ""
    trail = " " if text[-1:] == " " and core else ""
    return lead, core, trail


def _cut_end(text: str, length: int) -> str:
    """At most `length` leading characters of text, ending at a word boundary when one is near."""
    if len(text) <= length:
        return text.rstrip()
    head = text[:length]
    if not text[length].isspace():
        partial = _LAST_WORD.search(head)
        # Prefer a whole word unless that throws away more than half of what is allowed.
        if partial is not None and partial.start() >= length // 2:
            head = head[: partial.start()]
    return head.rstrip()


def _cut_start(text: str, length: int) -> str:
    """At most `length` trailing characters of text, from a word boundary when one is near."""
    if len(text) <= length:
        return text.lstrip()
    if length <= 0:
        return ""
    tail = text[-length:]
    if not text[-length - 1].isspace():
        partial = _FIRST_WORD.search(tail)
        if partial is not None and partial.end() <= length - length // 2:
            tail = tail[partial.end() :]
    return tail.lstrip()


def _upper_escapes(value: str) -> str:
    return _PERCENT_ESCAPE.sub(lambda match: match.group().upper(), value)


def _squash(text: str) -> str:
    """Whitespace runs as single spaces, other control characters dropped; ends kept."""
    # Whitespace first: newlines and tabs are control characters too but separate words.
    text = _WHITESPACE.sub(" ", text)
    return _WHITESPACE.sub(" ", _CONTROL.sub("", text))


def to_single_line(text: str) -> str:
    """Plain text (not HTML) on one line: whitespace runs as one space, control characters gone."""
    return _squash(text).strip()
