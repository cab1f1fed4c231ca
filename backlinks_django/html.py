"""Reading remote HTML: the one parser entry point, links, title, rel discovery and page text."""

from __future__ import annotations

import html as html_module
import re
from collections.abc import Iterator

from bs4 import BeautifulSoup, Tag
from bs4.element import NavigableString, PageElement, PreformattedString
from bs4.exceptions import ParserRejectedMarkup

from backlinks_django import limits
from backlinks_django.text import crop, to_single_line
from backlinks_django.weburl import document_base_url, link_url, normalize_url, web_url

# Never rendered as page text; <title> is read separately and then dropped too.
_HIDDEN = ("script", "style", "noscript", "template")
# Elements holding a run of text of their own: the ancestors whose text frames a link's excerpt.
TEXT_BLOCKS = frozenset(
    {
        *("p", "li", "blockquote", "td", "th", "dd", "dt", "div", "article", "section"),
        *("header", "footer", "main", "aside", "figure", "pre", "body"),
        *("h1", "h2", "h3", "h4", "h5", "h6"),
    }
)
# Elements that separate words visually, so "<p>a</p><p>b</p>" reads "a b" and not "ab".
_BREAKS = TEXT_BLOCKS | {
    *("br", "hr", "table", "tr", "ul", "ol", "dl", "nav", "address", "figcaption"),
    *("caption", "details", "summary", "form", "fieldset", "legend", "option", "html"),
}
# The linking elements of a page, each with the attribute holding its URL.
LINKS = {"a": "href"}

_SURROGATES = re.compile(r"[\ud800-\udfff]")
# HTML splits attribute token lists on ASCII whitespace only.
_ASCII_WHITESPACE = re.compile(r"[ \t\n\f\r]+")
_TAG_START = re.compile(r"<+(?=[A-Za-z/!?])")


def parse_html(markup: str) -> BeautifulSoup | None:
    """``markup`` as a tree, None if it has no tags: the one place remote markup becomes a tree.

    bs4 with Python's html.parser, after :func:`defuse`. Two readers tokenize on their own,
    with html.parser and after :func:`defuse` too: ``linksearch``'s streaming pre-scan, and
    mf2py (``mf2.read_entry``).
    """
    if "<" not in markup:
        # Nothing to find; also keeps bs4 from warning that a bare URL "looks like a URL".
        return None
    try:
        # "ignore" keeps the first of duplicated attributes, as browsers do.
        return BeautifulSoup(defuse(markup), "html.parser", on_duplicate_attribute="ignore")
    except ParserRejectedMarkup:
        return None


def parse_rendered(markup: str) -> BeautifulSoup | None:
    """:func:`parse_html` minus the elements never rendered (script, style, noscript, template)."""
    soup = parse_html(markup)
    if soup is None:
        return None
    for name in _HIDDEN:
        drop(soup, name)
    return soup


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


def drop(soup: BeautifulSoup, name: str) -> None:
    """Remove every ``name`` element, with its content, from the tree."""
    for tag in soup.find_all(name):
        # An element nested in one already removed has been destroyed with it.
        if isinstance(tag, Tag) and not tag.decomposed:
            tag.decompose()


def extract_links(html: str, base_url: str) -> list[str]:
    """Absolute http(s) URLs of every <a href> in document order, fragment-free, de-duplicated."""
    soup = parse_rendered(html)
    if soup is None:
        return []
    links: list[str] = []
    seen: set[str] = set()
    for _anchor, url in linking_elements(soup, base_url):
        key = normalize_url(url)
        if key not in seen:
            seen.add(key)
            links.append(url)
    return links


def linking_elements(
    soup: BeautifulSoup, document_url: str, elements: dict[str, str] = LINKS
) -> Iterator[tuple[Tag, str]]:
    """Each element of ``elements`` linking to another page, with that page's URL.

    ``elements`` maps element names to the attribute holding the URL; the URL is resolved
    by :func:`~backlinks_django.weburl.link_url` against the document's base URL.
    """
    base = _document_base(soup, document_url)
    for element in soup.find_all(list(elements)):
        if not isinstance(element, Tag):
            continue
        href = element.get(elements[element.name])
        if isinstance(href, str) and (url := link_url(base, href)) is not None:
            yield element, url


def _document_base(soup: BeautifulSoup, document_url: str) -> str:
    """The base URL of the parsed document: its first <base href>, or its own URL."""
    base = soup.find("base", href=True)
    href = base.get("href") if isinstance(base, Tag) else None
    return document_base_url(document_url, href if isinstance(href, str) else None)


def title_text(raw: str) -> str:
    """A <title>'s text as the app stores it: on one line, cropped to the title column."""
    return crop(to_single_line(raw), limits.TITLE)


def document_title(soup: BeautifulSoup) -> str:
    """The document's <title> (not an SVG or MathML one) as :func:`title_text`; "" if none."""
    for tag in soup.find_all("title"):
        # An SVG <title> is a tooltip, not the document's title.
        if isinstance(tag, Tag) and tag.find_parent(["svg", "math"]) is None:
            return title_text("".join(_text_pieces(tag)))
    return ""


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
    soup = parse_html(markup)
    if soup is None:
        return None
    # A template's content is inert until a script uses it.
    drop(soup, "template")
    base_url = web_url(page_url, _document_base(soup, page_url)) or page_url
    for element in soup.find_all(list(elements)):
        if not isinstance(element, Tag) or not has_rel(element.get("rel"), token):
            continue
        href = element.get("href")
        if isinstance(href, str) and (url := web_url(base_url, href)) is not None:
            return url
    return None


def to_plain_text(value: str, max_length: int | None = None) -> str:
    """Tags removed, entities decoded, whitespace collapsed, control chars dropped, cropped."""
    text = value
    # Peers double-escape ("&lt;b&gt;"): decoding once can reveal markup, so strip until none is.
    for _attempt in range(4):
        soup = parse_rendered(text)
        if soup is not None:
            drop(soup, "title")
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


def _text_pieces(root: Tag) -> Iterator[str]:
    for _node, text in text_nodes(root):
        yield text


def text_nodes(root: Tag) -> Iterator[tuple[PageElement, str]]:
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
