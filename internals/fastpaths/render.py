"""Compiled selections of the objects events carry: what the executor would return,
without it.

Executing a selection through graphql-core and Strawberry's resolvers costs far more
than the data it reads: every field builds an Info, converts arguments and awaits. The
values the hub delivers (messages, room events) and ``sendMessage`` returns carry
the fields below already loaded, so a selection made only of these fields is turned, once
per document, into a function that reads the attributes and serialises them with the
schema's own scalars.

How a field is read depends on its object's class: on a model, a concrete field as loaded
(never a deferred one: reading it would query), a forward relation only as cached (a
null foreign key is null), anything else (``Message.reaction_summary``) as a plain
attribute; on any other class (chat.roomevents' event values, ReactionSummary), a plain
attribute. A value that is not there raises ``NotRenderable`` and the selection is executed.

A field of an interface or union type compiles once per possible type that is
renderable, fragments applied as the executor applies them (DoesFragmentTypeApply), and
renders by the value's Python class (``_classes``), so ``roomEvents``' RoomEvent renders.

Two kinds of field need more than their object: ``VIEWER_FIELDS`` depend on who asks
(the viewer's user id, in the ``Scope`` a render gets; whoever shares results must key
them by viewer when ``selects_viewer_fields``), and ``SLICED`` fields take a ``first``
argument (a literal, checked at compile time, or a variable, checked at render time, in
the resolver's range; anything else is executed, and reports the resolver's error).

Anything else (other arguments, directives, fields that read the database such as
``members`` or ``createdBy``, a response key selected twice) compiles to None and is
executed as usual; so does an event whose value would not serialise (a null where the
schema says non-null), lacks a field, or whose class has no renderer, by raising
``NotRenderable``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    SelectionSetNode,
    TypeInfo,
    TypeInfoVisitor,
    VariableNode,
    Visitor,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    visit,
)

from chat import roomevents, signalling
from chat.models import Message, ReactionSummary, Room

__all__ = [
    "NotRenderable",
    "Renderer",
    "Scope",
    "response_key",
    "selection_compile",
    "selects_viewer_fields",
]

# GraphQL field -> attribute, for the fields that need no database read on the objects
# chat.events.message_from_payload / room_event_from_payload, chat.roomevents'
# history and chat.posting.message_create build.
_EVENT = {"eventSeq": "event_seq", "room": "room", "at": "at", "actor": "actor"}
_MESSAGE_EVENT = {**_EVENT, "message": "message"}
_REACTION_EVENT = {**_EVENT, "message": "message", "emoji": "emoji", "user": "user"}
RENDERABLE: dict[str, dict[str, str]] = {
    "Message": {
        "id": "pk",
        "seq": "seq",
        "text": "text",
        "createdAt": "created_at",
        "author": "author",
        "room": "room",
        "editedAt": "edited_at",
        "deleted": "deleted",
        "replyTo": "reply_to",
        # None when not read with the message (the resolver loads them then).
        "reactions": "reaction_summary",
        "mentions": "mention_list",
    },
    "User": {"id": "pk", "username": "username"},
    "Room": {
        "id": "pk",
        "name": "name",
        "createdAt": "created_at",
        "lastSeq": "last_seq",
        "lastEventSeq": "last_event_seq",
        "private": "is_private",
        "direct": "direct",
        # Set by whoever made the Room for one viewer (the inbox), else executed.
        "unreadCount": "unread_count",
        "lastReadSeq": "last_read_seq",
    },
    "Reaction": {
        "emoji": "emoji",
        "count": "count",
        "users": "users",
        "reactedByMe": "user_ids",
    },
    "MessagePosted": _MESSAGE_EVENT,
    "MessageEdited": _MESSAGE_EVENT,
    "MessageDeleted": _MESSAGE_EVENT,
    "ReactionAdded": _REACTION_EVENT,
    "ReactionRemoved": _REACTION_EVENT,
    "MemberJoined": {**_EVENT, "user": "user"},
    "MemberLeft": {**_EVENT, "user": "user", "removedBy": "removed_by"},
    # roomSignals (chat.signalling): the same for every viewer.
    "TypingChanged": {"users": "users", "count": "count"},
    "PresenceChanged": {"user": "user", "online": "online"},
    "ReadUpTo": {"user": "user", "seq": "seq"},
    # inbox (chat.signalling): per viewer.
    "RoomActivity": {"room": "room", "message": "message", "unreadCount": "unread_count"},
    "UnreadChanged": {"room": "room", "unreadCount": "unread_count"},
    "Mentioned": {"message": "message"},
    "RoomJoined": {"room": "room"},
    "RoomLeft": {"room": "room"},
}

# Fields whose value depends on the viewer (schema.types.ReactionType.reacted_by_me):
# the attribute's value and the viewer's user id (None: anonymous) -> the field's value.
VIEWER_FIELDS: dict[tuple[str, str], Callable[[Any, int | None], Any]] = {
    ("Reaction", "reactedByMe"): lambda user_ids, viewer: viewer is not None and viewer in user_ids,
}

# List fields with a ``first`` argument that takes the first n items of the attribute,
# and the argument's largest value (schema.types.ReactionType.users).
SLICED: dict[tuple[str, str], int] = {("Reaction", "users"): roomevents.MAX_REACTION_USERS}


def _classes() -> dict[type, str]:
    """The GraphQL object type of each renderable Python class."""
    return {
        Message: "Message",
        Room: "Room",
        get_user_model(): "User",
        ReactionSummary: "Reaction",
        roomevents.MessagePosted: "MessagePosted",
        roomevents.MessageEdited: "MessageEdited",
        roomevents.MessageDeleted: "MessageDeleted",
        roomevents.ReactionAdded: "ReactionAdded",
        roomevents.ReactionRemoved: "ReactionRemoved",
        roomevents.MemberJoined: "MemberJoined",
        roomevents.MemberLeft: "MemberLeft",
        signalling.TypingChanged: "TypingChanged",
        signalling.PresenceChanged: "PresenceChanged",
        signalling.ReadUpTo: "ReadUpTo",
        signalling.RoomActivity: "RoomActivity",
        signalling.UnreadChanged: "UnreadChanged",
        signalling.Mentioned: "Mentioned",
        signalling.RoomJoined: "RoomJoined",
        signalling.RoomLeft: "RoomLeft",
    }


class NotRenderable(Exception):
    """This object cannot be rendered (execute the selection instead)."""


class Scope:
    """What a render reads besides the object: the operation's coerced variables (for
    arguments) and the viewer's user id (None: anonymous; for VIEWER_FIELDS)."""

    __slots__ = ("variables", "viewer")

    def __init__(self, variables: Mapping[str, Any] | None = None, viewer: int | None = None):
        self.variables: Mapping[str, Any] = variables or {}
        self.viewer = viewer


