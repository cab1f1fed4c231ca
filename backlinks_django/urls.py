"""The receiving endpoints' URLs, and the public feeds and JSON of approved backlinks.

Include with ``path("backlinks/", include("backlinks_django.urls"))``.
"""

from django.urls import path

from backlinks_django import api, feeds, views, xmlrpc

app_name = "backlinks_django"

urlpatterns = [
    path("xmlrpc/", xmlrpc.endpoint, name="xmlrpc"),
    path("webmention/", views.webmention_view, name="webmention"),
    path("webmention/<uuid:pk>/", views.webmention_status_view, name="webmention-status"),
    path(
        "trackback/<int:content_type_id>/<str:object_pk>/",
        views.trackback_view,
        name="trackback",
    ),
    path("feed/", feeds.SiteBacklinksFeed(), name="site-feed"),
    path(
        "feed/<int:content_type_id>/<str:object_pk>/",
        feeds.ObjectBacklinksFeed(),
        name="object-feed",
    ),
    path(
        "json/<int:content_type_id>/<str:object_pk>/",
        api.BacklinksJSONView.as_view(),
        name="object-json",
    ),
]
