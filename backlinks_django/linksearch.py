"""Whether and where a source document links to a target: the page title and the text around it."""

from __future__ import annotations

import html as html_module
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from html import entities as html_entities
from typing import Any

from backlinks_django import html, htmlskip, htmltokens
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
    tree_limit: int = 0,
) -> LinkContext | None:
    """The first <a href> pointing at target_url, with the page title and an excerpt around it.

    With ``media`` an ``<img src>`` or ``<video src>`` counts too (Webmention's rule).

    No tree is built: a streaming scan finds the link, and the excerpt comes from the tokens
    of a window of markup around it (see :func:`_excerpt`). With ``tree_limit``, a link in
    the page's first ``tree_limit`` characters whose text block begins before that window
    gets its excerpt from the tokens of the page from its start, and a title that the scan
    did not meet before the link is looked for in those characters (else in the window).
    """
    if "<" not in markup:
        return None
    elements = MEDIA_LINKS if media else html.LINKS
    # The target is one of our pages: its http/https and trailing-slash twins count too.
    target = same_page_key(target_url)
    # A streaming pass finds the link without building a tree, so a page without it
    # (most spam) costs no tree at all; only a window around the link is read.
    scanner = _LinkScanner(base_url, target, elements)
    offset = scanner.find(markup)
    if offset is None:
        return None
    context = max(context, 0)
    reach = max(_WINDOW, _MARKUP_PER_CHARACTER * context)
    # markup[offset] is the link's "<", so the window starts at a "<" at or before it.
    start = markup.find("<", max(0, offset - reach))
    end = offset + reach
    whole = offset < tree_limit
    excerpt = _excerpt(markup, start, offset, end, context, whole_block=start == 0 or not whole)
    if excerpt is None:  # the window cut the link's block off: read on from further back
        excerpt = _excerpt(
            markup, _tags_back(markup, start), offset, end, context, whole_block=True
        )
    # A title after the link (or only tooltips before it) is rare: the scan reads on for it,
    # through the region a tree would have been built of.
    title = (
        scanner.title
        if scanner.title_seen
        else scanner.title_after(markup, tree_limit if whole else end)
    )
    return LinkContext(title=title, excerpt=excerpt or "")


# The tags read before the link's window when its text block began before it: a block begun
# earlier is cut there. The page from its start could be a quarter of a megabyte of tokens.
_BLOCK_TAGS = 2048


def _tags_back(markup: str, position: int) -> int:
    """Where the ``_BLOCK_TAGS``-th "<" before ``position`` is, or 0."""
    for _ in range(_BLOCK_TAGS):
        position = markup.rfind("<", 0, position)
        if position <= 0:
            return 0
    return position


