"""Remote markup cut into HTML tokens in linear time, by construction, with the C regex engine.

Every reader of remote HTML starts here: :func:`tokens` for the tree (``html.parse_html``)
and :func:`skip_pattern` for ``linksearch``'s streaming pre-scan.

Why linear: each token pattern below, once its first characters match, cannot fail; it
ends at its terminator or at the end of the input, as every state of the HTML5 tokenizer
does. All repetitions are possessive, so the engine never backtracks into text it has
consumed, and a token never rescans text that an earlier token took. Raw text (script,
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
# "</>" is dropped; any other "<" that starts no token is text.
_TEXT = r"</>|(?P<text>[^<]++|<)"

TOKEN = re.compile("|".join((_COMMENT, _START, _END, _DOCTYPE, _BOGUS, _TEXT)))
_ATTRIBUTE = re.compile(
    r"(?P<name>[^\t\n\f\r />][^\t\n\f\r />=]*+)"
    r"(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+"
    r"(?:\"(?P<dq>[^\"]*+)\"?|'(?P<sq>[^']*+)'?|(?P<uq>[^\t\n\f\r >]*+)))?+"
)

# Elements whose content is text up to their end tag, and whether entities count there.
RAW_TEXT = {
    **dict.fromkeys(("script", "style", "xmp", "iframe", "noembed", "noframes"), False),
    **dict.fromkeys(("textarea", "title"), True),
}
_RAW_END = {name: re.compile(rf"</{name}(?={_SPACE}|/|>|\Z)", re.IGNORECASE) for name in RAW_TEXT}


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
    for match in _ATTRIBUTE.finditer(source):
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
    found = _RAW_END[name].search(markup, position)
    return len(markup) if found is None else found.start()


def skip_pattern(
    starts: tuple[str, ...], ends: tuple[str, ...], quiet: tuple[str, ...] = (), needle: str = ""
) -> re.Pattern[str]:
    """A pattern matching, from where it is applied, every token up to the next one that matters.

    Those are start tags named in ``starts`` or raw text elements, and end tags named in
    ``ends``. With a ``needle``, a start tag named in ``quiet`` matters only when its text
    holds the needle, or "&", tab, CR or LF (which could spell or split it once decoded).
    One possessive repetition of the token patterns: the engine passes over the rest
    without returning to Python, in linear time like :data:`TOKEN`.
    """
    names = {*starts, *RAW_TEXT}
    comment = re.sub(r"\(\?P<\w+>", "(?:", _COMMENT)[len("<!") :]
    # A tag without attributes ends at once; the rest as in :data:`TOKEN`.
    rest = rf"[^\t\n\f\r />]*+(?:>|{_ATTRIBUTES}(?:>|\Z))"
    quiet_rest = _quiet_attributes(needle) if quiet and needle else ""
    # After "<", one branch per kind of token, each starting with a character (or a set of
    # them) that the engine checks before entering the branch: it tries one or two branches
    # per token. Doctypes and bogus comments alike end at the first ">".
    after_lt = (
        *(_letters(name) + quiet_rest for name in quiet if quiet_rest),
        *_other_names(names, rest),
        rf"/(?:{'|'.join(_other_names(set(ends), rest))}|>|\Z|[^A-Za-z>][^>]*+>?)",
        rf"!(?:{comment}|[^>]*+>?)",
        r"\?[^>]*+>?",
        r"(?![A-Za-z/!?<])",  # text
    )
    # A run of "<" is text up to its last one, in one step.
    return re.compile("(?:[^<]++|<(?:" + "|".join(after_lt) + ")|<+(?=<))*+")


_NAME_END = r"(?=[\t\n\f\r />]|\Z)"


def _letters(name: str) -> str:
    """``name`` in any case, one character set per letter (a literal where none is needed)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in name)


def _other_names(names: set[str], rest: str) -> list[str]:
    """Branches matching a tag name (and ``rest``) that is none of ``names``, by first letter."""
    initials = sorted({name[0] for name in names})
    plain = "".join(letter for letter in "abcdefghijklmnopqrstuvwxyz" if letter not in initials)
    branches = [f"[{plain}{plain.upper()}]{rest}"]
    for initial in initials:
        tails = "|".join(sorted(re.escape(name[1:]) for name in names if name[0] == initial))
        branches.append(f"{_letters(initial)}(?!(?i:{tails}){_NAME_END}){rest}")
    return branches


# Characters that cannot start a needle: the tag syntax, and what decoding changes.
SYNTAX = frozenset("\t\n\f\r />=\"'<&")


def _quiet_attributes(needle: str) -> str:
    """The rest of a start tag whose text holds no needle, "&", tab, CR or LF.

    :data:`_ATTRIBUTES` with every repetition unable to consume those: none of its parts
    can pass over one, so a tag holding one fails to match as a whole. Up to the first
    one, the tag is matched exactly as by :data:`TOKEN`, so a match ends where its tag does.
    """
    if SYNTAX & set(needle):
        raise ValueError(f"needle holds tag syntax: {needle!r}")
    first, rest = re.escape(needle[0]), re.escape(needle[1:])
    # needle[0] is consumed only where the rest of the needle does not follow.
    guard = f"|{first}(?!{rest})" if rest else ""

    def run(excluded: str) -> str:
        return f"(?:[^{excluded}&\t\n\r{first}]++{guard})*+"

    name = f"(?:[^\t\n\f\r />&{first}]{guard})" + run(r"\t\n\f\r />=")
    double, single, bare = run('"'), run("'"), run(r"\t\n\f\r >")
    value = f"(?:\"{double}\"?|'{single}'?|{bare})"
    attributes = rf"(?:[\f /]++|{name}(?:[\f ]*+=[\f ]*+{value})?+)*+"
    return rf"{_NAME_END}{attributes}(?:>|\Z)"


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
            values, self_closing = attributes(match["attributes"])
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
