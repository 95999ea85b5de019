"""The shape of the operation messages clients send over the websocket, checked before
Strawberry reads them (it assumes it and fails later, as INTERNAL_SERVER_ERROR)."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["request_payload_problem", "subscribe_message_problem"]


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def request_payload_problem(payload: object) -> str | None:
    """What is wrong with an operation's payload (query, variables, operationName,
    extensions), or None: graphql-transport-ws's SubscribeMessage payload and
    subscriptions-transport-ws's GQL_START payload have the same shape."""
    if not isinstance(payload, Mapping):
        return f"The payload must be an object, not {_kind(payload)}."
    query = payload.get("query")
    extensions = payload.get("extensions")
    persisted = isinstance(extensions, Mapping) and "persistedQuery" in extensions
    # An automatic persisted query may name its document by hash alone (no query): the
    # persisted-query lookup answers for it.
    if not isinstance(query, str) and not (persisted and query is None):
        return f"payload.query must be a string, not {_kind(query)}."
    for key in ("variables", "extensions"):
        value = payload.get(key)
        if value is not None and not isinstance(value, Mapping):
            return f"payload.{key} must be an object or null, not {_kind(value)}."
    name = payload.get("operationName")
    if name is not None and not isinstance(name, str):
        return f"payload.operationName must be a string or null, not {_kind(name)}."
    return None


def subscribe_message_problem(message: Mapping[str, object]) -> str | None:
    """What makes a graphql-transport-ws ``subscribe`` message malformed, or None (the
    close reason of its 4400, at most 123 bytes)."""
    operation_id = message.get("id")
    if not isinstance(operation_id, str):
        return f"Invalid subscribe message: id must be a string, not {_kind(operation_id)}."
    if not operation_id:
        return "Invalid subscribe message: id must not be empty."
    problem = request_payload_problem(message.get("payload"))
    return None if problem is None else f"Invalid subscribe message: {problem}"
