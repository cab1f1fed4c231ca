"""Autodiscovery headers (``X-Pingback``, Webmention ``Link``) on registered objects' pages."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.sites.models import Site
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from backlinks_django import registry
from backlinks_django.models import SiteSettings


class PingbackHeaderMiddleware:
    """Advertise the endpoints on successful GET/HEAD pages of registered objects.

    ``X-Pingback: <xmlrpc url>`` and ``Link: <webmention url>; rel="webmention"``, each only
    while the site receives that protocol: a sender that finds an endpoint stops looking, so
    advertising a refused one would cost the site the protocols it does accept.

    Whether a page is an object's page comes from the resolved URL; the switches cost one
    primary-key query on those pages only.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if (
            request.method in ("GET", "HEAD")
            and response.status_code == 200
            and match is not None
            and registry.registration_for_match(match) is not None
        ):
            switches = SiteSettings.objects.for_site(Site.objects.get_current(request))
            if switches.receive_pingbacks:
                xmlrpc = reverse("backlinks_django:xmlrpc")
                response["X-Pingback"] = request.build_absolute_uri(xmlrpc)
            if switches.receive_webmentions:
                endpoint = request.build_absolute_uri(reverse("backlinks_django:webmention"))
                response["Link"] = ", ".join(
                    filter(None, [response.get("Link"), f'<{endpoint}>; rel="webmention"'])
                )
        return response
