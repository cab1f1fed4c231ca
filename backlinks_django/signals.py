"""Signals the app sends; connect receivers to notify people or purge caches.

- ``backlink_received(sender=Backlink, backlink)``: a backlink was stored, in
  whatever status the checks and the moderation policy gave it.
- ``backlink_status_changed(sender=Backlink, backlinks, status)``: a moderation
  step moved ``backlinks`` (a queryset of the rows that changed) to ``status``.
- ``backlink_approved(sender=Backlink, backlinks)``: the same, for approvals only.
"""

from django.dispatch import Signal

backlink_received = Signal()
backlink_status_changed = Signal()
backlink_approved = Signal()
