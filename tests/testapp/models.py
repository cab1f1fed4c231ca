from django.db import models
from django.urls import reverse


class Article(models.Model):
    """Registered through a DetailView with a slug."""

    title = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    body = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    pings_open = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("article", kwargs={"slug": self.slug})


class Note(models.Model):
    """Registered with a query-string permalink, like WordPress's /?p=<id>."""

    text = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Note {self.pk}"

    def get_absolute_url(self) -> str:
        return f"{reverse('notes')}?p={self.pk}"


class Unregistered(models.Model):
    name = models.CharField(max_length=50)

    def get_absolute_url(self) -> str:
        return reverse("unregistered", kwargs={"pk": self.pk})
