"""Settings of the example project: a small blog that sends and receives Webmentions, pingbacks
and trackbacks.

For local demonstration only (``scripts/demo``); not a template for production. One project
serves both demo sites: ``DEMO_DB`` names each site's SQLite file, and ``demo_setup --domain``
sets its ``Site`` (``SITE_ID`` is 1 in every database).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import django

BASE_DIR = Path(__file__).resolve().parent.parent
DEMO_DB = Path(os.environ.get("DEMO_DB") or BASE_DIR / "db.sqlite3").resolve()

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-project-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1").lower() not in {"0", "false", "no", "off", ""}
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    # Above the admin, so that its admin index template (with "Backlinks (3 pending)") wins.
    "backlinks_django",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    # Django 6 has the tasks framework built in; 5.2 needs the django-tasks backport.
    *([] if django.VERSION >= (6, 0) else ["django_tasks"]),
    "django_tasks_db",
    "blog",
]
SITE_ID = 1

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.sites.middleware.CurrentSiteMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "backlinks_django.middleware.PingbackHeaderMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# Each site's web server and task worker share its SQLite file: WAL lets the server read
# while the worker writes, and IMMEDIATE transactions wait for the lock (up to the
# timeout) instead of failing with "database is locked" halfway through.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DEMO_DB,
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Author photos of approved backlinks are copied here (BACKLINKS["AVATARS"]), one folder per
# demo database; served by urls.py while DEBUG is on.
MEDIA_URL = "media/"
MEDIA_ROOT = DEMO_DB.with_name(f"{DEMO_DB.stem}-media")

# Both demo sites run on 127.0.0.1, and browsers share cookies between ports: name the
# cookies after the database so that logging in to one site's admin keeps the other's.
_COOKIE_PREFIX = re.sub(r"[^A-Za-z0-9]+", "_", DEMO_DB.stem)
SESSION_COOKIE_NAME = f"{_COOKIE_PREFIX}_sessionid"
CSRF_COOKIE_NAME = f"{_COOKIE_PREFIX}_csrftoken"
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# The demo pings itself and peers on this machine, so it lets the fetcher reach
# loopback addresses. The default refuses them: a production site must not copy
# this, or anyone could make it fetch services listening on its own host.
# No "ENVIRONMENT" here: with DEBUG on (the default) the project is a development site and
# sends no pings, and says so at start-up (backlinks_django.I001). scripts/demo runs its two
# sites with BACKLINKS_ENVIRONMENT=production, so that they ping each other.
BACKLINKS = {
    "ALLOWED_NETWORKS": ["127.0.0.0/8", "::1/128"],
    # The demo sites listen on ports of the runner's choosing (PORT), not 80/443.
    "ALLOWED_PORTS": None,
    # runserver speaks plain HTTP: the URLs in the pings we send must say so.
    "SCHEME": "http",
    "TASK_BACKEND": "default",
}

# Saving an entry queues its pings in this database; `manage.py db_worker` (started by
# scripts/demo next to each site's server) sends them, and queues retries for later.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"backlinks_django": {"handlers": ["console"], "level": "INFO"}},
}
