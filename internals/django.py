"""Hooks into Django's internals: a prepared-statement cursor and a model restore that
skips ``Model.__init__`` (each installed into a seam of chat/ at start-up), and the
middleware hooks run inline (project/middleware.py). Django's ASGI handler without a
thread per request is internals/asgihandler.py."""

from __future__ import annotations

import inspect
from typing import Any, TypeVar

import psycopg
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.models import Model
from django.db.models.base import ModelState

from internals.hooks import hook, hook_active

__all__ = [
    "INLINE_MIDDLEWARE",
    "MODEL_RESTORE",
    "PREPARED_STATEMENT",
    "model_restore_fast",
    "prepared_cursor",
]

DJANGO_VERSIONS = ">=5.2,<6.1"
PREPARED_STATEMENT = "django.prepared_statement"
MODEL_RESTORE = "django.model_restore"
# Used by project/middleware.py (_Inline.__acall__).
INLINE_MIDDLEWARE = "django.inline_middleware"

M = TypeVar("M", bound=Model)


class _PreparedCursor(psycopg.Cursor[Any]):
    """Server-side binding, prepared on first use (Django turns psycopg's automatic
    preparation off and binds parameters client-side, so PostgreSQL would parse and plan
    the statement on every batch)."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        return super().execute(query, params, prepare=True)


def prepared_cursor(connection: BaseDatabaseWrapper) -> CursorWrapper:
    """A Django cursor (query logging, execute wrappers) over a _PreparedCursor on
    PostgreSQL (psycopg 3); Django's own cursor elsewhere, or when the hook is off."""
    if (
        not hook_active(PREPARED_STATEMENT)
        or connection.vendor != "postgresql"
        or getattr(connection, "Database", None) is not psycopg
    ):
        return connection.cursor()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(_PreparedCursor(connection.connection))  # type: ignore[attr-defined,no-any-return]


def _prepared_cursor_install() -> None:
    from chat import db

    db.statement_cursor_factory = prepared_cursor


@hook(
    PREPARED_STATEMENT,
    library="Django",
    versions=DJANGO_VERSIONS,
    purpose="server-side prepared statement for the insert every post runs",
    fallback="Django's cursor (client-side binding, planned on every batch)",
    install=_prepared_cursor_install,
)
def _check_prepared_cursor() -> None:
    parameters = list(inspect.signature(BaseDatabaseWrapper._prepare_cursor).parameters)  # type: ignore[attr-defined]
    if parameters != ["self", "cursor"]:
        raise TypeError(f"BaseDatabaseWrapper._prepare_cursor{parameters}")
    if "prepare" not in inspect.signature(psycopg.Cursor.execute).parameters:
        raise TypeError("psycopg.Cursor.execute has no prepare argument")


def model_restore_fast(model: type[M], db: str, values: dict[str, Any]) -> M:
    """What ``model.from_db(db, ...)`` makes of ``values``, without ``Model.__init__``
    (the hub builds three per event and the insert two per post). Skipped with it: the
    pre_init/post_init signals; these models have no receivers (tests check)."""
    if not hook_active(MODEL_RESTORE):
        from chat.models import model_restore_public

        return model_restore_public(model, db, values)
    return _restore_without_init(model, db, values)


def _restore_without_init(model: type[M], db: str, values: dict[str, Any]) -> M:
    instance = model.__new__(model)
    instance.__dict__.update(values)
    state = instance._state = ModelState()
    state.adding = False
    state.db = db
    return instance


def _model_restore_install() -> None:
    from chat import models

    models.model_restorer = model_restore_fast


@hook(
    MODEL_RESTORE,
    library="Django",
    versions=DJANGO_VERSIONS,
    purpose="model instances from event payloads and inserted rows without Model.__init__",
    fallback="Model.from_db (runs __init__ per instance)",
    install=_model_restore_install,
)
def _check_model_restore() -> None:
    from chat.models import Message, model_restore_public

    # Not in declaration order: the public path must place values by name.
    values = {"seq": 3, "id": 1, "text": "t", "room_id": 2, "created_at": None, "author_id": 4}
    fast = _restore_without_init(Message, "default", values)
    public = model_restore_public(Message, "default", values)
    if {k: v for k, v in fast.__dict__.items() if k != "_state"} != {
        k: v for k, v in public.__dict__.items() if k != "_state"
    }:
        raise TypeError("Model.from_db sets instance attributes model_restore_fast does not")
    if (public._state.adding, public._state.db) != (False, "default"):
        raise TypeError("Model.from_db's ModelState has changed")


@hook(
    INLINE_MIDDLEWARE,
    library="Django",
    versions=DJANGO_VERSIONS,
    purpose="standard middleware hooks run on the event loop, not a thread hop each",
    fallback="Django's MiddlewareMixin.__acall__ (each hook in sync_to_async)",
)
def _check_inline_middleware() -> None:
    from django.utils.deprecation import MiddlewareMixin

    if "return self.__acall__(request)" not in inspect.getsource(MiddlewareMixin.__call__):
        raise TypeError("MiddlewareMixin.__call__ no longer hands async requests to __acall__")
    if not inspect.iscoroutinefunction(getattr(MiddlewareMixin, "__acall__", None)):
        raise AttributeError("MiddlewareMixin has no async __acall__")
