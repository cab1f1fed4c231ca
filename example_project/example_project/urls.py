"""URLs of the example project: the blog, the backlink endpoints and the admin."""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.sites.models import Site
from django.urls import include, path
from django.utils.functional import lazy


def _site_header() -> str:
    return f"{Site.objects.get_current().name} administration"


# Both demo sites look alike: name the current one at the top of its admin pages.
admin.site.site_header = lazy(_site_header, str)()

urlpatterns = [
    path("admin/", admin.site.urls),
    path("backlinks/", include("backlinks_django.urls")),
    path("", include("blog.urls")),
    # Stored author photos (a production site serves MEDIA_ROOT from its web server).
    *static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT),
]
