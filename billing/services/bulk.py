"""One bulk insert for the set-based services (the close, periods_ensure)."""

from __future__ import annotations

import psycopg
from django.db import connection
from django.db.models import JSONField, Model


def bulk_insert(
    model: type[Model], objs: list[Model], *, ignore_conflicts: bool = False, pk_by: str = ""
) -> None:
    """Insert `objs` in as few statements as the database allows; their pks are set after.

    `ignore_conflicts`: rows that meet a unique constraint are skipped. `pk_by` names a unique
    column by which the new pks are given back (PostgreSQL; bulk_create sets them elsewhere).
    """
    if objs:
        _INSERTS.get(connection.vendor, _orm_insert)(
            model, objs, ignore_conflicts=ignore_conflicts, pk_by=pk_by
        )


def _orm_insert(
    model: type[Model], objs: list[Model], *, ignore_conflicts: bool, pk_by: str
) -> None:
    model.objects.bulk_create(objs, ignore_conflicts=ignore_conflicts, batch_size=500)


def _postgres_insert(
    model: type[Model], objs: list[Model], *, ignore_conflicts: bool, pk_by: str
) -> None:
    """One statement of a few array parameters: Django's bulk_create binds every value of
    every row on the client, which is most of the close's time at 100 000 accounts;
    `INSERT … SELECT * FROM unnest(arrays)` binds one array per column on the server."""
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
    # pre_save as bulk_create does (auto_now_add and the like), so both inserts store the same.
    values = [
        [
            field.get_db_prep_save(field.pre_save(obj, True), connection)
            if isinstance(field, JSONField)
            else field.pre_save(obj, True)
            for obj in objs
        ]
        for field in fields
    ]
    sql = f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) "
    sql += f"SELECT * FROM unnest({arrays})"  # noqa: S608 - names from the model, values bound
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    if pk_by:
        key = model._meta.get_field(pk_by).column
        sql += f" RETURNING {connection.ops.quote_name(model._meta.pk.column)}, {key}"
    connection.ensure_connection()
    # A server-binding cursor on Django's connection (same transaction, arrays sent as such),
    # wrapped like Django's own so that query logging, execute wrappers and errors still apply.
    raw = psycopg.Cursor(connection.connection)
    wrap = connection.make_debug_cursor if connection.queries_logged else connection.make_cursor
    with wrap(raw) as cursor:
        cursor.execute(sql, values)
        if pk_by:
            pks = {key: pk for pk, key in cursor.fetchall()}
            for obj in objs:
                obj.pk = pks[getattr(obj, pk_by)]
                obj._state.adding = False


_INSERTS = {"postgresql": _postgres_insert}
