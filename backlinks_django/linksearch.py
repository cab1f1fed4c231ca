"""Whether and where a source document links to a target: the page title and the text around it."""

from __future__ import annotations

import html as html_module
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from html import entities as html_entities

from bs4 import BeautifulSoup, Tag

from backlinks_django import html, htmltokens
from backlinks_django.text import (
    ELLIPSIS,
    collapse_whitespace,
    crop,
    cut_end,
    cut_start,
    to_single_line,
)
from backlinks_django.weburl import document_base_url, link_url, same_page_key

# Webmention's rule: an image or a video of the target mentions it too.
MEDIA_LINKS = {**html.LINKS, "img": "src", "video": "src"}
# Characters of markup on each side of a found link parsed for its excerpt: at least this,
# and this many per character of context (markup is mostly tags on some pages).
_WINDOW = 4 * 1024
_MARKUP_PER_CHARACTER = 32


@dataclass(frozen=True)
class LinkContext:
    """Where a page links to a target: the page title and the text around the link."""

    title: str
    excerpt: str


def find_link(
    markup: str,
    base_url: str,
    target_url: str,
    context: int = 100,
    *,
    media: bool = False,
    on_tree: Callable[[BeautifulSoup], None] | None = None,
    tree_limit: int = 0,
) -> LinkContext | None:
    """The first <a href> pointing at target_url, with the page title and an excerpt around it.

    With ``media`` an ``<img src>`` or ``<video src>`` counts too (Webmention's rule).

    With ``on_tree``, a page that links to the target is parsed once, as a tree of its first
    ``tree_limit`` characters, which ``on_tree`` reads first (microformats); the link's
    context then comes from that same tree when the link lies within it, so a page read
    for both costs one tree, not two.
    """
    if "<" not in markup:
        return None
    elements = MEDIA_LINKS if media else html.LINKS
    # The target is one of our pages: its http/https and trailing-slash twins count too.
    target = same_page_key(target_url)
    # A streaming pass finds the link without building a tree, so a page without it
    # (most spam) costs no tree at all; only a window around the link is parsed.
    scanner = _LinkScanner(base_url, target, elements)
    offset = scanner.find(markup)
    if offset is None:
        return None
    if on_tree is not None:
        soup = html.parse_html(markup[:tree_limit])
        if soup is not None:
            on_tree(soup)
            html.drop_hidden(soup)
            found = _context_in(soup, scanner, target, elements, context)
            if found is not None:
                return found
    reach = max(_WINDOW, _MARKUP_PER_CHARACTER * context)
    start = markup.find("<", max(0, offset - reach))
    window = markup[start : offset + reach]
    found = _link_context(window, scanner, target, elements, context)
    if found is None:  # the window cut the page badly: fall back to the whole page
        found = _link_context(markup, scanner, target, elements, context)
    return found


def _link_context(
    markup: str, scanner: _LinkScanner, target: str, elements: dict[str, str], context: int
) -> LinkContext | None:
    soup = html.parse_rendered(markup)
    if soup is None:
        return None
    return _context_in(soup, scanner, target, elements, context)


def _context_in(
    soup: BeautifulSoup, scanner: _LinkScanner, target: str, elements: dict[str, str], context: int
) -> LinkContext | None:
    """The context of the first element of the rendered tree ``soup`` linking to the target."""
    for anchor, url in html.linking_elements(soup, scanner.base_url, elements):
        if same_page_key(url) == target:
            title = scanner.title or html.document_title(soup)
            html.drop(soup, "title")
            return LinkContext(title=title, excerpt=_excerpt(anchor, max(context, 0)))
    return None


