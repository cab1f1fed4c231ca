from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from tests.testapp import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("backlinks/", include("backlinks_django.urls")),
    path("articles/", views.ArticleList.as_view(), name="article-list"),
    path("articles/<slug:slug>/", views.ArticleDetail.as_view(), name="article"),
    path(
        "articles/<slug:slug>/responses/",
        views.ArticleDetail.as_view(template_name="testapp/article_responses.html"),
        name="article-responses",
    ),
    path("notes/", views.notes, name="notes"),
    path("other/<int:pk>/", views.unregistered, name="unregistered"),
    # Stored author photos, for the browser test (MEDIA_ROOT read at each request).
    re_path(
        r"^media/(?P<path>.*)$",
        lambda request, path: serve(request, path, document_root=settings.MEDIA_ROOT),
    ),
]
