"""Passing over remote markup in RE2: the link scan's tokens, a few ns per byte.

``htmltokens`` cuts markup into tokens with Python's regex engine, which spends 60-100 ns
on each token however simple: 20-60 ms per MB of short tags. The link scan
(``linksearch``) reads whole pages but needs only a few of their tags, so it passes over
the rest here, in RE2 (google-re2), whose DFA reads each byte once whatever the pattern:
linear by construction, as ``htmltokens`` is.

The patterns run on the page's UTF-8 bytes read as Latin-1, one character per byte: the
syntax is ASCII, and every byte of a multi-byte character is above it. They follow
``htmltokens``' rules. RE2 has no lookaround and no possessive repetition, and with
leftmost-first semantics a pattern that fails midway falls back on its next-preferred
parse: a tag whose intended parse failed could end at a ">" inside quotes. So the tag
grammar below is written from the HTML5 tokenizer's states after a tag's name, in a form
that gives every text one parse at most; names are excluded by spelling out the others
(:func:`_names_except`), never by lookahead.
"""

from __future__ import annotations

import functools
import html
import re
import string
from collections.abc import Iterable
from typing import Any, NamedTuple

import re2

from backlinks_django import htmltokens

_OPTIONS = re2.Options()
_OPTIONS.encoding = re2.Options.Encoding.LATIN1
# The DFA's state cache; a pattern that outgrew it would fall back to a slower matcher.
_OPTIONS.max_mem = 32 << 20

_SPACES = frozenset("\t\n\f\r ")
_NAME_SYNTAX = frozenset({*_SPACES, "/", ">"})
# What could spell or split a needle once an attribute value is decoded and URL-parsed.
_NOISE = frozenset("\t\n\r&")

# htmltokens.TOKEN on bytes: one token wherever the patterns below stop unexpectedly.
TOKEN = re.compile(htmltokens.TOKEN.pattern.encode())
# A tag's "<" or "</" and name; :func:`tag_end` reads the rest.
TAG_HEAD = re.compile(rb"<(?P<slash>/?)(?P<name>[A-Za-z][^\t\n\f\r />]*+)")
# A run of "<" before the one that starts a token: text.
LT_RUN = re.compile(rb"<+(?=<)")
_ATTRIBUTE = re.compile(htmltokens.ATTRIBUTE.pattern.encode())
_RAW_END = {
    name: re.compile(pattern.pattern.encode(), re.IGNORECASE)
    for name, pattern in htmltokens.RAW_END.items()
}


def skip_pattern(
    starts: tuple[str, ...], ends: tuple[str, ...], quiet: tuple[str, ...] = (), avoid: str = ""
) -> Any:
    """A compiled RE2 pattern matching, from where it is applied, every token up to the next
    one that matters.

    Those are start tags named in ``starts`` (raw text elements among them; the others are
    passed over with their text) and end tags named in ``ends``. A start tag named in
    ``quiet`` matters only when its text holds ``avoid``, "&", tab, CR or LF (what could spell
    or split a needle holding ``avoid``, once decoded); without ``avoid``, always. A match
    also ends before a run of "<" whose last one starts a tag that matters (:data:`LT_RUN`).
    """
    tail = _attributes().closed
    raw = [name for name in htmltokens.RAW_TEXT if name not in starts]
    after_lt = [
        _names_except({*starts, *raw}) + tail,
        *(_letters(name) + _attributes(_NOISE | set(avoid)).closed for name in quiet if avoid),
        *(_letters(name) + tail + _raw_text(name) for name in raw),
        "/(?:" + _names_except(set(ends)) + tail + r"|>|\z|[^A-Za-z>][^>]*(?:>|\z))",
        r"!(?:--(?:>|->|(?s:.*?)(?:--!?>|\z))|[^>]*(?:>|\z))",
        r"\?[^>]*(?:>|\z)",
        r"[^A-Za-z/!?<]|\z",  # a "<" that starts nothing: text
    ]
    return _compile("(?:[^<]+|<+(?:" + "|".join(after_lt) + "))*")


def tag_end(data: bytes, position: int) -> tuple[int, int]:
    """Where the attribute text of the tag whose name ends at ``position`` ends, and the tag
    (after its ">", or at the end of ``data``)."""
    end = _ATTRIBUTE_TEXT.match(data, position).end()
    return end, end + 1 if data[end : end + 1] == b">" else end


def attribute(source: bytes, wanted: str) -> str | None:
    """The decoded value of the first attribute named ``wanted`` (lower case), or None.

    ``source`` is a start tag's attribute text; the attributes before that one are passed
    over here, so a tag a megabyte long costs no Python step per attribute.
    """
    end = _attributes_before(wanted).match(source).end()
    found = _ATTRIBUTE.match(source, end)
    if found is None or found["name"].lower() != wanted.encode():
        return None
    value = next((v for v in found.group("dq", "sq", "uq") if v is not None), b"")
    text = value.decode("utf-8", "surrogatepass")
    return html.unescape(text) if "&" in text else text


def self_closing(source: bytes) -> bool:
    """Whether a start tag with this attribute text was written "<x .../>" (the "/" not in a
    value)."""
    return source.endswith(b"/") and _attributes_before("").match(source).end() == len(source)


def raw_text_end(data: bytes, name: str, position: int) -> int:
    """Where the raw text of a ``name`` element opened before ``position`` ends."""
    found = _RAW_END[name].search(data, position)
    return len(data) if found is None else found.start()


