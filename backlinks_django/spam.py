"""The spam checks every received backlink goes through, in the order of ``SPAM_CHECKS``.

A check is a function ``check(candidate) -> Verdict | None`` (None: no
opinion). The first verdict that is not ``ACCEPT`` decides (``APPROVE``,
``HOLD`` or ``SPAM``); its reason is stored on the backlink and shown to
moderators. The built-in checks below read their parameters from the settings.
"""

from __future__ import annotations

import enum
import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus, urlsplit

from bs4 import Tag
from bs4.element import NavigableString, PreformattedString
from django.db.models import Q
from django.utils.module_loading import import_string

from backlinks_django import __version__, html
from backlinks_django.choices import Kind, Outcome
from backlinks_django.conf import app_settings
from backlinks_django.keys import domain_key
from backlinks_django.models import Backlink, OutboundPing
from backlinks_django.weburl import host_forms, normalize_url

if TYPE_CHECKING:
    import httpx
    from akismet import SyncClient

logger = logging.getLogger(__name__)


class Decision(enum.Enum):
    # No objection: the next check runs.
    ACCEPT = "accept"
    # Accept and approve, even when the site holds everything for moderation.
    APPROVE = "approve"
    HOLD = "hold"
    SPAM = "spam"


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reason: str = ""


ACCEPT = Verdict(Decision.ACCEPT)


@dataclass(frozen=True)
class Candidate:
    """What a check sees of one received backlink.

    ``backlink``: the unsaved row (plain text, cropped); ``title``, ``excerpt``, ``blog_name``:
    the sender's own, uncleaned (TrackBack sends them); ``author``: named by the source page;
    ``verified``: the source was fetched and links to the target.
    """

    backlink: Backlink
    kind: Kind
    source_url: str
    target_url: str
    title: str = ""
    excerpt: str = ""
    blog_name: str = ""
    author: str = ""
    remote_ip: str | None = None
    user_agent: str = ""
    verified: bool = False


Check = Callable[[Candidate], Verdict | None]


def get_checks() -> list[Check]:
    """The configured checks, imported from their dotted paths."""
    return [import_string(path) for path in app_settings.SPAM_CHECKS]


def run_checks(candidate: Candidate) -> Verdict:
    """The verdict of the first check that approves, holds or flags the backlink, else ACCEPT."""
    for check in get_checks():
        verdict = check(candidate)
        if verdict is not None and verdict.decision is not Decision.ACCEPT:
            return verdict
    return ACCEPT


# Blocked keywords ------------------------------------------------------------


def blocked_keywords(candidate: Candidate) -> Verdict | None:
    """SPAM when a BLOCKED_KEYWORDS word or phrase is in the title, excerpt, names or URL."""
    keywords = tuple(k for k in (k.strip() for k in app_settings.BLOCKED_KEYWORDS) if k)
    if not keywords:
        return None
    backlink = candidate.backlink
    fields = (
        ("title", backlink.title),
        ("excerpt", backlink.excerpt),
        ("blog name", backlink.blog_name),
        ("author name", backlink.author_name),
        # Decoded, so "/buy%20pills" and "?q=buy+pills" read as the words they are.
        ("source URL", unquote_plus(backlink.source_url)),
    )
    for field, text in fields:
        keyword = _find_keyword(keywords, text)
        if keyword is not None:
            return Verdict(Decision.SPAM, f"Blocked keyword {keyword!r} in the {field}")
    return None


def _find_keyword(keywords: tuple[str, ...], text: str) -> str | None:
    """The first of ``keywords`` (in the order given) that ``text`` contains as whole words."""
    if not text or _keywords_pattern(keywords).search(text) is None:
        return None
    return next(k for k in keywords if _keyword_pattern(k).search(text))


@functools.lru_cache(maxsize=8)
def _keywords_pattern(keywords: tuple[str, ...]) -> re.Pattern[str]:
    # One pass over the text for the whole list; lists of thousands of words exist.
    return re.compile("|".join(_keyword_regex(k) for k in keywords), re.IGNORECASE)


@functools.lru_cache(maxsize=1024)
def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    return re.compile(_keyword_regex(keyword), re.IGNORECASE)