class _LinkScanner:
    """One pass over a page, no tree: its base URL, its title, where the target is linked.

    :func:`_skip`'s pattern passes over text, comments, declarations and tags of no interest
    in RE2, on the page's UTF-8 bytes; Python sees only the tags below, each once, so the
    pass is linear (see :mod:`~backlinks_django.htmlskip`).
    """

    def __init__(self, base_url: str, target: str, elements: dict[str, str]) -> None:
        self.base_url = base_url
        self.title = ""
        self.title_seen = False  # a <title> met (the first counts, even empty)
        self._target = target
        self._elements = elements
        self._base_seen = False
        self._hidden = 0  # inside <noscript> or <template>
        self._foreign = 0  # inside <svg> or <math>, whose <title> is a tooltip
        self._verdicts: dict[str, bool] = {}  # href: whether it links to the target
        self._needle = _needle(base_url, target)
        # Hrefs compared with the target so far, and whether they are bounded: on a page of
        # another host than the target's, whose author chooses its links.
        self._candidates = 0
        self._steps = 0  # tags read in Python (the scan passes over the others)
        self._bounded = _origin(base_url) != target.split("/")[2:3]
        self._avoid = ""  # the needle's character linking tags are passed over without
        self._data = b""
        self._position = 0  # in _data
        self._closed = 0  # end tags of hiding elements read
        self._hiding_ends = -1  # not counted yet

    def find(self, markup: str) -> int | None:
        """The offset in ``markup`` of the first element linking to the target, or None."""
        # Without a <base> the needle stays; a page that spells it nowhere, however its
        # references and whitespace are written, links nowhere to the target: no scan at all.
        if self._needle and not _spelled(markup, self._needle) and "<base" not in markup.lower():
            return None
        # The scan reads the page's UTF-8 bytes (see htmlskip.skip_pattern); offsets are
        # in bytes until the link's is turned back into characters.
        self._data = markup.encode("utf-8", "surrogatepass")
        found = self._scan(len(self._data), links=True)
        return None if found is None else len(_text(self._data[:found]))

    def title_after(self, markup: str, limit: int) -> str:
        """After :meth:`find` found the link: the first title in ``markup[:limit]`` after it."""
        self._scan(len(markup[:limit].encode("utf-8", "surrogatepass")), links=False)
        return self.title

    def _scan(self, stop: int, *, links: bool) -> int | None:
        """Read on from where the scan is, to the first link to the target (with ``links``) or
        to the title (without), up to byte ``stop``; the link tag's offset, or None."""
        data = self._data
        while True:
            if self._needle and not self._avoid:
                self._avoid = _rarest(self._needle, data)
            # Once the title is known, <svg> and <math> (whose <title> is a tooltip) don't matter.
            skip = _skip(self._avoid if self._needle else "", foreign=not self.title_seen)
            start: int = skip.match(data, self._position).end()
            if start >= stop or (self.title_seen and not links):
                return None
            head = htmlskip.TAG_HEAD.match(data, start)
            if head is None:  # "<" before a "<" that starts a tag that matters
                run = htmlskip.LT_RUN.match(data, start) or htmlskip.TOKEN.match(data, start)
                assert run is not None  # every character starts some token
                self._position = run.end()
                continue
            self._steps += 1
            if self._bounded and (self._steps > _STEPS or self._candidates > _CANDIDATES):
                return None  # a page of decoys: no link is found after them
            attributes_end, self._position = htmlskip.tag_end(data, head.end())
            name = _text(head["name"]).lower()
            if head["slash"]:
                self._closed += self._close(name)
                continue
            attributes = data[head.end() : attributes_end]
            if self._open(name, attributes) and links:
                return start
            if self._hidden and self._hidden > self._end_tags() - self._closed:
                # Each hiding element needs an end tag to close it: more are open than the
                # page has end tags (real or not) besides those read, nothing after is seen.
                return None
            if name in htmltokens.RAW_TEXT:
                end = htmlskip.raw_text_end(data, name, self._position)
                if name == "title" and not (self._hidden or self._foreign or self.title_seen):
                    # The first title counts, as in the tree; "<title/>" closes there.
                    self.title_seen = True
                    if not htmlskip.self_closing(attributes):
                        text = html_module.unescape(_text(data[self._position : end]))
                        self.title = html.title_text(text)
                self._position = end

    def _end_tags(self) -> int:
        """End tags of hiding elements in the page (counted once)."""
        if self._hiding_ends < 0:
            lowered = self._data.lower()
            self._hiding_ends = lowered.count(b"</template") + lowered.count(b"</noscript")
        return self._hiding_ends

    def _open(self, name: str, attributes: bytes) -> bool:
        """Note a start tag (its attribute text in UTF-8); whether it links to the target."""
        if name in ("noscript", "template"):
            self._hidden += 1
        elif name in ("svg", "math") and not htmlskip.self_closing(attributes):
            self._foreign += 1
        if self._hidden:
            return False
        if name == "base" and not self._base_seen:
            base = htmlskip.attribute(attributes, "href")
            if base is not None:
                self._base_seen = True
                self.base_url = document_base_url(self.base_url, base)
                self._verdicts.clear()
                self._needle = _needle(self.base_url, self._target)
        attribute = self._elements.get(name)
        href = htmlskip.attribute(attributes, attribute) if attribute else None
        if not href:
            return False
        if self._needle and self._needle not in _URL_NOISE.sub("", href):
            return False
        self._candidates += 1
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


# Hrefs that could name the target (holding its last path segment, or any href when it has
# none) compared with it at most, on a page of another host: each costs a URL resolution
# (20-60 µs), so a page of decoys costs at most this many; past them the page links nowhere.
# A page that links to a post holds a few such hrefs.
_CANDIDATES = 1000
# Tags read in Python at most on such a page: the tags the scan stops at (a linking tag holding
# the needle's chosen character or what could spell it, <base>, hiding and foreign elements
# and their end tags) cost 10-30 µs each, and a page can be made of nothing else (1-3 s per MB
# of <base>, <svg></svg>, <template></template> or links holding every character of the
# needle). Past them the page links nowhere; a page holds a few hundred such tags, rarely more
# than a few thousand.
_STEPS = 20_000


def _origin(url: str) -> list[str]:
    return same_page_key(url).split("/")[2:3]


# WHATWG URL parsing drops these anywhere in an href (as weburl.web_url does).
_URL_NOISE = re.compile(r"[\t\n\r]")