class _LinkScanner:
    """One pass over a page, no tree: its base URL, its title, where the target is linked.

    :data:`_SKIP` passes over text, comments, declarations and tags of no interest inside
    the regex engine; Python sees only the tags below, each once, so the pass is linear
    (see :mod:`~backlinks_django.htmltokens`).
    """

    def __init__(self, base_url: str, target: str, elements: dict[str, str]) -> None:
        self.base_url = base_url
        self.title = ""
        self._target = target
        self._elements = elements
        self._base_seen = False
        self._hidden = 0  # inside <noscript> or <template>
        self._foreign = 0  # inside <svg> or <math>, whose <title> is a tooltip
        self._verdicts: dict[str, bool] = {}  # href: whether it links to the target
        self._needle = _needle(base_url, target)

    def find(self, markup: str) -> int | None:
        """The offset in ``markup`` of the first element linking to the target, or None."""
        # Without a <base> the needle stays; a page that spells it nowhere, however its
        # references and whitespace are written, links nowhere to the target: no scan at all.
        if self._needle and not _spelled(markup, self._needle) and "<base" not in markup.lower():
            return None
        # Each hiding element needs an end tag to close it: once more are open than the page
        # has end tags (real or not) besides those read, nothing after can be seen.
        end_tags = -1  # not counted yet
        closed = 0
        position = 0
        length = len(markup)
        while True:
            # Once the title is known, <svg> and <math> (whose <title> is a tooltip) don't matter.
            skipped = _skip(self._needle, foreign=not self.title).match(markup, position)
            assert skipped is not None  # it matches the empty string at worst
            start = skipped.end()
            if start >= length:
                return None
            match = htmltokens.TOKEN.match(markup, start)
            assert match is not None
            position = match.end()
            if match.lastgroup == "end":
                closed += self._close(match["end"].lower())
                continue
            name = match["start"].lower()
            values, self_closing = htmltokens.attributes(match["attributes"])
            if self._open(name, values, self_closing):
                return start
            if self._hidden:
                if end_tags < 0:
                    lowered = markup.lower()
                    end_tags = lowered.count("</template") + lowered.count("</noscript")
                if self._hidden > end_tags - closed:
                    return None
            if name in htmltokens.RAW_TEXT:
                end = htmltokens.raw_text_end(markup, name, position)
                if name == "title" and not (self._hidden or self._foreign or self.title):
                    self.title = html.title_text(html_module.unescape(markup[position:end]))
                position = end

    def _open(self, name: str, values: dict[str, str], self_closing: bool) -> bool:
        """Note a start tag; whether it links to the target."""
        if name in ("noscript", "template"):
            self._hidden += 1
        elif name in ("svg", "math") and not self_closing:
            self._foreign += 1
        if self._hidden:
            return False
        if name == "base" and not self._base_seen and "href" in values:
            self._base_seen = True
            self.base_url = document_base_url(self.base_url, values["href"])
            self._verdicts.clear()
            self._needle = _needle(self.base_url, self._target)
        attribute = self._elements.get(name)
        href = values.get(attribute) if attribute else None
        if not href:
            return False
        if self._needle and self._needle not in _URL_NOISE.sub("", href):
            return False
        # Resolving a URL is the costly step: a page repeating one link pays for it once.
        verdict = self._verdicts.get(href)
        if verdict is None:
            url = link_url(self.base_url, href)
            verdict = url is not None and same_page_key(url) == self._target
            self._verdicts[href] = verdict
        return verdict

    def _close(self, name: str) -> bool:
        """Note an end tag; whether it closes a hiding element (or would, were one open)."""
        if name in ("noscript", "template"):
            if self._hidden:
                self._hidden -= 1
            return True
        if name in ("svg", "math") and self._foreign:
            self._foreign -= 1
        return False


# WHATWG URL parsing drops these anywhere in an href (as weburl.web_url does).
_URL_NOISE = re.compile(r"[\t\n\r]")


def _needle(base_url: str, target: str) -> str:
    """Text every href leading to ``target`` holds, or "" when there is no such text.

    A relative href keeps the base's host; so when that is not the target's, only an
    absolute href can lead there, and it spells out the target's path, whose last segment
    is then a cheap test to run before resolving the URL. Escapes are left out: keys
    upper-case them, so an href may spell them otherwise.
    """
    origin = same_page_key(base_url).split("/")[2:3]
    if origin == target.split("/")[2:3]:
        return ""
    segment = target.partition("?")[0].rstrip("/").rpartition("/")[2]
    if "%" in segment or segment == target.split("/")[2] or htmltokens.SYNTAX & set(segment):
        return ""
    return segment


def _spelled(markup: str, needle: str) -> bool:
    """Whether some attribute value in ``markup`` could spell ``needle`` once decoded.

    What ``_LinkScanner`` compares with the needle is an href with its character references
    decoded and tab, LF and CR dropped. Dropping those characters from the whole page, and
    decoding the references that give a character of the needle, tab, LF, CR or nothing
    (the others cannot be part of a spelling), leaves the needle in the page wherever some
    value spelled it; it may find it elsewhere too, which only costs the scan. C string
    methods and one regex substitution whose matches are the needle's own characters.
    """
    if needle in markup:
        return True
    text = _strip_url_noise(markup)
    if "&" in text:
        references, names = _references(needle)
        count = text.count("&#") + sum(text.count(name) for name in names)
        if count > 64 + len(text) // _DECODED_PER_CHARACTER:
            return True  # too many to decode at a Python call each: let the scan decide
        if count:
            text = _strip_url_noise(references.sub(_decode, text))
    return needle in text


