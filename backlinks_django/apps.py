"""The app's AppConfig: connects the signal receivers and registers the system checks."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BacklinksConfig(AppConfig):
    name = "backlinks_django"
    verbose_name = _("Backlinks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save, pre_delete

        from backlinks_django import checks  # noqa: F401 -- registers the system checks
        from backlinks_django.receivers import (
            delete_backlinks_with_object,
            notify_on_delete,
            queue_pings_on_save,
        )
        from backlinks_django.signals import backlink_approved, backlink_received
        from backlinks_django.tasks import author_notice_on_approved, author_notice_on_received

        post_save.connect(queue_pings_on_save, dispatch_uid="backlinks_django.queue_pings")
        # pre_delete: the object still has its primary key and URL.
        pre_delete.connect(notify_on_delete, dispatch_uid="backlinks_django.notify_on_delete")
        post_delete.connect(
            delete_backlinks_with_object, dispatch_uid="backlinks_django.delete_backlinks"
        )
        # Authors hear of backlinks to their objects (registry's author_email), once per batch.
        backlink_received.connect(
            author_notice_on_received, dispatch_uid="backlinks_django.author"
        )
        backlink_approved.connect(
            author_notice_on_approved, dispatch_uid="backlinks_django.author"
        )
        # Answers read targets, switches and blocked domains as this process last read them,
        # for a moment (admission.RECENT_SECONDS); what this process saves it sees at once,
        # and, for switches and blocked domains, every verification sharing the cache too.
        from backlinks_django.admission import forget_on_save

        post_save.connect(forget_on_save, dispatch_uid="backlinks_django.recent")
        post_delete.connect(forget_on_save, dispatch_uid="backlinks_django.recent")
        # Read now, once per process, rather than by the first ping with a domain name, which
        # every worker of a site would then take a moment to answer at once.
        from backlinks_django.keys import suffix_list

        suffix_list()
        # Author photos are copied to this site's storage on approval, and go with the backlink.
        from backlinks_django.avatars import delete_on_delete
        from backlinks_django.models import Backlink
        from backlinks_django.tasks import avatars_on_approved, avatars_on_received

        backlink_received.connect(avatars_on_received, dispatch_uid="backlinks_django.avatars")
        backlink_approved.connect(avatars_on_approved, dispatch_uid="backlinks_django.avatars")
        post_delete.connect(
            delete_on_delete, sender=Backlink, dispatch_uid="backlinks_django.avatar_files"
        )
