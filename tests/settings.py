"""Settings for the test suite."""

from __future__ import annotations

import json
import os
import tempfile

import django

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
SITE_ID = 1
ROOT_URLCONF = "tests.urls"
STATIC_URL = "/static/"
# Stored author photos (backlinks_django.avatars): tests point MEDIA_ROOT at their tmp_path.
MEDIA_URL = "/media/"
MEDIA_ROOT = os.path.join(tempfile.gettempdir(), "backlinks-tests-media")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.sites",
    "django.contrib.staticfiles",
    "backlinks_django",
    "tests.testapp.apps.TestAppConfig",
]
if django.VERSION < (6,):
    INSTALLED_APPS.append("django_tasks")  # the backport of django.tasks

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "backlinks_django.middleware.PingbackHeaderMiddleware",
]

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

if os.environ.get("BACKLINKS_TEST_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("PGDATABASE", "backlinks"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            # JSON, e.g. '{"server_side_binding": true, "prepare_threshold": 5}' (what
            # docs/deployment.md recommends; the deployment suite runs with it).
            "OPTIONS": json.loads(os.environ.get("BACKLINKS_TEST_PG_OPTIONS", "{}")),
        }
    }
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

TASKS_MODULE = "django.tasks" if django.VERSION >= (6,) else "django_tasks"
TASKS = {"default": {"BACKEND": f"{TASKS_MODULE}.backends.immediate.ImmediateBackend"}}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if django.VERSION >= (6, 1):  # the mailers setting replaces EMAIL_BACKEND
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
# Django 6.1 takes plain addresses and deprecates (name, address) pairs.
MANAGERS = (
    ["editor@example.com"] if django.VERSION >= (6, 1) else [("Editor", "editor@example.com")]
)

# Test peers listen on loopback: allow exactly that, explicitly. The default
# (no ALLOWED_NETWORKS) refuses loopback, and tests of that override this.
BACKLINKS = {
    # The suite sends to its local peers: only production sends (tests/test_staging.py tests
    # the other environments).
    "ENVIRONMENT": "production",
    "ALLOWED_NETWORKS": ["127.0.0.0/8", "::1/128"],
    # Test peers listen on random ports; the default allows only 80 and 443.
    "ALLOWED_PORTS": None,
    "FETCH_DEADLINE": 5.0,
    "SCHEME": "http",
}
