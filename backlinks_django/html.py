"""Reading remote HTML: the one parser entry point, links, title, rel discovery and page text."""

from __future__ import annotations

import html as html_module
import re
from collections.abc import Iterator

from bs4 import BeautifulSoup, Tag
from bs4.builder._htmlparser import HTMLParserTreeBuilder  # bs4.builder's export is untyped
from bs4.element import Comment, Doctype, NavigableString, PageElement, PreformattedString

from backlinks_django import htmltokens, limits
from backlinks_django.text import crop, to_single_line
from backlinks_django.weburl import document_base_url, link_url, normalize_url, web_url

# Never rendered as page text; <title> is read separately and then dropped too.
HIDDEN = ("script", "style", "noscript", "template")
# Elements holding a run of text of their own: the ancestors whose text frames a link's excerpt.
TEXT_BLOCKS = frozenset(
    {
        *("p", "li", "blockquote", "td", "th", "dd", "dt", "div", "article", "section"),
        *("header", "footer", "main", "aside", "figure", "pre", "body"),
        *("h1", "h2", "h3", "h4", "h5", "h6"),
    }
)
# Elements that separate words visually, so "<p>a</p><p>b</p>" reads "a b" and not "ab".
BREAKS = TEXT_BLOCKS | {
    *("br", "hr", "table", "tr", "ul", "ol", "dl", "nav", "address", "figcaption"),
    *("caption", "details", "summary", "form", "fieldset", "legend", "option", "html"),
}
# The linking elements of a page, each with the attribute holding its URL.
LINKS = {"a": "href"}

_SURROGATES = re.compile(r"[\ud800-\udfff]")
# HTML splits attribute token lists on ASCII whitespace only.
_ASCII_WHITESPACE = re.compile(r"[ \t\n\f\r]+")
_TAG_START = re.compile(r"<+(?=[A-Za-z/!?])")


def parse_html(markup: str, max_elements: int | None = None) -> BeautifulSoup | None:
    """``markup`` as a tree, None if it has no tags: the one place remote markup becomes a tree.

    With ``max_elements``, the tree ends before the start tag past that many elements: a
    budget on the tree's size (and its readers' time) whatever the markup's density.

    Tokens come from :mod:`~backlinks_django.htmltokens` (linear by construction) and go
    into bs4's tree as they come: a start tag opens an element (void ones close at once),
    an end tag closes the innermost open element of its name and those inside it, or is
    ignored when none is open. Each element is opened and closed once, bs4 counts the open
    elements of each name, and nesting stops at :data:`MAX_DEPTH`, so building the tree is
    linear too. mf2py
    (``mf2.read_entry``) reads the same tree.
    """
    if "<" not in markup:
        # Nothing to find; also keeps bs4 from warning that a bare URL "looks like a URL".
        return None
    builder = _TokenTreeBuilder()
    builder.max_elements = max_elements
    return BeautifulSoup(without_surrogates(markup), builder=builder)


def without_surrogates(markup: str) -> str:
    """``markup`` without lone surrogates, as :func:`parse_html` reads it.

    They cannot be encoded, and bs4 encodes the markup to sniff it.
    """
    return _SURROGATES.sub("", markup)


# Elements nest at most this deep: a deeper one becomes the sibling of the innermost (as
# libxml2 and gumbo cap depth too). bs4 walks the open elements when it adds a node after
# another, so without a cap a deep page costs time quadratic in its length.
MAX_DEPTH = 128


class _TokenTreeBuilder(HTMLParserTreeBuilder):
    """bs4's html.parser builder (its element classes, multi-valued attributes) fed our tokens."""

    # Elements at most (parse_html's max_elements); None: no limit.
    max_elements: int | None = None

    def feed(self, markup: str | bytes, *args: object, **kwargs: object) -> None:
        """Build the tree of ``markup``, a str, in ``self.soup``."""
        soup = self.soup
        assert isinstance(markup, str) and soup is not None
        budget = self.max_elements
        for token in htmltokens.tokens(markup):
            kind = token.kind
            if kind == "text":
                soup.handle_data(token.data)
            elif kind == "start":
                if budget is not None:
                    if budget <= 0:
                        break
                    budget -= 1
                soup.endData()
                if len(soup.tagStack) > MAX_DEPTH:
                    soup.popTag()
                tag = soup.handle_starttag(token.data, None, None, dict(token.attributes))
                # "<x/>" closes x, as it did with html.parser (HTML5 only does in SVG).
                if tag is not None and (tag.is_empty_element or token.self_closing):
                    soup.handle_endtag(token.data)
            elif kind == "end":
                # A void element was closed when opened; its end tag has nothing to close.
                if not self.can_be_empty_element(token.data):
                    soup.handle_endtag(token.data)
            else:
                soup.endData()
                soup.handle_data(token.data)
                soup.endData(_NODE_CLASSES[kind])


# Elements closed as soon as opened (bs4's list for HTML), whatever follows.
VOID_ELEMENTS: frozenset[str] = frozenset(_TokenTreeBuilder.DEFAULT_EMPTY_ELEMENT_TAGS or ())

# Nodes that are not page text, by token kind.
_NODE_CLASSES: dict[str, type[NavigableString]] = {
    "comment": Comment,
    "doctype": Doctype,
    "bogus": Comment,
}


def parse_rendered(markup: str) -> BeautifulSoup | None:
    """:func:`parse_html` minus the elements never rendered (script, style, noscript, template)."""
    soup = parse_html(markup)
    if soup is None:
        return None
    drop_hidden(soup)
    return soup


def drop_hidden(soup: BeautifulSoup) -> None:
    """Remove the elements never rendered (script, style, noscript, template) from the tree."""
    drop(soup, *HIDDEN)


def drop(soup: BeautifulSoup, *names: str) -> None:
    """Remove every element named in ``names``, with its content, from the tree (one walk)."""
    for tag in soup.find_all(list(names)):
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
            yield node, " " if node.name in BREAKS else ""
        # Comments, CDATA, doctypes and processing instructions are not page text.
        elif isinstance(node, NavigableString) and not isinstance(node, PreformattedString):
            previous = node.previous_sibling
            if isinstance(previous, Tag) and previous.name in BREAKS:
                yield node, " "
            yield node, str(node)
