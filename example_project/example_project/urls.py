"""URLs of the example project: the blog, the backlink endpoints and the admin."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("backlinks/", include("backlinks_django.urls")),
    path("", include("blog.urls")),
]
