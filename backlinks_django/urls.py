"""The receiving endpoints' URLs.

Include with ``path("backlinks/", include("backlinks_django.urls"))``.
"""

from django.urls import path

from backlinks_django import views, xmlrpc

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
]
