"""The benchmarks' shared cache: Django's DatabaseCache with an increment that cannot lose counts.

DatabaseCache inherits ``incr`` from BaseCache: read the value, write value + 1. Processes
incrementing one key at the same moment then lose counts (six processes let 350 hits through a
limit of 100), so rate limits would be measured leakier than the app makes them with Redis or
Memcached, whose increments are atomic. Here the read and the write run in one transaction
holding the row's lock (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's IMMEDIATE
transactions already let one writer in at a time).
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router, transaction


class LockingDatabaseCache(DatabaseCache):
    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> Any:
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        with transaction.atomic(using=db):
            if connection.features.has_select_for_update:
                table = connection.ops.quote_name(self._table)
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT cache_key FROM {table} WHERE cache_key = %s FOR UPDATE",  # noqa: S608
                        [self.make_and_validate_key(key, version=version)],
                    )
            return super().incr(key, delta, version)
