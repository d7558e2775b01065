"""Hot-path statements compiled once per database and run on the driver's own cursor.

A submission, a start and a settlement are sixteen small statements. SQLAlchemy's work
around each execution (parameter coercion, execution contexts, result objects, events)
costs several times what SQLite spends running it, and it is all Python on the pool's
event loop. A :class:`Prepared` statement is still written with SQLAlchemy Core, so it
is the same SQL on SQLite and PostgreSQL and follows the schema, but it is compiled once
per dialect and set of columns, and then run on the DBAPI cursor of the caller's
transaction, with the column types' own bind processors (JSON) applied to its values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import Executable

_Form = tuple[str, "tuple[str, ...] | None", dict[str, Callable[[Any], Any]], dict[str, Any]]


class Prepared:
    """A Core statement run on the raw cursor of a SQLAlchemy connection's transaction.

    For an INSERT, the columns are those of the parameters of the first call; every later
    call at the same place passes the same columns (they are compiled again if not).
    """

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._forms: dict[tuple[str, ...], _Form] = {}

    def run(self, connection: Connection, params: dict[str, Any]) -> Any:
        """Execute once; the cursor, for ``rowcount`` or the rows of a RETURNING/SELECT."""
        sql, order, processors, defaults = self._form(connection, params)
        cursor = connection.connection.cursor()
        cursor.execute(sql, _values(params, order, processors, defaults))
        return cursor

    def run_many(self, connection: Connection, rows: list[dict[str, Any]]) -> None:
        """Execute for each row of parameters, in one driver call."""
        sql, order, processors, defaults = self._form(connection, rows[0])
        cursor = connection.connection.cursor()
        values: Any = [_values(row, order, processors, defaults) for row in rows]  # all one style, as ``sql``
        cursor.executemany(sql, values)
        cursor.close()

    def _form(self, connection: Connection, params: dict[str, Any]) -> _Form:
        dialect = connection.dialect
        key = (dialect.name, *params)
        form = self._forms.get(key)
        if form is None:
            statement: Any = self.statement  # every Core statement is also a ClauseElement, with compile()
            compiled = statement.compile(dialect=dialect, column_keys=list(params))
            processors = {name: processor for name, bind in compiled.binds.items()
                          if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None}
            order = tuple(compiled.positiontup) if compiled.positional else None
            form = self._forms[key] = (str(compiled), order, processors, compiled.params)
        return form


def _values(params: dict[str, Any], order: tuple[str, ...] | None, processors: dict[str, Callable[[Any], Any]],
            defaults: dict[str, Any]) -> Sequence[Any] | dict[str, Any]:
    """The statement's parameters in the driver's form: a sequence for positional styles
    (SQLite's ``?``), a mapping for named ones (psycopg's ``%(name)s``)."""
    merged = {**defaults, **params} if defaults else params
    if processors:
        merged = {name: (processors[name](value) if name in processors else value) for name, value in merged.items()}
    return [merged[name] for name in order] if order is not None else merged
