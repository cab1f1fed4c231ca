from django.contrib import admin

from backlinks_django.admin import LinksInline, TrackbackInline

from .models import Entry


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "published_at", "pings_open"]
    list_filter = ["pings_open"]
    search_fields = ["title", "body"]
    date_hierarchy = "published_at"
    prepopulated_fields = {"slug": ["title"]}
    # "Links to ping": the body's links, what each target advertises, and a box to untick
    # a link never to be pinged. "Send trackbacks to": TrackBack URLs an editor enters are
    # pinged with the links found in the body when the entry is saved.
    inlines = [LinksInline, TrackbackInline]
