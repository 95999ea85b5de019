"""Which operation of a document a request runs (the GraphQL spec's GetOperation), and
whether it only signs in.

Strawberry runs the first operation of a document sent without an operationName; the
spec makes that a request error when the document has several.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    parse,
)
from strawberry.extensions import SchemaExtension

from schema.limits import MAX_TOKENS, query_size_error

__all__ = [
    "OPERATION_NAME_REQUIRED",
    "OPERATION_RESOLUTION_FAILURE",
    "OperationSelection",
    "document_operation_name_error",
    "operation_name_error",
    "signs_in_only",
]

# Apollo Server's code for the same two cases (no operationName among several, an
# operationName the document does not have): clients written for it know it.
OPERATION_RESOLUTION_FAILURE = "OPERATION_RESOLUTION_FAILURE"
OPERATION_NAME_REQUIRED = "Must provide operation name if query contains multiple operations."

# Mutations that take no credential: a client holding a stale token must still be able to
# sign in with them (schema/http.py ignores the Authorization header for them).
SIGN_IN_FIELDS = frozenset({"login", "register"})


def _operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def operation_name_error(document: DocumentNode, operation_name: str | None) -> GraphQLError | None:
    """GetOperation's request error for a document sent without an operationName, if it
    has several operations (an unknown name is Strawberry's CannotGetOperationTypeError)."""
    if operation_name is None and len(_operations(document)) > 1:
        return GraphQLError(
            OPERATION_NAME_REQUIRED, extensions={"code": OPERATION_RESOLUTION_FAILURE}
        )
    return None


class OperationSelection(SchemaExtension):
    """GetOperation: "If operationName is null: If document contains exactly one
    operation, return the Operation contained in the document. Otherwise raise a request
    error requiring operationName." (GraphQL spec, 6.1 Executing Requests).

    The operation name the request gave is read before parsing: Strawberry's
    ``execution_context.operation_name`` falls back to the first operation's name once
    the document is parsed."""

    _given: str | None = None
    _known = False

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        # Before parsing (no document yet) operation_name is the request's own.
        self._known = context.graphql_document is None
        self._given = context.operation_name
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if self._known and document is not None and not context.pre_execution_errors:
            # Listed after ValidationCache, so a document that does not validate reports
            # its validation errors; one that does (or was not validated yet) this one.
            if (error := operation_name_error(document, self._given)) is not None:
                context.pre_execution_errors = [error]
        yield


def _parsed(query: object) -> DocumentNode | None:
    """The document, parsed within the size and token limits; None if it does not parse."""
    if not isinstance(query, str) or query_size_error(query) is not None:
        return None
    try:
        return parse(query, max_tokens=MAX_TOKENS, no_location=True)
    except GraphQLError:
        return None


def document_operation_name_error(query: object, operation_name: str | None) -> GraphQLError | None:
    """``operation_name_error`` for a document's text (None if it does not parse).

    For where Strawberry refuses the first operation's type (a mutation by GET, a
    subscription over plain HTTP) before the extension can say that none is selected."""
    if operation_name is not None or (document := _parsed(query)) is None:
        return None
    return operation_name_error(document, None)


def signs_in_only(query: object, operation_name: object) -> bool:
    """Whether the request is a mutation whose every root field is ``login`` or
    ``register``: it runs without a credential, whatever Authorization header it carries."""
    document = _parsed(query)
    if document is None or not isinstance(operation_name, str | None):
        return False
    operations = _operations(document)
    if operation_name is None:
        selected = operations[0] if len(operations) == 1 else None
    else:
        selected = next((o for o in operations if o.name and o.name.value == operation_name), None)
    if selected is None or selected.operation != OperationType.MUTATION:
        return False
    selections = selected.selection_set.selections
    return bool(selections) and all(
        isinstance(node, FieldNode) and node.name.value in SIGN_IN_FIELDS and not node.directives
        for node in selections
    )
