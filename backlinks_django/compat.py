"""Django's tasks framework: built in from Django 6.0, the django-tasks backport on 5.2."""

from __future__ import annotations

from importlib.util import find_spec

import django
from django.core.exceptions import ImproperlyConfigured

if find_spec("django.tasks"):
    from django.tasks import task, task_backends
else:  # Django 5.2
    try:
        from django_tasks import (  # type: ignore[no-redef,assignment,import-not-found,unused-ignore]
            task,
            task_backends,
        )
    except ImportError as error:
        # Installed with Python 3.11 the package brings the backport; Django 5.2 on Python
        # 3.12+ needs the extra (a dependency cannot be conditional on Django's version).
        raise ImproperlyConfigured(
            "backlinks_django needs Django's tasks framework: Django 6 has it, Django "
            f"{django.get_version()} needs the django-tasks backport. Install it with "
            'pip install "backlinks_django[django52]" (or pip install django-tasks).'
        ) from error

__all__ = ["task", "task_backends"]
