"""Developer aids that production turns off: introspection and "Did you mean" suggestions
(settings CHAT["INTROSPECTION"] and CHAT["SUGGESTIONS"], read on every use)."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from graphql import FieldNode
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules

__all__ = ["IntrospectionSwitch", "introspection_switch", "suggestions_strip"]


class IntrospectionSwitch(NoSchemaIntrospectionCustomRule):
    """graphql-core's rule refusing ``__schema``, ``__type`` and fields of their types
    (``__typename`` stays), active while CHAT["INTROSPECTION"] is off. Every path that
    validates a document lists it: the schema's extensions and the websocket fast paths
    (internals/fastpaths/execution.py)."""

    def enter_field(self, node: FieldNode, *args: Any) -> None:
        if not settings.CHAT["INTROSPECTION"]:
            super().enter_field(node, *args)


def introspection_switch() -> AddValidationRules:
    """The schema extension validating with ``IntrospectionSwitch``: a named factory, so
    the websocket fast paths can tell it among the schema's extensions."""
    return AddValidationRules([IntrospectionSwitch])


# graphql-core appends its suggestions last: " Did you mean 'me'?", " Did you mean the
# enum value 'X'?", " Did you mean 'a', 'b', or 'c'?".
_SUGGESTION = re.compile(r" Did you mean .*\?\Z", re.DOTALL)


def suggestions_strip(message: str) -> str:
    """The message without its "Did you mean" suggestion while CHAT["SUGGESTIONS"] is off:
    with introspection off, suggestions would still spell the schema out to a client
    guessing names."""
    if settings.CHAT["SUGGESTIONS"]:
        return message
    return _SUGGESTION.sub("", message)
