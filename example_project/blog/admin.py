from django.contrib import admin

from backlinks_django.admin import TrackbackInline

from .models import Entry


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "published_at", "pings_open"]
    list_filter = ["pings_open"]
    search_fields = ["title", "body"]
    date_hierarchy = "published_at"
    prepopulated_fields = {"slug": ["title"]}
    # "Send trackbacks to": TrackBack URLs an editor enters are pinged with the links
    # found in the body when the entry is saved.
    inlines = [TrackbackInline]
