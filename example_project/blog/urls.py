from django.urls import path

from . import views

app_name = "blog"

urlpatterns = [
    path("", views.EntryListView.as_view(), name="index"),
    path("entries/<slug:slug>/", views.EntryDetailView.as_view(), name="entry"),
]
