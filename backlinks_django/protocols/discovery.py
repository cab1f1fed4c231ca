"""Endpoint discovery in a fetched page without building its tree when nothing could match.

A sending task reads every target's page for a ``<link rel="webmention">`` (or
``rel="pingback"``), and most pages advertise none: :func:`rel_link` answers those without a
tree, and hands the others to :func:`backlinks_django.html.rel_link`, so what it finds is
always what that finds.
"""

from __future__ import annotations

import re

from backlinks_django import html, htmltokens


def rel_link(markup: str, page_url: str, token: str, elements: tuple[str, ...]) -> str | None:
    """:func:`backlinks_django.html.rel_link`, the same answer, cheaper when there is none."""
    if not may_have_rel(markup, token, elements):
        return None
    return html.rel_link(markup, page_url, token, elements)


def may_have_rel(markup: str, token: str, elements: tuple[str, ...]) -> bool:
    """Whether some element of ``elements`` in ``markup`` might have ``token`` in its rel.

    False only when none has: a rel holding ``token`` (ASCII case-insensitively, as
    :func:`~backlinks_django.html.has_rel` compares) holds it as a substring of its decoded
    value. Without "&" in the page, decoded values are the page's own text, so a page that
    nowhere spells ``token`` is answered by one search; others by the tokens alone (those the
    tree of :func:`~backlinks_django.html.parse_html` is built from), with no tree.
    """
    # As html.parse_html tokenizes it (a removed surrogate can join two halves of a word).
    markup = html.without_surrogates(markup)
    if "<" not in markup:
        return False
    if "&" not in markup and re.search(re.escape(token), markup, re.IGNORECASE) is None:
        return False
    needle = token.lower()
    for found in htmltokens.tokens(markup):
        if (
            found.kind == "start"
            and found.data in elements
            and needle in found.attributes.get("rel", "").lower()
        ):
            return True
    return False
