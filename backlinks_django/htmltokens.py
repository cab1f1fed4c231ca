"""Remote markup cut into HTML tokens in linear time, by construction, with the C regex engine.

Every reader of remote HTML starts here: :func:`tokens` for the tree (``html.parse_html``),
the link's window and discovery; ``htmlskip`` holds the same rules in RE2 for the link
scan, which passes over whole pages.

Why linear: each token pattern below, once its first characters match, cannot fail; it
ends at its terminator or at the end of the input, as every state of the HTML5 tokenizer
does. All repetitions are possessive (but one: a run of "<" gives its last one back, once),
so the engine never backtracks further into text it has consumed, and a token never
rescans text that an earlier token took. Raw text (script,
style, textarea, title ...) is found with one forward search for its end tag, which the
next token starts after. So each character is examined a bounded number of times,
whatever the page holds: unfinished tags, comments, marked sections, stray "<".

The rules are HTML5's tokenizer's, simplified where no reader of this app can tell:
no script-data escape states (a script ends at its first ``</script``), CDATA sections
and marked sections are bogus comments up to the next ">" as in HTML content, and
character references are decoded by :func:`html.unescape` (HTML5's table and rules).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import NamedTuple

# HTML's whitespace is ASCII only.
_SPACE = r"[\t\n\f\r ]"
# A tag's attributes: separators, then names with an optional value. A quoted value
# runs to its closing quote or to the end; nothing here can stop before ">" or the end.
_ATTRIBUTES = (
    r"(?:[\t\n\f\r /]++"
    r"|[^\t\n\f\r />][^\t\n\f\r />=]*+"
    r"(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+(?:\"[^\"]*+\"?|'[^']*+'?|[^\t\n\f\r >]*+))?+"
    r")*+"
)
# Up to the first "-->" or "--!>": runs without "-", and each "-" that starts neither.
_COMMENT = r"<!--(?:>|->|(?P<comment>[^-]*+(?:-(?!-!?>)[^-]*+)*+)(?:--!?>|\Z))"
_START = rf"<(?P<start>[A-Za-z][^\t\n\f\r />]*+)(?P<attributes>{_ATTRIBUTES})(?:>|\Z)"
_END = rf"</(?P<end>[A-Za-z][^\t\n\f\r />]*+){_ATTRIBUTES}(?:>|\Z)"
_DOCTYPE = r"<!(?i:doctype)(?P<doctype>[^>]*+)>?"
# "<?x>", "<!x>", "<![CDATA[x>" and "</ x>": bogus comments, closed by the first ">".
_BOGUS = r"(?:<[?!]|</(?=[^A-Za-z>]))(?P<bogus>[^>]*+)>?"
# "</>" is dropped; any other "<" that starts no token is text: a run of "<" up to its last
# one in one token.
_TEXT = r"</>|(?P<text>[^<]++|<+(?=<)|<)"

TOKEN = re.compile("|".join((_COMMENT, _START, _END, _DOCTYPE, _BOGUS, _TEXT)))
# One attribute of a start tag's attribute text: its name and its value, quoted or not.
ATTRIBUTE = re.compile(
    r"(?P<name>[^\t\n\f\r />][^\t\n\f\r />=]*+)"
    r"(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+"
    r"(?:\"(?P<dq>[^\"]*+)\"?|'(?P<sq>[^']*+)'?|(?P<uq>[^\t\n\f\r >]*+)))?+"
)

# Elements whose content is text up to their end tag, and whether entities count there.
RAW_TEXT = {
    **dict.fromkeys(("script", "style", "xmp", "iframe", "noembed", "noframes"), False),
    **dict.fromkeys(("textarea", "title"), True),
}
# Where the raw text of each of those ends: its end tag, by the tokenizer's rule.
RAW_END = {name: re.compile(rf"</{name}(?={_SPACE}|/|>|\Z)", re.IGNORECASE) for name in RAW_TEXT}


class Token(NamedTuple):
    """One token: its kind ("start", "end", "text", "comment", "doctype", "bogus") and data.

    For a start tag ``data`` is the lower-cased name and ``attributes`` its attributes,
    first occurrence of each name only (HTML's rule); for text, the decoded text.
    """

    kind: str
    data: str
    attributes: dict[str, str]
    # A start tag written "<x/>".
    self_closing: bool = False


def attributes(source: str) -> tuple[dict[str, str], bool]:
    """A start tag's attribute text as a dict (lower-cased names, decoded values, first wins).

    With it, whether the tag was self-closing: a "/" last, and not in an unquoted value.
    """
    found: dict[str, str] = {}
    last_end = 0
    for match in ATTRIBUTE.finditer(source):
        last_end = match.end()
        name = match["name"].lower()
        if name not in found:
            value = match["dq"] if match["dq"] is not None else match["sq"]
            if value is None:
                value = match["uq"] or ""
            found[name] = html.unescape(value) if "&" in value else value
    return found, source.endswith("/") and last_end < len(source)


def raw_text_end(markup: str, name: str, position: int) -> int:
    """Where the raw text of a ``name`` element opened before ``position`` ends."""
    found = RAW_END[name].search(markup, position)
    return len(markup) if found is None else found.start()


# Characters that cannot start a needle: the tag syntax, and what decoding changes.
SYNTAX = frozenset("\t\n\f\r />=\"'<&")


def tokens(markup: str) -> Iterator[Token]:
    """The tokens of ``markup`` in order; text runs may come in several pieces."""
    position = 0
    length = len(markup)
    none: dict[str, str] = {}
    while position < length:
        match = TOKEN.match(markup, position)
        # Every character starts some token, so a match always exists.
        assert match is not None
        position = match.end()
        kind = match.lastgroup
        if kind == "attributes":  # the last group of a start tag
            name = match["start"].lower()
            text = match["attributes"]
            values, self_closing = attributes(text) if text else (none, False)
            yield Token("start", name, values, self_closing)
            if name in RAW_TEXT:
                end = raw_text_end(markup, name, position)
                text = markup[position:end]
                if text:
                    yield Token("text", html.unescape(text) if RAW_TEXT[name] else text, none)
                position = end
        elif kind == "end":
            yield Token("end", match["end"].lower(), none)
        elif kind == "text":
            text = match["text"]
            yield Token("text", html.unescape(text) if "&" in text else text, none)
        elif kind is not None:
            yield Token(kind, match[kind] or "", none)
        elif match.group().startswith("<!--"):  # "<!-->", "<!--->": empty comments
            yield Token("comment", "", none)
