"""RQ's scheduler alone: moves the app's deferred tasks (retries, recoveries, wakes) from
Redis's scheduled registry into the queue when due; the suite's workers are killed, this is not.

    DJANGO_SETTINGS_MODULE=... python -m tests.e2e.rq_scheduler QUEUE...

(``manage.py rqworker --with-scheduler`` runs the same scheduler inside a worker; see
docs/deployment.md for why the suite keeps it apart.)
"""

from __future__ import annotations

import sys

import django


def main(queue_names: list[str]) -> None:
    django.setup()
    import django_rq
    from rq.scheduler import RQScheduler

    queues = [django_rq.get_queue(name) for name in queue_names]
    scheduler = RQScheduler(queues, connection=django_rq.get_connection(queue_names[0]))
    scheduler.acquire_locks()
    scheduler.work()


if __name__ == "__main__":
    main(sys.argv[1:] or ["default"])
