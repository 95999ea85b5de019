"""Compiled selections of the objects events carry: what the executor would return,
without it.

Executing a selection through graphql-core and Strawberry's resolvers costs far more
than the data it reads: every field builds an Info, converts arguments and awaits. The
messages the hub delivers (and ``sendMessage`` returns) carry every field below already
loaded, so a selection made only of these fields is turned, once per document, into a
function that reads the attributes and serialises them with the schema's own scalars.

A field of an interface or union type compiles once per possible type that is
renderable, fragments applied as the executor applies them (DoesFragmentTypeApply), and
renders by the value's Python class (``RENDERABLE_CLASSES``), so an event kind whose
payload is a union or interface is rendered too.

Anything else (arguments, directives, fields that read the database such as
``members`` or ``createdBy``, a response key selected twice) compiles to None and is
executed as usual; so does an event whose value would not serialise (a null where the
schema says non-null) or whose class has no renderer, by raising ``NotRenderable``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
)

from chat.models import Message, Room

__all__ = ["NotRenderable", "Renderer", "response_key", "selection_compile"]

Renderer = Callable[[Any], dict[str, Any]]

# GraphQL field -> model attribute, for the fields that need no database read on the
# objects chat.events.message_from_payload and chat.posting.message_create build.
RENDERABLE: dict[str, dict[str, str]] = {
    "Message": {
        "id": "pk",
        "seq": "seq",
        "text": "text",
        "createdAt": "created_at",
        "author": "author",
        "room": "room",
    },
    "User": {"id": "pk", "username": "username"},
    "Room": {
        "id": "pk",
        "name": "name",
        "createdAt": "created_at",
        "lastSeq": "last_seq",
        "private": "is_private",
    },
}


def _classes() -> dict[type, str]:
    """The GraphQL object type of each renderable Python class."""
    return {Message: "Message", Room: "Room", get_user_model(): "User"}


class NotRenderable(Exception):
    """This object cannot be rendered (execute the selection instead)."""


def response_key(node: FieldNode) -> str:
    """The key of a field in the response: its alias, else its name."""
    return node.alias.value if node.alias else node.name.value


def _pk(source: Any) -> Any:
    return source.pk


def _same(value: Any) -> Any:
    return value


def _typename(name: str) -> Callable[[Any], str]:
    return lambda _source: name


# Never getattr: on a relation that is not loaded, Django would query the database.
def _loaded(attribute: str) -> Callable[[Any], Any]:
    return lambda source: source.__dict__.get(attribute)


def _related(attribute: str) -> Callable[[Any], Any]:
    # The related object select_related (or chat.models.message_with_relations) cached;
    # the field looked up once per class.
    fields: dict[type, Any] = {}

    def read(source: Any) -> Any:
        field = fields.get(type(source))
        if field is None:
            field = fields[type(source)] = type(source)._meta.get_field(attribute)
        return field.get_cached_value(source, None)

    return read


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
    # (response key, read the value from the source, turn it into the result)
    steps: list[tuple[str, Callable[[Any], Any], Callable[[Any], Any]]] = []
    for node in fields:
        key = response_key(node)
        name = node.name.value
        if node.arguments or any(key == seen for seen, _, _ in steps):
            # Repeated keys merge their sub-selections in the executor: not here.
            return None
        if name == "__typename":
            steps.append((key, _typename(type_name), _same))
            continue
        attribute = attributes.get(name)
        if attribute is None:
            return None
        field_type = get_named_type(object_type.fields[name].type)
        if is_leaf_type(field_type):
            if node.selection_set is not None:
                return None
            read = _pk if attribute == "pk" else _loaded(attribute)
            steps.append((key, read, field_type.serialize))  # type: ignore[union-attr]
            continue
        if node.selection_set is None:
            return None
        inner = _compile(schema, field_type.name, node.selection_set, fragments)
        if inner is None:
            return None
        steps.append((key, _related(attribute), inner))

    def render(source: Any) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, read, convert in steps:
            value = read(source)
            if value is None:
                raise NotRenderable(key)
            try:
                result[key] = convert(value)
            except (GraphQLError, TypeError, ValueError) as error:
                raise NotRenderable(key) from error
        return result

    return render


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
    classes = _classes()

    def render(source: Any) -> dict[str, Any]:
        renderer = renderers.get(classes.get(type(source), ""))
        if renderer is None:
            raise NotRenderable(type_name)
        return renderer(source)

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
