"""Rows read with SQL written once per database, made into model instances as the ORM would.

For the few statements run on every ping, where composing the query with the ORM costs more CPU
than running it (a millisecond against a few hundredths here).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, TypeVar

from django.db import connections, models

__all__ = ["columns", "instance"]

M = TypeVar("M", bound=models.Model)


@lru_cache(maxsize=16)
def columns(model: type[models.Model], alias: str) -> str:
    """The quoted columns of ``model``'s concrete fields, in their order, for a SELECT list or
    a RETURNING clause whose row :func:`instance` reads."""
    quote = connections[alias].ops.quote_name
    return ", ".join(quote(str(field.column)) for field in model._meta.concrete_fields)


def instance(model: type[M], alias: str, row: Sequence[Any]) -> M:
    """``model``'s instance for a row of :func:`columns`, its values converted from the
    database as the ORM converts a query's results."""
    connection = connections[alias]
    values = []
    for value, (column, converters) in zip(row, _converters(model, alias), strict=True):
        for convert in converters:
            value = convert(value, column, connection)
        values.append(value)
    names = [field.attname for field in model._meta.concrete_fields]
    return model.from_db(alias, names, values)


@lru_cache(maxsize=16)
def _converters(model: type[models.Model], alias: str) -> list[tuple[Any, list[Any]]]:
    connection = connections[alias]
    found = []
    for field in model._meta.concrete_fields:
        column = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(
            connection
        )
        found.append((column, converters))
    return found
