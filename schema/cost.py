"""Query cost: the work an operation can cause, bounded before it runs.

``CHAT_MAX_QUERY_TOKENS`` and the depth limit bound the size of a document, not the work
it causes: an alias or a fragment spread costs a few tokens and repeats a whole
selection, and a list repeats its selection once per item. So every operation of a
validated document is costed, fragments expanded and aliases counted, and one over
``CHAT_MAX_QUERY_COST`` is refused with ``QUERY_TOO_COMPLEX`` before anything executes.

The unit is one field resolved. A list multiplies what is selected in it by its
length: a connection's ``edges`` by the page asked for (``first``/``last``; a variable
or no argument counts as the largest page, ``CHAT_MAX_PAGE_SIZE``), other lists by
``CHAT_MAX_PAGE_SIZE`` (a room's ``members``), and introspection lists by their length
in this schema. A field that reads the database weighs ``DATABASE_WEIGHT``. The costs
are upper bounds from the document alone (variables, ``@skip`` and ``@include`` are not
looked at), so one number serves every execution of a cached document.

A subscription is costed by its selection, which runs once per event.

One validation rule, ``QueryCost``, serves every path: Strawberry's pipeline
(``cost_limiter``) and the websocket fast paths, which validate in
``internals.fastpaths.execution.document_prepare``.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache
from typing import Any

from django.conf import settings
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SchemaMetaFieldDef,
    SelectionSetNode,
    TypeMetaFieldDef,
    TypeNameMetaFieldDef,
    ValidationRule,
    get_named_type,
    get_nullable_type,
    is_abstract_type,
    is_enum_type,
    is_input_object_type,
    is_interface_type,
    is_object_type,
)
from graphql.language import VisitorAction
from graphql.language.visitor import SKIP
from strawberry.extensions import AddValidationRules

from chat.mentions import MAX_MENTIONS
from chat.messaging import MAX_DISTINCT_REACTIONS
from chat.roomevents import MAX_REACTION_USERS
from chat.signalling import MAX_ONLINE_LISTED, TYPING_SHOWN

__all__ = [
    "DATABASE_WEIGHT",
    "ROOT_DATABASE_WEIGHT",
    "QueryCost",
    "cost_limiter",
    "operation_cost",
]

# A database round trip costs about what resolving a hundred fields does. Root fields
# make theirs per alias (``messages`` makes three or four); relation fields are batched
# (schema/loaders.py: a page's members are one query), and weigh less.
ROOT_DATABASE_WEIGHT = 100
DATABASE_WEIGHT = 10

# Fields whose resolver reads the database, besides every mutation.
_ROOT_DATABASE_FIELDS = frozenset({"rooms", "myRooms", "room", "messages", "roomEvents"})
_DATABASE_FIELDS: dict[str, frozenset[str]] = {
    "Room": frozenset(
        # onlineCount and online: a Redis round trip per room (realtime.ephemeral).
        {
            "members",
            "createdBy",
            "lastReadSeq",
            "unreadCount",
            "lastMessage",
            "onlineCount",
            "online",
        }
    ),
    # Read with the message in events, batched otherwise.
    "Message": frozenset({"replyTo", "reactions", "mentions"}),
}
# Lists shorter than a page by construction: a message's distinct reactions, mentions.
_LIST_LENGTHS: dict[tuple[str, str], int] = {
    ("Message", "reactions"): MAX_DISTINCT_REACTIONS,
    ("Message", "mentions"): MAX_MENTIONS,
    ("TypingChanged", "users"): TYPING_SHOWN,
}
# Lists with a page argument of their own: (its default, its largest).
_OWN_PAGES: dict[tuple[str, str], tuple[int, int]] = {
    ("Reaction", "users"): (10, MAX_REACTION_USERS),
    ("Room", "online"): (50, MAX_ONLINE_LISTED),
}

_PAGE_ARGUMENTS = ("first", "last")

# Introspection lists count their average length, a fraction: exact arithmetic, as a
# float could overflow on a document of fragments that each spread the next many times.
Cost = int | Fraction


def _field_weight(parent: str, name: str) -> int:
    if parent == "Query" and name in _ROOT_DATABASE_FIELDS:
        return ROOT_DATABASE_WEIGHT
    if parent == "Mutation" or name in _DATABASE_FIELDS.get(parent, ()):
        return DATABASE_WEIGHT
    return 1


@lru_cache(maxsize=4)
def _introspection_lengths(schema: GraphQLSchema) -> dict[tuple[str, str], Cost]:
    """The average length of each introspection list in ``schema``: ``types { fields }``
    then counts each field of the schema once. (``__type(name:)`` picks one type, whose
    lists may be longer: a bounded underestimate, of work that reads no database.)"""
    types = list(schema.type_map.values())
    fields = [
        field
        for kind in types
        if is_object_type(kind) or is_interface_type(kind)
        for field in kind.fields.values()  # type: ignore[attr-defined]
    ]
    directives = schema.directives

    def per_type(count: int) -> Fraction:
        return Fraction(count, len(types))

    return {
        ("__Schema", "types"): len(types),
        ("__Schema", "directives"): len(directives),
        ("__Type", "fields"): per_type(len(fields)),
        ("__Type", "interfaces"): per_type(
            sum(len(getattr(kind, "interfaces", ())) for kind in types)
        ),
        ("__Type", "possibleTypes"): per_type(
            sum(len(schema.get_possible_types(kind)) for kind in types if is_abstract_type(kind))
        ),
        ("__Type", "enumValues"): per_type(
            sum(len(kind.values) for kind in types if is_enum_type(kind))
        ),
        ("__Type", "inputFields"): per_type(
            sum(len(kind.fields) for kind in types if is_input_object_type(kind))
        ),
        ("__Field", "args"): Fraction(sum(len(f.args) for f in fields), max(len(fields), 1)),
        ("__Directive", "args"): Fraction(
            sum(len(d.args) for d in directives), max(len(directives), 1)
        ),
    }


def _page_size(node: FieldNode, largest: int) -> int:
    """The page a connection field asks for: its smallest literal ``first``/``last``, and
    the largest page for a variable or when neither is given."""
    sizes = [
        min(int(argument.value.value), largest)
        if isinstance(argument.value, IntValueNode)
        else largest
        for argument in node.arguments or ()
        if argument.name.value in _PAGE_ARGUMENTS
    ]
    return max(0, min(sizes)) if sizes else largest


class _Costing:
    """One document's costs; fragments are costed once each (per page size), so a
    document whose fragments spread each other many times is walked in linear time."""

    def __init__(
        self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode], largest: int
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.largest = largest
        self.lengths = _introspection_lengths(schema)
        self.memo: dict[tuple[str, str, int | None], Cost] = {}
        self.visiting: set[str] = set()

    def selection_set(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType, page: int | None
    ) -> Cost:
        if is_abstract_type(parent):
            # One object is of one type: the costliest of its possible types, each with
            # the fragments that apply to it (not the sum of every type's fragments).
            return max(
                (
                    self.selection_set(selection_set, possible, page)
                    for possible in self.schema.get_possible_types(parent)  # type: ignore[arg-type]
                ),
                default=0,
            )
        total: Cost = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                kind = self.schema.get_type(condition.name.value) if condition else parent
                if kind is not None and self._applies(kind, parent):
                    total += self.selection_set(selection.selection_set, parent, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value, parent, page)
        return total

    def _applies(self, condition: GraphQLNamedType, parent: GraphQLNamedType) -> bool:
        """Whether a fragment on ``condition`` applies to an object of type ``parent``."""
        if condition is parent:
            return True
        return is_abstract_type(condition) and self.schema.is_sub_type(
            condition,  # type: ignore[arg-type]
            parent,  # type: ignore[arg-type]
        )

    def fragment(self, name: str, parent: GraphQLNamedType, page: int | None) -> Cost:
        fragment = self.fragments.get(name)
        if fragment is None or name in self.visiting:
            # Unknown or cyclic: other rules report it.
            return 0
        kind = self.schema.get_type(fragment.type_condition.name.value)
        if kind is None or not self._applies(kind, parent):
            return 0
        key = (name, parent.name, page)
        if key not in self.memo:
            self.visiting.add(name)
            try:
                self.memo[key] = self.selection_set(fragment.selection_set, parent, page)
            finally:
                self.visiting.discard(name)
        return self.memo[key]

    def field(self, node: FieldNode, parent: GraphQLNamedType, page: int | None) -> Cost:
        name = node.name.value
        definition: GraphQLField | None = {
            "__schema": SchemaMetaFieldDef,
            "__type": TypeMetaFieldDef,
            "__typename": TypeNameMetaFieldDef,
        }.get(name) or getattr(parent, "fields", {}).get(name)
        if definition is None:
            # Unknown field: FieldsOnCorrectTypeRule reports it.
            return 0
        weight = _field_weight(parent.name, name)
        if node.selection_set is None:
            return weight
        inner_type = get_named_type(definition.type)
        own = _OWN_PAGES.get((parent.name, name))
        if own is not None:
            default, largest = own
            size = _page_size(node, largest) if node.arguments else default
            return weight + size * self.selection_set(node.selection_set, inner_type, None)
        inner_page = (
            _page_size(node, self.largest)
            if any(argument in definition.args for argument in _PAGE_ARGUMENTS)
            else None
        )
        inner = self.selection_set(node.selection_set, inner_type, inner_page)
        if isinstance(get_nullable_type(definition.type), GraphQLList):  # type: ignore[arg-type]
            # A connection's edges: its page; another list: its length.
            length = _LIST_LENGTHS.get((parent.name, name)) or self.lengths.get(
                (parent.name, name), self.largest
            )
            inner *= page if page is not None else length
        return weight + inner


def operation_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    *,
    largest_page: int,
) -> int:
    """The cost of ``operation`` (see the module docstring)."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    costing = _Costing(schema, fragments, largest_page)
    return math.ceil(costing.selection_set(operation.selection_set, root, None))


class QueryCost(ValidationRule):
    """Refuse each operation that costs more than ``CHAT_MAX_QUERY_COST`` (0: no limit)."""

    def enter_operation_definition(
        self, node: OperationDefinitionNode, *_args: Any
    ) -> VisitorAction:
        limit: int = settings.CHAT["MAX_QUERY_COST"]
        if limit > 0:
            context = self.context
            fragments = {
                definition.name.value: definition
                for definition in context.document.definitions
                if isinstance(definition, FragmentDefinitionNode)
            }
            cost = operation_cost(
                context.schema,
                node,
                fragments,
                largest_page=settings.CHAT["MAX_PAGE_SIZE"],
            )
            if cost > limit:
                self.report_error(
                    GraphQLError(
                        f"This operation would cost {cost}, more than the limit of {limit}: "
                        "ask for fewer fields, aliases or smaller pages.",
                        node,
                        extensions={"code": "QUERY_TOO_COMPLEX", "cost": cost, "maxCost": limit},
                    )
                )
        # The costing walked the operation itself.
        return SKIP


def cost_limiter() -> AddValidationRules:
    """The rule as a Strawberry extension, a fresh one per operation (extensions hold
    their operation's execution context)."""
    return AddValidationRules([QueryCost])
