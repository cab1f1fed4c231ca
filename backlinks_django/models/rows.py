"""Rows read with SQL written once per database, made into model instances as the ORM would.

For the few statements run on every ping, where composing the query with the ORM costs more CPU
than running it (a millisecond against a few hundredths here).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, TypeVar

from django.db import connections, models

__all__ = ["columns", "instance", "update"]

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


def update(obj: models.Model, names: Sequence[str]) -> int:
    """Write the fields ``names`` of ``obj`` to its row, as ``save(update_fields=names)``
    writes them (each field's ``pre_save``, so an ``auto_now`` field is set), but with no
    signal sent; how many rows were updated (0 when the row is gone)."""
    model = type(obj)
    alias = obj._state.db or "default"
    connection = connections[alias]
    fields = [_field(model, name) for name in names]
    values = [field.get_db_prep_save(field.pre_save(obj, False), connection) for field in fields]
    with connection.cursor() as cursor:
        key = model._meta.pk.get_db_prep_value(obj.pk, connection)
        cursor.execute(_update_sql(model, alias, tuple(names)), [*values, key])
        return int(cursor.rowcount)


@lru_cache(maxsize=16)
def _update_sql(model: type[models.Model], alias: str, names: tuple[str, ...]) -> str:
    quote = connections[alias].ops.quote_name
    assignments = ", ".join(f"{quote(str(_field(model, name).column))} = %s" for name in names)
    # Quoted names of the model's own table and columns only; every value is a parameter.
    return (
        f"UPDATE {quote(model._meta.db_table)} SET {assignments} "  # noqa: S608
        f"WHERE {quote(str(model._meta.pk.column))} = %s"
    )


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{model.__name__}.{name} is not a field of its own row")
    return field


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
