from django.db import models
from django.urls import reverse


class Entry(models.Model):
    """A blog entry; registered with backlinks_django in ``BlogConfig.ready()``."""

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    body = models.TextField(help_text="HTML. Links in it are pinged when the entry is saved.")
    published_at = models.DateTimeField(
        null=True, blank=True, help_text="Leave empty to keep the entry a draft."
    )
    pings_open = models.BooleanField(
        default=True, help_text="Accept Webmentions, pingbacks and trackbacks for this entry."
    )

    class Meta:
        ordering = ["-published_at", "-pk"]
        verbose_name_plural = "entries"

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("blog:entry", kwargs={"slug": self.slug})