class _Attributes(NamedTuple):
    """A tag's attributes after its name (RE2), as patterns for the callers above."""

    closed: str  # up to the ">" that ends the tag, included, or the end of the input
    text: str  # up to that ">", not included
    before_name: str  # complete attributes, up to where the next one's name starts


@functools.lru_cache(maxsize=64)
def _attributes(excluded: frozenset[str] = frozenset(), wanted: str = "") -> _Attributes:
    """The tokenizer's states after a tag's name, written so that a text has one parse.

    States (HTML5 tokenizer): before an attribute name (where a space, a "/", a closing
    quote or an unquoted value and a space lead), in a name, after a name (spaces; another
    name follows without "="), before a value, in a quoted or unquoted value; ">" outside
    a quoted value ends the tag from each. With ``excluded`` no part may hold those
    characters, so a tag holding one does not match. With ``wanted``, names are any but it.
    """
    space = _class(_SPACES - excluded)

    def other(*syntax: str) -> str:  # any character but these and the excluded
        return _class({*syntax, *excluded}, negated=True)

    first = other(*_NAME_SYNTAX)  # starts a name ("=" included)
    rest = other(*_NAME_SYNTAX, "=")
    if wanted:
        names = (
            f"{_name_except(wanted, first, rest)}(?:{space}+{_name_except(wanted, rest, rest)})*"
        )
    else:
        names = f"{first}{rest}*(?:{space}+{rest}+)*"
    spaced = f"{names}{space}*"
    dq, sq = '"', "'"
    unquoted = other(*_SPACES, ">", dq, sq) + other(*_SPACES, ">") + "*"
    double, single = f"{dq}{other(dq)}*", f"{sq}{other(sq)}*"
    value = f"={space}*"
    # From before a name back to there: a space, a "/", or names ending in "/", in a
    # closed quote, or in an unquoted value and a space.
    step = f"(?:{space}|/|{spaced}(?:/|{value}(?:{double}{dq}|{single}{sq}|{unquoted}{space})))"
    # Every state that ">" (not included) or the end of the input may follow.
    last = rf"(?:{spaced}(?:{value}(?:{double}\z|{single}\z|{unquoted})?)?)?"
    return _Attributes(
        # After the name: ">" at once, or a space or "/" and the attributes.
        closed=rf"(?:>|\z|(?:{space}|/){step}*{last}(?:>|\z))",
        text=rf"(?:(?:{space}|/){step}*{last})?",
        # Names without value before the wanted one end with a space, as a name must.
        before_name=f"{step}*(?:{names}{space}+)?",
    )


@functools.lru_cache(maxsize=8)
def _attributes_before(wanted: str) -> Any:
    return _compile(_attributes(wanted=wanted).before_name)


def _raw_text(name: str) -> str:
    """The text of a raw text element ``name`` after its start tag, and its end tag."""
    return rf"(?s:.*?)(?:</{_letters(name)}{_attributes().closed}|\z)"


def _names_except(names: set[str], prefix: str = "") -> str:
    """Tag names (a letter, then any but space, "/" and ">") that are none of ``names``, any case.

    One branch per next character of a name in ``names`` and one for any other character;
    a name ends where the tag's rest (a space, "/", ">" or the end) begins, which the
    caller's pattern matches next.
    """
    nexts = {name[len(prefix)] for name in names if name.startswith(prefix) and name != prefix}
    cased = {c for n in nexts for c in (n.lower(), n.upper())}
    if prefix:
        leave = _class(_NAME_SYNTAX | cased, negated=True)
    else:
        leave = _class(set(string.ascii_letters) - cased)
    branches = [leave + _class(_NAME_SYNTAX, negated=True) + "*"]
    branches += [_letters(n) + _names_except(names, prefix + n) for n in sorted(nexts)]
    if prefix and prefix not in names:
        branches.append("")  # the name ends here
    return "(?:" + "|".join(branches) + ")"


def _name_except(word: str, first: str, rest: str, depth: int = 0) -> str:
    """An attribute name (a ``first`` then ``rest`` characters) that is not ``word``, any case.

    ``first`` and ``rest`` are negated classes; the word's letter is added to the one that
    leaves it.
    """
    letter = word[depth]
    characters = first if depth == 0 else rest
    leave = characters[:-1] + _class({letter.lower(), letter.upper()})[1:]
    branches = [f"{leave}{rest}*"]
    if depth + 1 < len(word):
        branches.append(_letters(letter) + _name_except(word, first, rest, depth + 1))
    else:  # the whole word: only a longer name differs
        branches.append(f"{_letters(letter)}{rest}+")
    if depth:
        branches.append("")  # a proper prefix of the word
    return "(?:" + "|".join(branches) + ")"


def _class(characters: Iterable[str], *, negated: bool = False) -> str:
    """A character class of ``characters`` (or of all others), each written as an escape."""
    escaped = "".join(f"\\x{ord(c):02x}" for c in sorted(set(characters)))
    return f"[{'^' if negated else ''}{escaped}]"


def _letters(name: str) -> str:
    """``name`` in any case, one character class per letter."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in name)


def _compile(pattern: str) -> Any:
    return re2.compile(pattern.encode("latin-1"), _OPTIONS)


_ATTRIBUTE_TEXT = _compile(_attributes().text)