Renderer = Callable[[Any, Scope], dict[str, Any]]
# Reads a field's value from its object (raises NotRenderable if it is not there).
_Read = Callable[[Any, Scope], Any]
# Turns a non-null value into the field's result.
_Convert = Callable[[Any, Scope], Any]

_MISSING = object()


def response_key(node: FieldNode) -> str:
    """The key of a field in the response: its alias, else its name."""
    return node.alias.value if node.alias else node.name.value


def _pk(source: Any, _scope: Scope) -> Any:
    return source.pk


def _typename(name: str) -> _Read:
    return lambda _source, _scope: name


def _same(value: Any, _scope: Scope) -> Any:
    return value


def _attribute(attribute: str) -> _Read:
    """A plain attribute (of a dataclass, or a model's non-field attribute)."""
    return lambda source, _scope: getattr(source, attribute)


# Never getattr on a model's field: on a deferred field or a relation that is not
# loaded, Django would query the database.
def _loaded(attname: str) -> _Read:
    def read(source: Any, _scope: Scope) -> Any:
        value = source.__dict__.get(attname, _MISSING)
        if value is _MISSING:
            raise NotRenderable(attname)
        return value

    return read


def _related(field: Any) -> _Read:
    """A forward relation as select_related (or chat.models.message_with_relations)
    cached it; null when its foreign key is null (the resolvers' own shortcut)."""
    attname = field.attname

    def read(source: Any, _scope: Scope) -> Any:
        value = field.get_cached_value(source, _MISSING)
        if value is _MISSING:
            if source.__dict__.get(attname, _MISSING) is None:
                return None
            raise NotRenderable(field.name)
        return value

    return read


