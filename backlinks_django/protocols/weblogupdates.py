"""weblogUpdates on the wire: telling an update service (Ping-O-Matic and the like) of new content.

``weblogUpdates.ping(name, url)`` names the site and its home page;
``weblogUpdates.extendedPing(name, url, changed_url, feed_url)`` also names the changed page
and the site's feed. Services answer a struct: ``flerror`` (true when they refused) and
``message``. XML-RPC goes through :func:`pingback.call` (defusedxml parsing, fault codes).
"""

from __future__ import annotations

from typing import Any

from backlinks_django.exceptions import PeerFault, PeerRejected, PeerUnreachable
from backlinks_django.protocols import pingback

__all__ = ["notify", "read_answer"]


def notify(
    service_url: str,
    *,
    name: str,
    site_url: str,
    changed_url: str,
    feed_url: str,
    user_agent: str,
) -> str:
    """Tell ``service_url`` that the site changed; the service's message.

    With a ``feed_url``, ``extendedPing`` first; a service that answers it with a fault (most
    likely: no such method) is told again with ``ping``, as WordPress does. Raises
    :class:`PeerRejected` when the service answers ``flerror`` true.
    """
    if feed_url:
        try:
            return read_answer(
                pingback.call(
                    service_url,
                    "weblogUpdates.extendedPing",
                    (name, site_url, changed_url, feed_url),
                    user_agent=user_agent,
                )
            )
        except PeerFault:
            pass
    return read_answer(
        pingback.call(service_url, "weblogUpdates.ping", (name, site_url), user_agent=user_agent)
    )


def read_answer(answer: Any) -> str:
    """The message of a service's ``{flerror, message}`` answer; raises if it refused."""
    if not isinstance(answer, dict) or "flerror" not in answer:
        raise PeerUnreachable("unreadable weblogUpdates answer (no flerror member)")
    refused = answer["flerror"]
    # XML-RPC has a boolean type; some services send 0 and 1 as <int>.
    if not isinstance(refused, bool | int):
        raise PeerUnreachable("unreadable weblogUpdates answer (flerror is not a boolean)")
    message = pingback.message_text(answer.get("message", ""))
    if refused:
        raise PeerRejected(message or "The update service refused the ping.")
    return message
