"""Django's tasks framework: built in from Django 6.0, the django-tasks backport on 5.2."""

from __future__ import annotations

from importlib.util import find_spec

if find_spec("django.tasks"):
    from django.tasks import task, task_backends
else:  # Django 5.2
    from django_tasks import (  # type: ignore[no-redef,assignment,import-not-found,unused-ignore]
        task,
        task_backends,
    )

__all__ = ["task", "task_backends"]
