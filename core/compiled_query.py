"""Hot queries compiled to SQL once per process, then run with each request's values.

Building a QuerySet and compiling it costs ~0.5 ms of CPU here for a one-row lookup, five times what
PostgreSQL spends answering it; the seat map page makes three such lookups for every fan. A
``CompiledQuery`` keeps the ORM as the one definition of the query: ``build`` receives a stand-in
value for each named parameter, Django compiles the QuerySet once, and each ``fetch`` runs that SQL
through Django's own cursor (the same execute wrappers, transaction and connection) with the real
values, turning rows into what the QuerySet itself would have returned.

It relies on Django's compiler internals (``select``, ``klass_info``, the converters and the
related-object populators, as ``ModelIterable`` uses them). ``core/tests/test_compiled_query.py``
compares each kind of result, and every ``CompiledQuery`` the site defines, with the QuerySet's own
answer, so a Django upgrade that changes them fails a test rather than a page.

Parameters are values the query compares columns with as they are (keys, ``pk``, datetimes): a value
Django derives from one (``now + timedelta(...)``, ``user_id + 1``) would be compiled as a constant,
so compiling refuses any constant that looks derived from a stand-in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, cast

from django.db import connections
from django.db.models import QuerySet
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    ValuesListIterable,
    get_related_populators,
)

T = TypeVar("T")

# Stand-ins no real query value equals. Django passes keys and aware datetimes through to the
# compiled parameters unchanged (an integer column's value may come back wrapped in psycopg's Int4/Int8,
# still equal), where they are found again.
_INT_STAND_IN_BASE = -7_346_029_118_000
_INT_STAND_IN_REACH = 1_000_000  # constants this close to a stand-in were computed from one
_DATETIME_STAND_IN_BASE = datetime(1901, 2, 3, 4, 5, 6, tzinfo=UTC)
_DATETIME_STAND_IN_LIMIT = datetime(1902, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class _Slot:
    name: str
    wrap: type | None  # psycopg's Int4/Int8 when Django gave the stand-in one, for the value too


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: list[Any]  # constants, and a _Slot where a named value goes
    using: str
    klass_info: dict | None
    iterable: type
    converters: list  # (position, converter functions, expression), as the compiler's get_converters
    init_list: list[str]
    model_slice: slice
    related_populators: list
    annotation_col_map: dict[str, int]


class CompiledQuery(Generic[T]):
    """``build(**stand_ins) -> QuerySet``; ``parameters``: each name's type (``int`` or ``datetime``).

    ``fetch(**values)`` returns the list the QuerySet would give: model instances (``select_related``
    included) or ``values_list`` rows (flat or not).
    """

    def __init__(self, build: Callable[..., QuerySet], **parameters: type) -> None:
        self._build = build
        self._parameters = parameters
        self._compiled: _Compiled | None = None
        self._lock = threading.Lock()

    def fetch(self, **values: Any) -> list[T]:
        compiled = self._compiled or self._compile()
        self._check(values)
        params = [_bound(item, values) if isinstance(item, _Slot) else item for item in compiled.params]
        connection = connections[compiled.using]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if compiled.converters:
            rows = [_converted(row, compiled.converters, connection) for row in rows]
        if compiled.iterable is FlatValuesListIterable:
            return cast(list[T], [row[0] for row in rows])
        if compiled.iterable is ValuesListIterable:
            return cast(list[T], [tuple(row) for row in rows])
        return [self._instance(compiled, row) for row in rows]

    def first(self, **values: Any) -> T | None:
        """The first result, for a query that slices itself to one row (``[:1]``)."""
        results = self.fetch(**values)
        return results[0] if results else None

    def _check(self, values: dict[str, Any]) -> None:
        """The values the ORM would have accepted and prepared the same way (it no longer sees them)."""
        if values.keys() != self._parameters.keys():
            raise TypeError(f"expected values for {sorted(self._parameters)}, got {sorted(values)}")
        for name, kind in self._parameters.items():
            value = values[name]
            if kind is int and (not isinstance(value, int) or isinstance(value, bool)):
                raise TypeError(f"{name} must be an int, not {type(value).__name__}")
            if kind is datetime and (not isinstance(value, datetime) or value.tzinfo is None):
                raise TypeError(f"{name} must be an aware datetime")

    @staticmethod
    def _instance(compiled: _Compiled, row) -> Any:
        assert compiled.klass_info is not None  # noqa: S101 - set for every ModelIterable query
        model = compiled.klass_info["model"]
        obj = model.from_db(compiled.using, compiled.init_list, row[compiled.model_slice])
        for populator in compiled.related_populators:
            populator.populate(row, obj)
        for name, position in compiled.annotation_col_map.items():
            setattr(obj, name, row[position])
        return obj

    def _compile(self) -> _Compiled:
        with self._lock:
            if self._compiled is None:
                self._compiled = self._compile_now()
            return self._compiled

    def _compile_now(self) -> _Compiled:
        stand_ins = {
            name: _stand_in(kind, index) for index, (name, kind) in enumerate(self._parameters.items())
        }
        queryset = self._build(**stand_ins)
        iterable = queryset._iterable_class
        if iterable not in (ModelIterable, ValuesListIterable, FlatValuesListIterable):
            raise TypeError(f"CompiledQuery does not turn rows into {iterable.__name__} results")
        if queryset._known_related_objects or queryset._prefetch_related_lookups:  # type: ignore[attr-defined]
            raise TypeError("CompiledQuery does not prefetch or attach known related objects")
        if queryset.query.select_for_update:
            raise TypeError("CompiledQuery does not lock rows (the ORM checks the transaction per call)")
        using = queryset.db
        compiler = queryset.query.get_compiler(using=using)
        sql, raw_params = compiler.as_sql()
        if compiler.has_extra_select:
            raise TypeError("CompiledQuery does not trim extra select columns")
        params: list[Any] = []
        found: set[str] = set()
        for value in raw_params:
            name = next((n for n, stand_in in stand_ins.items() if _same(value, stand_in)), None)
            if name is None:
                if _derived_from_a_stand_in(value):
                    raise TypeError(f"the query computes a value from a parameter ({value!r}): pass it in")
                params.append(value)
            else:
                wrap = type(value) if isinstance(value, int) and type(value) is not int else None
                params.append(_Slot(name, wrap))
                found.add(name)
        missing = set(stand_ins) - found
        if missing:
            raise TypeError(f"the query does not use {sorted(missing)} as parameters")
        fields = [column[0] for column in compiler.select[0 : compiler.col_count]]
        model_slice, init_list, related_populators = slice(0, 0), [], []
        if iterable is ModelIterable:
            select_fields = compiler.klass_info["select_fields"]
            model_slice = slice(select_fields[0], select_fields[-1] + 1)
            init_list = [column[0].target.attname for column in compiler.select[model_slice]]
            related_populators = get_related_populators(  # type: ignore[call-arg]  # stubs: Django 6
                compiler.klass_info, compiler.select, using
            )
        return _Compiled(
            sql=sql,
            params=params,
            using=using,
            klass_info=compiler.klass_info,
            iterable=iterable,
            converters=[
                (position, functions, expression)
                for position, (functions, expression) in compiler.get_converters(fields).items()
            ],
            init_list=init_list,
            model_slice=model_slice,
            related_populators=related_populators,
            annotation_col_map=dict(compiler.annotation_col_map or {}),
        )


def _bound(slot: _Slot, values: dict[str, Any]) -> Any:
    value = values[slot.name]
    return slot.wrap(value) if slot.wrap is not None else value


def _converted(row, converters: list, connection) -> list:
    """``SQLCompiler.apply_converters`` for one row, with this thread's connection."""
    values = list(row)
    for position, functions, expression in converters:
        value = values[position]
        for function in functions:
            value = function(value, expression, connection)
        values[position] = value
    return values


def _same(value: Any, stand_in: Any) -> bool:
    if isinstance(stand_in, int):
        return isinstance(value, int) and not isinstance(value, bool) and value == stand_in
    return isinstance(value, datetime) and value == stand_in


def _derived_from_a_stand_in(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value - _INT_STAND_IN_BASE) <= _INT_STAND_IN_REACH
    return isinstance(value, datetime) and value.tzinfo is not None and value < _DATETIME_STAND_IN_LIMIT


def _stand_in(kind: type, index: int) -> Any:
    if kind is int:
        return _INT_STAND_IN_BASE - index
    if kind is datetime:
        return _DATETIME_STAND_IN_BASE.replace(microsecond=index + 1)
    raise TypeError(f"CompiledQuery parameters are int or datetime, not {kind.__name__}")
