from django.db.models import QuerySet
from django.utils import timezone
from django.views.generic import DetailView, ListView

from .models import Entry


class EntryListView(ListView):
    """Published entries, newest first."""

    # No ``model`` attribute: backlinks_django takes views whose ``model`` is a
    # registered one for pages of single objects, and this page lists several.
    context_object_name = "entries"

    def get_queryset(self) -> QuerySet[Entry]:
        return Entry.objects.filter(published_at__lte=timezone.now())


class EntryDetailView(DetailView):
    """One entry. backlinks_django maps a pinged URL back to the entry through this
    view's ``model`` and its ``slug`` URL argument.

    Drafts (no date, or a date to come) are 404 to the public, as they are to pings;
    staff may preview them.
    """

    model = Entry
    context_object_name = "entry"

    def get_queryset(self) -> QuerySet[Entry]:
        if self.request.user.is_staff:
            return Entry.objects.all()
        return Entry.objects.filter(published_at__lte=timezone.now())
