from django.contrib import admin

from backlinks_django.admin import LinksInline, TrackbackInline

from .models import Article


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    inlines = [LinksInline, TrackbackInline]
