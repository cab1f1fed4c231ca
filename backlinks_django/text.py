"""Plain text made storable: on one line, cut at a word boundary, cuts marked with an ellipsis."""

from __future__ import annotations

import re

ELLIPSIS = "…"

_WHITESPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# A trailing partial word (left crop) or leading partial word (right crop).
_LAST_WORD = re.compile(r"\s\S*\Z")
_FIRST_WORD = re.compile(r"\A\S*\s")


def to_single_line(text: str) -> str:
    """Plain text (not HTML) on one line: whitespace runs as one space, control characters gone."""
    return collapse_whitespace(text).strip()


def collapse_whitespace(text: str) -> str:
    """Whitespace runs as single spaces, other control characters dropped; ends kept."""
    # Whitespace first: newlines and tabs are control characters too but separate words.
    text = _WHITESPACE.sub(" ", text)
    return _WHITESPACE.sub(" ", _CONTROL.sub("", text))


def crop(text: str, max_length: int) -> str:
    """text if short enough, else cut at a word boundary near max_length, "…" included."""
    if len(text) <= max_length:
        return text
    if max_length <= 0:
        return ""
    return cut_end(text, max_length - 1) + ELLIPSIS


def cut_end(text: str, length: int) -> str:
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


def cut_start(text: str, length: int) -> str:
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
