"""What a source page says about itself, read from its microformats (mf2py): type, author, URL."""

from __future__ import annotations

import datetime
import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import mf2py
import mf2py.backcompat
from bs4 import BeautifulSoup
from django.utils.dateparse import parse_datetime

from backlinks_django import limits
from backlinks_django.choices import MentionType
from backlinks_django.html import parse_html, to_plain_text
from backlinks_django.weburl import has_control_chars, same_page_key

# Properties of an h-entry naming the post it responds to, by mention type.
_RESPONSE_PROPERTIES = {
    "in-reply-to": MentionType.REPLY,
    "like-of": MentionType.LIKE,
    "repost-of": MentionType.REPOST,
    "bookmark-of": MentionType.BOOKMARK,
}


@dataclass(frozen=True)
class Entry:
    mention_type: MentionType = MentionType.MENTION
    name: str = ""
    content: str = ""
    author_name: str = ""
    author_url: str = ""
    author_photo: str = ""
    published: datetime.datetime | None = None
    # The entry's u-url: where the post itself lives when the source is a copy (Bridgy).
    url: str = ""


def read_entry(document: str, url: str, target_url: str) -> Entry:
    """The first h-entry of the page, or the one responding to target_url, as an Entry.

    A page none of whose class attributes can name an entry (:func:`may_hold_entry`) is not
    parsed: mf2py would find none in it.
    """
    if not may_hold_entry(document):
        return Entry()
    soup = parse_html(document, max_elements=limits.MICROFORMATS_ELEMENTS)
    if soup is None:
        return Entry()
    return entry_from_tree(soup, url, target_url)


# Every value a class attribute may have in the tokenizer's reading (htmltokens): "class"
# then "=", and a quoted value to its quote (or the end) or an unquoted one. Found anywhere
# (in text and comments too): more values than there are is harmless. Matched in the page's
# lower case (the tokenizer lower-cases attribute names), where the literal is found fast.
_CLASS_VALUE = re.compile(
    r"""class[\t\n\f\r ]*+=[\t\n\f\r ]*+(?:"([^"]*+)|'([^']*+)|([^\t\n\f\r >]*+))"""
)


def _entry_roots() -> frozenset[str]:
    """The class names that make an element an h-entry for mf2py: "h-entry", and each
    classic (mf1) root its backcompat rules turn into one ("hentry")."""
    roots = {"h-entry", "hentry"}
    classic = getattr(mf2py.backcompat, "_CLASSIC_MAP", {})
    roots.update(name for name, rules in classic.items() if "h-entry" in str(rules))
    return frozenset(roots)


# One of those as a whole class token: bs4 splits class values on (Unicode) whitespace.
_ENTRY_ROOT = re.compile(
    "(?<!\\S)(?:" + "|".join(sorted(map(re.escape, _entry_roots()))) + ")(?!\\S)"
)


def may_hold_entry(document: str) -> bool:
    """Whether a class attribute of ``document`` may name an h-entry root (mf2 or classic).

    mf2py makes an item h-entry only from such a class token, so a page without one holds no
    entry. Values are decoded as the tokenizer decodes them; joined by a space, since no
    character reference spans one.
    """
    lowered = document.lower()
    if len(lowered) != len(document):  # "İ" lower-cases to two characters: spans would shift
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in document)
    values = " ".join(
        document[match.start(group) : match.end(group)]
        for match in _CLASS_VALUE.finditer(lowered)
        for group in (1, 2, 3)
        if match.start(group) >= 0
    )
    if "&" in values:
        values = html.unescape(values)
    return _ENTRY_ROOT.search(values) is not None


class _Parser(mf2py.Parser):  # type: ignore[misc]  # mf2py is untyped
    """mf2py's parser for a tree read by nothing else after it.

    mf2py copies every e-* element of a tree it is given before resolving its URLs and
    removing its templates, to leave the tree as it was: a copy of the whole post, for a
    tree that is thrown away next. Here the tree is changed instead. That reads the same:
    mf2py resolves URLs again wherever it reads one (resolving is idempotent) and skips
    templates wherever it walks (``dom_helpers.get_children``, ``get_textContent``);
    ``tests/test_mf2.py`` compares both over generated pages.
    """

    @property
    def _preserve_doc(self) -> bool:
        return False

    @_preserve_doc.setter
    def _preserve_doc(self, value: bool) -> None:
        pass