def _reader(cls: type | None, attribute: str) -> _Read | None:
    if attribute == "pk":
        return _pk
    if cls is None or not issubclass(cls, models.Model):
        return _attribute(attribute)
    try:
        field = cls._meta.get_field(attribute)
    except FieldDoesNotExist:
        # A model's own attribute (not a field): only when set on this instance.
        return _loaded(attribute)
    if field.many_to_one or field.one_to_one:
        return _related(field) if field.concrete else None
    if field.concrete and not field.is_relation:
        return _loaded(field.attname)  # type: ignore[union-attr]
    return None


def _sliced(read: _Read, node: FieldNode, field: GraphQLField, maximum: int) -> _Read | None:
    """``read``'s first ``first`` items, ``first`` as the executor would pass it, in
    0..maximum; None for a literal out of range (or anything but a literal or a variable)."""
    argument = field.args.get("first")
    if argument is None or len(field.args) != 1:
        return None
    default = argument.default_value  # Undefined if none: then not an int below
    given = node.arguments or ()
    if len(given) > 1 or (given and given[0].name.value != "first"):
        return None
    value = given[0].value if given else None
    if value is None or isinstance(value, IntValueNode):
        first = default if value is None else int(value.value)
        if type(first) is not int or not 0 <= first <= maximum:
            return None
        return lambda source, scope: read(source, scope)[:first]
    if not isinstance(value, VariableNode):
        return None
    name = value.name.value

    def read_first(source: Any, scope: Scope) -> Any:
        # A variable left out gives the argument its default, as in the executor.
        first = scope.variables.get(name, default)
        if type(first) is not int or not 0 <= first <= maximum:
            raise NotRenderable(name)
        return read(source, scope)[:first]

    return read_first


def _applies(schema: GraphQLSchema, condition: str, type_name: str) -> bool:
    """Whether a fragment on ``condition`` applies to an object of ``type_name``."""
    if condition == type_name:
        return True
    abstract = schema.get_type(condition)
    concrete = schema.get_type(type_name)
    return (
        is_abstract_type(abstract)
        and isinstance(concrete, GraphQLObjectType)
        and schema.is_sub_type(abstract, concrete)  # type: ignore[arg-type]
    )


def _fields(
    schema: GraphQLSchema,
    selection_set: SelectionSetNode,
    type_name: str,
    fragments: dict[str, FragmentDefinitionNode],
) -> list[FieldNode] | None:
    """The selection's fields for an object of ``type_name`` in execution order,
    fragments that apply inlined; None if unsupported."""
    fields: list[FieldNode] = []
    for selection in selection_set.selections:
        if selection.directives:
            return None
        if isinstance(selection, FieldNode):
            fields.append(selection)
            continue
        if isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is None:
                return None
            if not _applies(schema, fragment.type_condition.name.value, type_name):
                continue
            inner = _fields(schema, fragment.selection_set, type_name, fragments)
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            if condition is not None and not _applies(schema, condition.name.value, type_name):
                continue
            inner = _fields(schema, selection.selection_set, type_name, fragments)
        else:  # pragma: no cover - graphql-core has no other selection kinds
            return None
        if inner is None:
            return None
        fields.extend(inner)
    return fields


def _output(
    schema: GraphQLSchema,
    type_: GraphQLOutputType,
    node: FieldNode,
    fragments: dict[str, FragmentDefinitionNode],
) -> tuple[_Convert, bool] | None:
    """How a value of ``type_`` becomes its result, and whether ``type_`` is nullable."""
    nullable = not is_non_null_type(type_)
    inner_type: Any = type_ if nullable else type_.of_type  # type: ignore[union-attr]
    if is_list_type(inner_type):
        item = _output(schema, inner_type.of_type, node, fragments)
        if item is None:
            return None
        convert_item, item_nullable = item

        def convert_list(values: Any, scope: Scope) -> list[Any]:
            result = []
            for value in values:
                if value is not None:
                    result.append(convert_item(value, scope))
                elif item_nullable:
                    result.append(None)
                else:
                    raise NotRenderable(node.name.value)
            return result

        return convert_list, nullable
    if is_leaf_type(inner_type):
        if node.selection_set is not None:
            return None
        serialize = inner_type.serialize
        return (lambda value, _scope: serialize(value)), nullable
    if node.selection_set is None:
        return None
    inner = _compile(schema, inner_type.name, node.selection_set, fragments)
    return None if inner is None else (inner, nullable)


