"""The processes tests/test_crash_recovery.py runs and kills, on the settings tests.crash_settings.

    python -m tests.crash_scenario migrate               # the tables, the site, a target entry
    python -m tests.crash_scenario entry URL...          # save an entry linking to URLs
    python -m tests.crash_scenario webmention SOURCE     # receive a Webmention of the target
    python -m tests.crash_scenario worker                # manage.py db_worker --batch

Each prints one line of JSON. The worker runs the real ``db_worker`` with the claim margins and
delays scaled down (defaults: 60 s margins, 5 s claim safety and recovery delay, 30 s verification slice, 10 s
wake step), so that a claim runs out within seconds.
"""

from __future__ import annotations

import json
import os
import sys
from urllib.parse import urlencode

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.crash_settings")

import django

django.setup()

from django.contrib.sites.models import Site  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from backlinks_django import delivery, inbound, send, tasks  # noqa: E402
from tests.testapp.models import Article  # noqa: E402

TARGET_PATH = "/articles/target/"


def migrate() -> dict[str, object]:
    call_command("migrate", verbosity=0)
    Site.objects.filter(pk=1).update(domain="testserver", name="Test site")
    # The target of the Webmention; published, it queues its own (empty) sending task.
    Article.objects.create(title="Target", slug="target", published_at=timezone.now())
    return {"migrated": True}


def entry(urls: list[str]) -> dict[str, object]:
    """Save a published entry linking to ``urls``: its post_save queues its sending task."""
    body = "".join(f'<p>See <a href="{url}">this</a>.</p>' for url in urls)
    article = Article.objects.create(
        title="Mine", slug="mine", body=body, published_at=timezone.now()
    )
    return {"pk": article.pk}


def webmention(source: str) -> dict[str, object]:
    response = Client().post(
        "/backlinks/webmention/",
        urlencode({"source": source, "target": f"http://testserver{TARGET_PATH}"}),
        content_type="application/x-www-form-urlencoded",
    )
    return {"status": response.status_code, "body": response.content.decode()[:500]}


def worker() -> dict[str, object]:
    send.CLAIM_MARGIN = 0.5
    send.CLAIM_SAFETY = 0.2
    delivery.DEADLINE_GRACE = 0.5
    inbound._CLAIM_MARGIN = 0.5
    tasks.RECOVERY_DELAY = 0.5
    tasks._VERIFY_SLICE = 1.0
    tasks._WAKE_STEP = 1
    call_command(
        "db_worker", "--batch", "--no-startup-delay", "--interval", "0", "--worker-id", "crash"
    )
    return {"worker": "done"}


def main(argv: list[str]) -> None:
    command, args = argv[0], argv[1:]
    if command == "migrate":
        result = migrate()
    elif command == "entry":
        result = entry(args)
    elif command == "webmention":
        result = webmention(args[0])
    elif command == "worker":
        result = worker()
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