def entry_from_tree(soup: BeautifulSoup, url: str, target_url: str) -> Entry:
    """:func:`read_entry` of a page parsed by ``html.parse_html``, a tree that this reading
    changes (mf2py resolves the URLs of e-* properties and drops their templates in it)."""
    # mf2py reads our tree: its own parsers (html.parser, html5lib) are not linear. An e-*
    # property's element is exposed, not serialized to HTML: only its text is read here.
    try:
        parsed = _Parser(doc=soup, url=url, expose_dom=True).to_dict()
    except (RecursionError, ValueError):
        # mf2py recurses per nesting level (our tree stops at html.MAX_DEPTH; kept as a guard)
        # and trusts <base href> to be a valid URL. The link was already found; the page has
        # no usable microformats.
        return Entry()
    entries = [item for item in _items(parsed.get("items", [])) if "h-entry" in item["type"]]
    if not entries:
        return Entry()
    target = same_page_key(target_url)
    mention_type = MentionType.MENTION
    entry = entries[0]
    for candidate in entries:
        found = _response_type(candidate, target)
        if found is not None:
            entry, mention_type = candidate, found
            break
    props = entry.get("properties", {})
    author = _first(props.get("author"))
    return Entry(
        mention_type=mention_type,
        name=to_plain_text(_text(_first(props.get("name"))), limits.TITLE),
        content=to_plain_text(_text(_first(props.get("content"))), limits.EXCERPT),
        author_name=to_plain_text(_author_field(author, "name"), limits.AUTHOR_NAME),
        author_url=_web_url(_author_field(author, "url")),
        author_photo=_web_url(_author_field(author, "photo")),
        published=_datetime(_text(_first(props.get("published")))),
        url=_web_url(_text(_first(props.get("url")))),
    )


def _items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Top-level items and their children (an h-feed holds its h-entries as children)."""
    found: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("type"), list):
            found.append(item)
            found.extend(_items(item.get("children", [])))
    return found


def _response_type(entry: dict[str, Any], target: str) -> MentionType | None:
    props = entry.get("properties", {})
    for name, mention_type in _RESPONSE_PROPERTIES.items():
        for value in props.get(name, []):
            url = _cited_url(value)
            if url and same_page_key(url) == target:
                return mention_type
    return None


def _cited_url(value: Any) -> str:
    """The URL of a response property: a plain URL or an embedded h-cite's url."""
    if isinstance(value, dict):
        return _text(_first(value.get("properties", {}).get("url"))) or _text(value)
    return _text(value)


def _first(values: Any) -> Any:
    return values[0] if isinstance(values, list) and values else None


def _text(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("value", "")
    return value if isinstance(value, str) else ""


def _author_field(author: Any, name: str) -> str:
    if isinstance(author, str):
        return author if name == "name" else ""
    if not isinstance(author, dict):
        return ""
    props = author.get("properties", {})
    value = _text(_first(props.get(name)))
    if not value and name == "url":
        value = _text(author.get("value"))
    return value


def _web_url(value: str) -> str:
    value = value.strip()
    if has_control_chars(value) or len(value) > limits.URL:
        return ""
    try:
        urlsplit(value).hostname  # noqa: B018 -- raises ValueError on "http://[::1"
    except ValueError:
        return ""
    return value if value.startswith(("http://", "https://")) else ""


def _datetime(value: str) -> datetime.datetime | None:
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=datetime.UTC)
    # Stored in UTC: PostgreSQL refuses offsets of 16 hours or more, and a date at the edge
    # of the calendar may leave it (year 0 or 10000) when moved there.
    try:
        return parsed.astimezone(datetime.UTC)
    except OverflowError:
        return None
