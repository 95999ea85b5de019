"""A fresh subfield memo for each subscription event's executor (graphql-core).

LIBRARY INTERNALS: patches ``graphql.execution.executor.Executor.build_per_event_executor``
(hook ``graphql.per_event_memo``; checked at start-up by internals/hooks.py).

Why: graphql-core 3.3 executes each subscription event with a shallow copy of the
subscription's executor, so every event shares its ``_relevant_sub_fields`` memo, which
is keyed by the identity of field groups that are new for every event and keeps them
alive: a subscription executed by the standard path (legacy graphql-ws, or with the fast
paths off) grew by about 15 KB an event for as long as it lived. Each event's executor
gets a memo of its own instead, which lives as long as that event's execution.
"""

from __future__ import annotations

from typing import Any

from internals.hooks import hook, hook_active

__all__ = ["HOOK"]

HOOK = "graphql.per_event_memo"


def _executor_class() -> Any:
    from graphql.execution.executor import Executor

    return Executor


def _install() -> None:
    executor_class = _executor_class()
    if getattr(executor_class, "_chat_per_event_memo", False):
        return
    build = executor_class.build_per_event_executor

    def build_per_event_executor(self: Any, payload: Any) -> Any:
        executor = build(self, payload)
        if hook_active(HOOK):
            executor._relevant_sub_fields = {}
        return executor

    executor_class.build_per_event_executor = build_per_event_executor
    executor_class._chat_per_event_memo = True


@hook(
    HOOK,
    library="graphql-core",
    versions=">=3.3,<3.4",
    purpose="each subscription event executed with a subfield memo of its own (no growth "
    "per event on the standard path)",
    fallback="every event's field groups kept by the subscription's memo: ~15 KB an event "
    "for the life of each subscription the standard path executes",
    install=_install,
)
def _check() -> None:
    from graphql import build_schema, parse

    executor_class = _executor_class()
    schema = build_schema("type Query { a: Int } type Subscription { a: Int }")
    executor = executor_class.build(schema, parse("subscription { a }"))
    if not isinstance(getattr(executor, "_relevant_sub_fields", None), dict):
        raise AttributeError("graphql-core's Executor has no _relevant_sub_fields dict")
    if not callable(getattr(executor, "build_per_event_executor", None)):
        raise AttributeError("graphql-core's Executor has no build_per_event_executor")