def _keyword_regex(keyword: str) -> str:
    # Whole words: no letter or digit right before or after ("_" and "-" separate words,
    # as they do in URLs). A phrase's words may be separated by any run of non-letters.
    words = r"[\W_]+".join(re.escape(word) for word in keyword.split())
    return rf"(?<![^\W_])(?:{words})(?![^\W_])"


# Links in the excerpt ----------------------------------------------------------

_BARE_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
# Punctuation that ends a sentence rather than the URL before it.
_URL_TRAILER = ".,;:!?)]}"


def too_many_links(candidate: Candidate) -> Verdict | None:
    """SPAM when the raw excerpt holds more than MAX_LINKS_IN_EXCERPT links."""
    limit = app_settings.MAX_LINKS_IN_EXCERPT
    count = count_links(candidate.excerpt)
    if count > limit:
        return Verdict(Decision.SPAM, f"{count} links in the excerpt (limit {limit})")
    return None


def count_links(text: str) -> int:
    """Anchors with an href plus bare http(s) URLs; an anchor showing its own URL counts once."""
    if "<" not in text:
        return len(_bare_urls(text))
    soup = html.parse_html(text)
    if soup is None:
        # Counts every URL, inside attributes too: an over-count only on unparseable markup.
        return len(_bare_urls(text))
    count = 0
    for tag in soup.find_all("a"):
        if isinstance(tag, Tag) and str(tag.get("href") or "").strip():
            count += 1
    for node in soup.find_all(string=True):
        # Comments, CDATA and the like are not shown as text.
        if not isinstance(node, NavigableString) or isinstance(node, PreformattedString):
            continue
        anchor = node.find_parent("a")
        href = anchor.get("href") if isinstance(anchor, Tag) else None
        own = normalize_url(href) if isinstance(href, str) and href.strip() else None
        count += sum(1 for url in _bare_urls(str(node)) if normalize_url(url) != own)
    return count


def _bare_urls(text: str) -> list[str]:
    return [match.group().rstrip(_URL_TRAILER) for match in _BARE_URL.finditer(text)]


# Field lengths -----------------------------------------------------------------


def field_lengths(candidate: Candidate) -> Verdict | None:
    """HOLD when the raw title or excerpt is longer than MAX_TITLE_LENGTH / MAX_EXCERPT_LENGTH."""
    too_long = [
        f"{name} of {len(value)} characters (limit {limit})"
        for name, value, limit in (
            ("title", candidate.title, app_settings.MAX_TITLE_LENGTH),
            ("excerpt", candidate.excerpt, app_settings.MAX_EXCERPT_LENGTH),
        )
        if len(value) > limit
    ]
    if too_long:
        return Verdict(Decision.HOLD, f"Overlong {' and '.join(too_long)}")
    return None


# Verification, known and pinged domains -------------------------------------------------


def unverified(candidate: Candidate) -> Verdict | None:
    """HOLD when the source was not fetched and seen to link to the target."""
    if candidate.verified:
        return None
    return Verdict(Decision.HOLD, "Source not verified to link here")


def known_domain(candidate: Candidate) -> Verdict | None:
    """APPROVE a verified backlink whose source host already has an approved one on this site."""
    # Without verification the source URL is only the sender's claim: anyone could name
    # a known domain.
    if not app_settings.AUTO_APPROVE_KNOWN_DOMAINS or not candidate.verified:
        return None
    backlink = candidate.backlink
    host = (urlsplit(backlink.source_url).hostname or "").rstrip(".")
    if not host:
        return None
    approved = Backlink.objects.approved().filter(site_id=backlink.site_id)
    if approved.filter(_source_host_is(host)).exists():
        return Verdict(Decision.APPROVE, "Known domain")
    return None


def pinged_domain(candidate: Candidate) -> Verdict | None:
    """APPROVE a verified backlink from a domain this site has itself pinged successfully."""
    # Verified only, as for known_domain; the domain is the registrable one, so a link to
    # blog.example.com vouches for www.example.com, but one to alice.github.io not for bob's.
    if not app_settings.AUTO_APPROVE_PINGED_DOMAINS or not candidate.verified:
        return None
    backlink = candidate.backlink
    host = urlsplit(backlink.source_url).hostname or ""
    if not host:
        return None
    domain = domain_key(host)
    delivered = OutboundPing.objects.filter(site_id=backlink.site_id, outcome=Outcome.SUCCESS)
    # The query narrows the rows to hosts ending in the domain; the registrable domain of each,
    # which SQL cannot compute, decides.
    urls = delivered.filter(_url_host_within(domain)).values_list("target_url", flat=True)
    for url in urls.iterator():
        if domain_key(urlsplit(url).hostname or "") == domain:
            return Verdict(Decision.APPROVE, "Domain this site has pinged")
    return None


