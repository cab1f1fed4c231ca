"""Signals the app sends: the hook for e-mail, webhooks and cache purges.

- ``backlink_received(sender=Backlink, backlink)``: a backlink was stored, in
  whatever status the checks and the moderation policy gave it.
- ``backlink_status_changed(sender=Backlink, backlinks, status)``: a moderation
  step moved ``backlinks`` (a queryset of the rows that changed) to ``status``.
- ``backlink_approved(sender=Backlink, backlinks)``: the same, for approvals only.

They may be sent before the transaction around the change commits (an admin request, a site
with ``ATOMIC_REQUESTS``): a receiver that calls out (a webhook, a task) does so in
``transaction.on_commit``, as the app's own e-mail to authors does.
"""

from django.dispatch import Signal

backlink_received = Signal()
backlink_status_changed = Signal()
backlink_approved = Signal()