def _compile(
    schema: GraphQLSchema,
    type_name: str,
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
) -> Renderer | None:
    object_type = schema.get_type(type_name)
    if is_abstract_type(object_type):
        return _compile_abstract(schema, type_name, selection_set, fragments)
    fields = _fields(schema, selection_set, type_name, fragments)
    attributes = RENDERABLE.get(type_name)
    if fields is None or attributes is None or not isinstance(object_type, GraphQLObjectType):
        return None
    cls = {name: cls for cls, name in _classes().items()}.get(type_name)
    # (response key, read the value from the source, turn it into the result, nullable)
    steps: list[tuple[str, _Read, _Convert, bool]] = []
    for node in fields:
        key = response_key(node)
        name = node.name.value
        if any(key == seen for seen, _, _, _ in steps):
            # Repeated keys merge their sub-selections in the executor: not here.
            return None
        if name == "__typename":
            if node.arguments:
                return None
            steps.append((key, _typename(type_name), _same, False))
            continue
        attribute = attributes.get(name)
        field = object_type.fields.get(name)
        if attribute is None or field is None:
            return None
        read = _reader(cls, attribute)
        maximum = SLICED.get((type_name, name))
        if read is not None and maximum is not None:
            read = _sliced(read, node, field, maximum)
        elif node.arguments:
            return None
        output = _output(schema, field.type, node, fragments)
        if read is None or output is None:
            return None
        convert, nullable = output
        viewer_value = VIEWER_FIELDS.get((type_name, name))
        if viewer_value is not None:
            convert = _for_viewer(viewer_value, convert)
        steps.append((key, read, convert, nullable))

    def render(source: Any, scope: Scope) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, read, convert, nullable in steps:
            value = read(source, scope)
            if value is None:
                if not nullable:
                    raise NotRenderable(key)
                result[key] = None
                continue
            try:
                result[key] = convert(value, scope)
            except (GraphQLError, TypeError, ValueError) as error:
                raise NotRenderable(key) from error
        return result

    return render


def _for_viewer(value_of: Callable[[Any, int | None], Any], convert: _Convert) -> _Convert:
    return lambda value, scope: convert(value_of(value, scope.viewer), scope)


def _compile_abstract(
    schema: GraphQLSchema,
    type_name: str,
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
) -> Renderer | None:
    """One renderer per renderable possible type, chosen by the value's class."""
    abstract = schema.get_type(type_name)
    renderers: dict[str, Renderer] = {}
    for possible in schema.get_possible_types(abstract):  # type: ignore[arg-type]
        if possible.name not in RENDERABLE:
            continue
        renderer = _compile(schema, possible.name, selection_set, fragments)
        if renderer is None:
            # A selection one possible type cannot render: execute them all alike.
            return None
        renderers[possible.name] = renderer
    if not renderers:
        return None
    # Each class straight to its renderer.
    by_class = {cls: renderers[name] for cls, name in _classes().items() if name in renderers}

    def render(source: Any, scope: Scope) -> dict[str, Any]:
        renderer = by_class.get(type(source))
        if renderer is None:
            raise NotRenderable(type_name)
        return renderer(source, scope)

    return render


def selection_compile(
    schema: GraphQLSchema, document: DocumentNode, type_name: str, node: FieldNode
) -> Renderer | None:
    """Compile the selection of ``node`` (a field returning ``type_name``) in ``document``."""
    if node.selection_set is None:
        return None
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    return _compile(schema, type_name, node.selection_set, fragments)


class _ViewerFields(Visitor):
    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.found = False

    def enter_field(self, node: FieldNode, *_args: Any) -> Any:
        parent = self.type_info.get_parent_type()
        if parent is not None and (parent.name, node.name.value) in VIEWER_FIELDS:
            self.found = True
            return Visitor.BREAK
        return None


def selects_viewer_fields(schema: GraphQLSchema, document: DocumentNode) -> bool:
    """Whether the (valid) document selects a field of VIEWER_FIELDS anywhere: then its
    results differ by viewer."""
    type_info = TypeInfo(schema)
    finder = _ViewerFields(type_info)
    visit(document, TypeInfoVisitor(type_info, finder))
    return finder.found