def _needle(base_url: str, target: str) -> str:
    """Text every href leading to ``target`` holds, or "" when there is no such text.

    A relative href keeps the base's host; so when that is not the target's, only an
    absolute href can lead there, and it spells out the target's path, whose last segment
    is then a cheap test to run before resolving the URL. Escapes are left out: keys
    upper-case them, so an href may spell them otherwise.
    """
    if _origin(base_url) == target.split("/")[2:3]:
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


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


# Needle characters from the likely rarest in pages to the most common; ties in a page are
# broken by this order.
_RARITY = "qzjxkvbwygfpmucdlhrsnioate-_.~9876543210QZJXKVBWYGFPMUCDLHRSNIOATE"
# The part of the page whose counts choose the character.
_SAMPLE = 1 << 16


def _rarest(needle: str, data: bytes) -> str:
    """The needle's character least frequent in the page's start, the one linking tags without
    it are passed over by (see :func:`_skip`); "" when it has no ASCII character."""
    candidates = [c for c in _RARITY if c in needle]
    if not candidates:
        return ""
    return min(candidates, key=lambda c: data.count(ord(c), 0, _SAMPLE))


# A pattern takes 5-10 ms to compile and up to about 1 MB for its DFA once used: per
# character of the needle chosen, with and without the title's elements.
@lru_cache(maxsize=16)
def _skip(avoid: str, *, foreign: bool) -> Any:
    """The scan's skip pattern: start tags that matter, end tags of hiding (and foreign) elements.

    A linking tag whose text lacks ``avoid`` (a character of the needle) and anything a
    reference or noise could spell it with cannot hold the needle, and is passed over by
    the regex engine too, so a page of links to elsewhere costs the scan no Python step per
    link. The title matters until it is known.
    """
    tracked = ("noscript", "template", *(("svg", "math") if foreign else ()))
    return htmlskip.skip_pattern(
        starts=("a", "img", "video", "base", *tracked, *(("title",) if foreign else ())),
        ends=tracked,
        quiet=("a", "img", "video"),
        avoid=avoid,
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
        if not _json_may_hold(document, target_url):
            return None
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


def _json_may_hold(document: str, value: str) -> bool:
    """Whether a JSON text may hold a string equal to ``value``, judged without parsing it.

    Such a string is written literally, or with "\\/" for "/", or with "\\u" escapes; no other
    escape can write a character of a printable value holding no quote or backslash.
    """
    if '"' in value or "\\" in value or not value.isprintable() or "\\u" in document:
        return True
    return value in document.replace("\\/", "/")


# Values of a JSON source compared with the target at most: parsing a megabyte of them takes
# about 70 ms, walking them 30 ms per 100,000; a Webmention source holds a few hundred.
_JSON_VALUES = 200_000


def _json_has(data: object, value: str) -> bool:
    stack = [data]
    for _ in range(_JSON_VALUES):
        if not stack:
            break
        item = stack.pop()
        if item == value:
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _excerpt(
    markup: str, start: int, offset: int, end: int, context: int, *, whole_block: bool
) -> str | None:
    """The text around the element whose start tag is at ``offset``, read from the tokens of
    ``markup[start:end]``: its text with up to ``context`` characters of its block's on each
    side. None if ``whole_block`` is false and the block began before ``start``.

    The text is what the tree of that markup (``html.parse_rendered``, titles dropped) would
    give: see :class:`_TextWalk`. The markup before and after ``offset`` is tokenized apart,
    so the element at ``offset`` is the one excerpted even when ``start`` cuts a construct
    (a comment, a script) in two.
    """
    walk = _TextWalk()
    for token in htmltokens.tokens(html.without_surrogates(markup[start:offset])):
        walk.feed(token)
    rest = htmltokens.tokens(html.without_surrogates(markup[offset:end]))
    # The scan found a start tag at offset, so that is the first token.
    first = next(rest, None)
    if first is None or first.kind != "start" or not walk.open_link(first, whole_block):
        return None
    for token in rest:
        walk.feed(token)
        if walk.done:
            break
    before, link, after = walk.parts()
    _lead_b, text_b, trail_b = _edges(before)
    lead_l, text_l, trail_l = _edges(link)
    lead_a, text_a, _trail_a = _edges(after)
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


# An element's text is never rendered when it or an ancestor is one of these (<title> is the
# page's title, not its text).
_UNSEEN = frozenset({*html.HIDDEN, "title"})
_VOID = frozenset(html.VOID_ELEMENTS)


class _Element:
    """An open element of :class:`_TextWalk`."""

    __slots__ = ("begin", "hidden", "last_break", "name")

    def __init__(self, name: str, hidden: bool, begin: int) -> None:
        self.name = name
        self.hidden = hidden
        # Whether its last rendered child so far is an element that separates words.
        self.last_break = False
        # Where its descendants' text starts in the walk's pieces.
        self.begin = begin


class _TextWalk:
    """The rendered text of a page's tokens, as ``html.text_nodes`` reads their tree, no tree.

    The tree is ``html.parse_html``'s (bs4's stack: an end tag closes the innermost open
    element of its name and those inside it, or nothing; void and "<x/>" elements close at
    once; nesting stops at ``html.MAX_DEPTH``) without hidden elements and titles. Text is
    kept as pieces: each rendered element gives " " where it separates words, else ""; a text
    node gives " " first when the element before it separates words, then its text.
    """

    def __init__(self) -> None:
        self.root = _Element("", False, 0)
        self.stack = [self.root]
        self.open: dict[str, int] = {}
        self.pieces: list[str] = []
        self.data: list[str] = []
        self.link: _Element | None = None
        self.block: _Element | None = None
        self.link_begin = 0
        self.link_end = -1
        self.block_end = -1
        self.done = False

    def feed(self, token: htmltokens.Token) -> None:
        kind = token.kind
        if kind == "text":
            self.data.append(token.data)
            return
        self._end_data()
        if kind == "start":
            if len(self.stack) > html.MAX_DEPTH:
                self._pop()
            name = token.data
            self._push(name)
            if name in _VOID or token.self_closing:
                self._pop_to(name)
        elif kind == "end":
            if token.data not in _VOID:
                self._pop_to(token.data)
        else:  # a comment, doctype or bogus comment: a node, but not text
            self.stack[-1].last_break = False

    def open_link(self, token: htmltokens.Token, whole_block: bool) -> bool:
        """Feed the link's start tag, noting its block; False if that began before the walk
        (and not ``whole_block``): the walk then stops."""
        self._end_data()
        # The scan found the link rendered: a hidden element open here is the window's
        # artefact (its start cut a script or a template in two), so it ends here.
        for depth, element in enumerate(self.stack):
            if element.hidden:
                while len(self.stack) > depth:
                    self._pop()
                break
        if len(self.stack) > html.MAX_DEPTH:
            self._pop()
        blocks = [e for e in self.stack[1:] if e.name in html.TEXT_BLOCKS]
        if blocks:
            self.block = blocks[-1]
        elif whole_block:
            self.block = self.root
        else:
            return False
        self.link_begin = len(self.pieces)
        self._push(token.data)
        self.link = self.stack[-1]
        if token.data in _VOID or token.self_closing:
            self._pop_to(token.data)
        return True

    def parts(self) -> tuple[str, str, str]:
        """The block's text before the link, the link's, and the block's after it."""
        if not self.done:  # the markup ended first: everything open closes
            self._end_data()
            while len(self.stack) > 1:
                self._pop()
            if self.block is self.root:
                self.block_end = len(self.pieces)
        block = self.block
        assert block is not None
        link_end, block_end = self.link_end, self.block_end
        return (
            "".join(self.pieces[block.begin : self.link_begin]),
            "".join(self.pieces[self.link_begin : link_end]),
            "".join(self.pieces[link_end:block_end]),
        )

    def _end_data(self) -> None:
        if not self.data:
            return
        parent = self.stack[-1]
        if not parent.hidden:
            if parent.last_break:
                self.pieces.append(" ")
            self.pieces.extend(self.data)
            parent.last_break = False
        self.data = []

    def _push(self, name: str) -> None:
        parent = self.stack[-1]
        hidden = parent.hidden or name in _UNSEEN
        if not hidden:
            breaks = name in html.BREAKS
            self.pieces.append(" " if breaks else "")
            parent.last_break = breaks
        self.stack.append(_Element(name, hidden, len(self.pieces)))
        self.open[name] = self.open.get(name, 0) + 1

    def _pop(self) -> None:
        element = self.stack.pop()
        self.open[element.name] -= 1
        if element is self.link:
            self.link_end = len(self.pieces)
        if element is self.block:
            self.block_end = len(self.pieces)
            self.done = True

    def _pop_to(self, name: str) -> None:
        if not self.open.get(name):
            return
        while len(self.stack) > 1:
            popped = self.stack[-1].name
            self._pop()
            if popped == name:
                return


def _edges(text: str) -> tuple[str, str, str]:
    """Collapsed text as (leading space, words, trailing space), so joins keep word gaps."""
    text = collapse_whitespace(text)
    core = text.strip()
    lead = " " if text[:1] == " " else ""
    trail = " " if text[-1:] == " " and core else ""
    return lead, core, trail
