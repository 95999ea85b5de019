"""The websocket fast paths, registered in one place and keyed by (operation type, root field).

A fast path serves a graphql-transport-ws operation without Strawberry's per-operation
pipeline, restating what that pipeline does for it (internals/fastpaths/execution.py). The
protocol handler (internals/protocols.py) asks ``fast_path_serve`` once per operation; a
fast path serves it only when all of these hold, and Strawberry's standard path runs it
otherwise:

- ``settings.CHAT["FAST_PATHS"]`` is on (``CHAT_FAST_PATHS``, default on);
- the hooks it names are active (internals/hooks.py);
- the schema's extensions are exactly ``REPLICATED_EXTENSIONS``, the ones the fast paths
  replicate: any other extension must see every operation, which only the standard path
  gives it;
- its plan accepts the operation (a plan function returns None for anything it cannot
  serve exactly as the standard path would).

Every operation is counted once in ``chat_fast_path_operations_total{field, path,
transport}``. A new
fast path is one ``FastPath`` in ``FAST_PATHS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from graphql import DocumentNode, FieldNode, OperationType

from chat.metrics import FAST_PATH_OPERATIONS
from internals.fastpaths.execution import document_prepare, operation_get
from internals.fastpaths.inbox import plan_inbox
from internals.fastpaths.post import plan_post
from internals.fastpaths.subscription import (
    plan_message_added,
    plan_room_events,
    plan_room_signals,
)
from internals.hooks import hook_active
from internals.strawberry import GRAPHQL_SCHEMA, TRANSPORT_WS
from schema.caches import ValidationCache
from schema.cost import cost_limiter
from schema.errors import ErrorCodes
from schema.introspection import introspection_switch
from schema.limits import depth_limiter, max_tokens_limiter
from schema.operations import OperationSelection

if TYPE_CHECKING:
    from strawberry import Schema

__all__ = [
    "ANY",
    "FAST_PATHS",
    "REPLICATED_EXTENSIONS",
    "FastPath",
    "Served",
    "fast_path_serve",
    "plan_prepared",
]

# The field of a fast path serving every other operation of its type.
ANY = "*"

# schema/build.py's extensions, each replicated by document_prepare (the same
# validation rules and limits, each document validated once), errors_format (ErrorCodes'
# codes and masking), operation_get (OperationSelection: several operations and no
# operationName select none, and the standard path reports it) or nothing being needed
# (ValidationCache only caches validation).
REPLICATED_EXTENSIONS: frozenset[object] = frozenset(
    {
        depth_limiter,
        cost_limiter,
        max_tokens_limiter,
        introspection_switch,
        ValidationCache,
        OperationSelection,
        ErrorCodes,
    }
)

Planner = Callable[["Schema", str, "str | None", "dict[str, Any] | None"], object | None]


def plan_prepared(
    schema: Schema, query: str, operation_name: str | None, variables: dict[str, Any] | None
) -> DocumentNode | None:
    """The document, parsed and validated once (fastpaths/execution.py), to execute."""
    return document_prepare(schema, query)


@dataclass(frozen=True)
class FastPath:
    kind: OperationType
    field: str  # the operation's one root field, or ANY
    plan: Planner  # a plan for the operation, or None to decline it
    hooks: tuple[str, ...]  # internals/hooks.py names, all active for it to run
    description: str
    # Whether it serves POST /graphql/ too (internals/fastpaths/http.py). Not the
    # mutations that log a browser session in or out: they need Django's request.
    http: bool = False


# The graphql-core schema (to prepare documents) and the handler internals the fast paths
# run operations with (internals/protocols.py).
_HOOKS = (GRAPHQL_SCHEMA, TRANSPORT_WS)

FAST_PATHS: tuple[FastPath, ...] = (
    FastPath(
        OperationType.SUBSCRIPTION,
        "messageAdded",
        plan_message_added,
        _HOOKS,
        "each event executed (or rendered) and encoded once for every subscriber of the "
        "same operation (fastpaths/subscription.py)",
    ),
    FastPath(
        OperationType.SUBSCRIPTION,
        "roomEvents",
        plan_room_events,
        _HOOKS,
        "as messageAdded's: each event executed (or rendered) and encoded once for every "
        "subscriber of the same operation (and viewer, if reactedByMe is selected)",
    ),
    FastPath(
        OperationType.SUBSCRIPTION,
        "roomSignals",
        plan_room_signals,
        _HOOKS,
        "as messageAdded's: each signal (a coalesced TypingChanged, a PresenceChanged) "
        "rendered and encoded once for every subscriber of the same operation",
    ),
    FastPath(
        OperationType.SUBSCRIPTION,
        "inbox",
        plan_inbox,
        _HOOKS,
        "each event rendered without the executor, per subscriber (its unread counts are "
        "its own) (fastpaths/inbox.py)",
    ),
    FastPath(
        OperationType.MUTATION,
        "sendMessage",
        plan_post,
        _HOOKS,
        "the post made without the executor, its result rendered by a compiled selection "
        "(fastpaths/post.py)",
        http=True,
    ),
    FastPath(
        OperationType.QUERY,
        ANY,
        plan_prepared,
        _HOOKS,
        "documents parsed and validated once, executed straight on graphql-core "
        "(fastpaths/execution.py)",
        http=True,
    ),
    # Clients send these many times per post (typing before it, a read marker for each one
    # received): over HTTP they would otherwise each cost a whole Django request. Their
    # resolvers use only the context's user.
    *(
        FastPath(
            OperationType.MUTATION,
            field,
            plan_prepared,
            _HOOKS,
            "as any mutation's, and served on POST /graphql/ too",
            http=True,
        )
        for field in ("markRead", "setTyping")
    ),
    FastPath(
        OperationType.MUTATION,
        ANY,
        plan_prepared,
        _HOOKS,
        "documents parsed and validated once, executed straight on graphql-core "
        "(fastpaths/execution.py)",
    ),
)
_BY_KEY: dict[tuple[OperationType, str], FastPath] = {(p.kind, p.field): p for p in FAST_PATHS}

# Bound children: no label lookup per operation.
_COUNTERS = {
    (field, served, http): FAST_PATH_OPERATIONS.labels(
        field=field, path="fast" if served else "standard", transport="http" if http else "ws"
    )
    for field in {ANY, *(p.field for p in FAST_PATHS)}
    for served in (True, False)
    for http in (True, False)
}


@dataclass(slots=True)
class Served:
    path: FastPath
    plan: Any  # what path.plan returned


def _replicated(schema: Schema) -> bool:
    """Whether the fast paths run every extension the schema has (Strawberry adds one for
    custom directives)."""
    return not schema.directives and frozenset(schema.extensions) == REPLICATED_EXTENSIONS


def _path_of(
    schema: Schema, query: object, operation_name: str | None, variables: object
) -> FastPath | None:
    """The fast path registered for the operation's type and root field (several root
    fields: the type's ANY); None if there is none, or the document does not parse or
    validate (Strawberry reports it)."""
    if not isinstance(query, str) or not isinstance(variables, dict | None):
        return None
    if not hook_active(GRAPHQL_SCHEMA):
        return None
    document = document_prepare(schema, query)
    operation = operation_get(document, operation_name) if document is not None else None
    if operation is None:
        return None
    selections = operation.selection_set.selections
    field = ANY
    if len(selections) == 1 and isinstance(selections[0], FieldNode):
        field = selections[0].name.value
    return _BY_KEY.get((operation.operation, field)) or _BY_KEY.get((operation.operation, ANY))


def fast_path_serve(
    schema: Schema,
    query: object,
    operation_name: str | None,
    variables: object,
    *,
    http: bool = False,
) -> Served | None:
    """How the operation is served: by a fast path (its plan), or None for the standard
    path. Counted either way. ``http``: only by a fast path that serves HTTP too."""
    if not settings.CHAT["FAST_PATHS"] or not _replicated(schema):
        # Off: none of the fast paths' code runs, not even their parse and validation
        # (so the operation is counted without its field).
        _COUNTERS[ANY, False, http].inc()
        return None
    path = _path_of(schema, query, operation_name, variables)
    plan = None
    if path is not None and (path.http or not http) and all(hook_active(n) for n in path.hooks):
        plan = path.plan(schema, query, operation_name, variables)  # type: ignore[arg-type]
    _COUNTERS[ANY if path is None else path.field, plan is not None, http].inc()
    return None if plan is None or path is None else Served(path, plan)