def _url_host_within(domain: str) -> Q:
    """URLs whose host is ``domain`` or a subdomain of it (any scheme, port, path)."""
    query = Q()
    forms = {f"[{domain}]"} if ":" in domain else host_forms(domain)
    for form in forms:
        pattern = rf"^https?://([^/?#@]*\.)?{re.escape(form)}\.?(:[0-9]+)?([/?#]|$)"
        query |= Q(target_url__iregex=pattern)
    return query


def _source_host_is(host: str) -> Q:
    """Source URLs whose host is exactly ``host`` (any scheme, port, path; case-insensitive)."""
    query = Q()
    for scheme in ("http", "https"):
        start = f"{scheme}://{host}"
        query |= Q(source_url__iexact=start)
        for after_host in ("/", ":", "?", "#"):
            query |= Q(source_url__istartswith=start + after_host)
    return query


# Akismet -------------------------------------------------------------------------

# Seconds for the whole comment-check request (the library's own default is 1).
AKISMET_TIMEOUT = 3.0


def akismet_http_client(transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """The HTTP client Akismet requests go through (tests pass a transport to a local fake)."""
    import akismet as akismet_library
    import httpx

    return httpx.Client(
        headers={"User-Agent": f"backlinks_django/{__version__} | {akismet_library.USER_AGENT}"},
        timeout=AKISMET_TIMEOUT,
        transport=transport,
    )


def akismet_client(blog_url: str, http_client: httpx.Client) -> SyncClient:
    """An Akismet client for AKISMET_API_KEY and ``blog_url``, sending through ``http_client``."""
    import akismet as akismet_library

    config = akismet_library.Config(key=app_settings.AKISMET_API_KEY or "", url=blog_url)
    # Not validated_client(): that costs a verify-key request per ping, and a bad key
    # already fails every comment-check (APIKeyError).
    return akismet_library.SyncClient(config=config, http_client=http_client)


def akismet(candidate: Candidate) -> Verdict | None:
    """SPAM what Akismet's comment-check calls spam; HOLD when Akismet cannot answer."""
    if not app_settings.AKISMET_API_KEY:
        return None
    backlink = candidate.backlink
    if not backlink.remote_ip:
        # Self-pings come from this site's own content, with no sender address.
        return None
    try:
        import akismet as akismet_library
    except ImportError:
        # System check backlinks_django.E006 reports this; a ping is never a 500.
        logger.error("AKISMET_API_KEY is set but the akismet package is not installed")
        return Verdict(Decision.HOLD, "Akismet unavailable")
    blog_url = app_settings.AKISMET_BLOG_URL or f"{app_settings.SCHEME}://{backlink.site.domain}/"
    content = "\n\n".join(text for text in (backlink.title, backlink.excerpt) if text)
    try:
        with akismet_http_client() as http_client:
            answer = akismet_client(blog_url, http_client).comment_check(
                user_ip=backlink.remote_ip,
                user_agent=backlink.user_agent,
                comment_type=Kind(backlink.kind).value,
                # A Webmention's author comes from the source's microformats.
                comment_author=backlink.blog_name or backlink.author_name,
                comment_author_url=backlink.source_url,
                comment_content=content,
                permalink=backlink.target_url,
                blog_charset="UTF-8",
            )
    except akismet_library.ConfigurationError:
        # The message can quote the key: never log it.
        logger.error("Akismet refused the API key or blog URL %s", blog_url)
        return Verdict(Decision.HOLD, "Akismet unavailable")
    except (akismet_library.RequestError, akismet_library.ProtocolError) as exc:
        logger.warning("Akismet unavailable: %s", " ".join(str(exc).split())[:200])
        return Verdict(Decision.HOLD, "Akismet unavailable")
    if answer in (akismet_library.CheckResponse.SPAM, akismet_library.CheckResponse.DISCARD):
        return Verdict(Decision.SPAM, "Akismet: spam")
    return None