# At most one reference decoded per this many characters of markup: Python decodes each
# (0.3-5 µs), so the test costs at most a few ms per MB; a page denser in them is scanned.
_DECODED_PER_CHARACTER = 256


def _strip_url_noise(text: str) -> str:
    for character in "\t\n\r":
        if character in text:
            text = text.replace(character, "")
    return text


def _decode(match: re.Match[str]) -> str:
    return _unescape(match.group())


_unescape = lru_cache(maxsize=256)(html_module.unescape)


def _numeric(codes: Iterable[int]) -> str:
    """Decimal and hexadecimal character references to ``codes`` (any leading zeros)."""
    decimal = _trie([str(code) for code in codes])
    hexadecimal = _trie([f"{code:x}" for code in codes], fold=True)
    return rf"&#0*+{decimal}(?![0-9]);?|&#[xX]0*+{hexadecimal}(?![0-9a-fA-F]);?"


def _trie(words: list[str], fold: bool = False) -> str:
    """A pattern matching exactly ``words``, one branch per distinct next character.

    The engine then tries one branch per character read, however many words there are.
    """
    if not words:
        return "(?!)"
    branches = []
    for first in sorted({word[0] for word in words if word}):
        literal = f"[{first}{first.upper()}]" if fold and first.isalpha() else re.escape(first)
        rests = [word[1:] for word in words if word[:1] == first]
        branches.append(literal + _trie(rests, fold) if any(rests) else literal)
        if any(rests) and "" in rests:
            branches[-1] = literal + "(?:" + _trie([r for r in rests if r], fold) + ")?"
    alternation = "|".join(branches)
    return f"(?:{alternation})"


# Code points whose reference html.unescape decodes to nothing or to tab, LF or CR: those
# below U+0100, the noncharacters U+FDD0-U+FDEF and U+xFFFE-U+xFFFF (tests check the rest).
SILENT_CODES = tuple(
    code
    for code in (
        *range(0x100),
        *range(0xFDD0, 0xFDF0),
        *(plane + last for plane in range(0, 0x110000, 0x10000) for last in (0xFFFE, 0xFFFF)),
    )
    if html_module.unescape(f"&#{code};") in ("", "\t", "\n", "\r")
)


@lru_cache(maxsize=64)
def _references(needle: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """Character references that decode to characters of ``needle``, or to nothing or noise.

    With the named ones among them, "&" and the name (counted apart from numeric ones).
    """
    characters = set(needle) | set("\t\n\r")
    named = tuple(
        "&" + name
        for name, value in sorted(html_entities.html5.items(), key=lambda item: -len(item[0]))
        if set(value) <= characters
    )
    codes = {ord(character) for character in needle} | set(SILENT_CODES)
    pattern = "|".join([_numeric(codes), *(re.escape(name) for name in named)])
    return re.compile(pattern), named


@lru_cache(maxsize=64)
def _skip(needle: str, *, foreign: bool) -> re.Pattern[str]:
    """The scan's skip pattern: start tags that matter, end tags of hiding (and foreign) elements.

    A linking tag whose text cannot hold ``needle`` is passed over by the regex engine too,
    so a page of links to elsewhere costs the scan no Python step per link.
    """
    tracked = ("noscript", "template", *(("svg", "math") if foreign else ()))
    return htmltokens.skip_pattern(
        starts=("a", "img", "video", "base", *tracked),
        ends=tracked,
        quiet=("a", "img", "video"),
        needle=needle,
    )


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
        return LinkContext(title="", excerpt=html.to_plain_text(document[start:end]))
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


def _excerpt(anchor: Tag, context: int) -> str:
    """The link's text with up to `context` characters of its block's text on either side."""
    block = next((p for p in anchor.parents if p.name in html.TEXT_BLOCKS), None)
    root = block if block is not None else _root(anchor)
    inside = {id(node) for node in anchor.descendants}
    before: list[str] = []
    link: list[str] = []
    after: list[str] = []
    part = before
    for node, text in html.text_nodes(root):
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
        cropped_before = ELLIPSIS + cut_start(text_b, context)
    cropped_after = text_a
    if len(text_a) > context:
        cropped_after = cut_end(text_a, context) + ELLIPSIS
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
    text = collapse_whitespace(text)
    core = text.strip()
    lead = " " if text[:1] == " " else ""
    trail = " " if text[-1:] == " " and core else ""
    return lead, core, trail
