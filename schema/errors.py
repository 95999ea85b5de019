"""Turn domain errors into GraphQL errors with a stable ``extensions.code``.

Anything unexpected is logged with its traceback and reaches the client only as
``Internal server error.`` with code ``INTERNAL_SERVER_ERROR``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db import InterfaceError, OperationalError
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, GraphQLFormattedError, GraphQLSyntaxError
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.execution import ExecutionResult as StrawberryExecutionResult
from strawberry.types.execution import StreamExecutionResult

from chat.errors import ChatError
from chat.metrics import GRAPHQL_ERRORS
from schema.introspection import suggestions_strip
from schema.operations import OPERATION_RESOLUTION_FAILURE

__all__ = [
    "DATABASE_UNAVAILABLE",
    "ErrorCodes",
    "error_record",
    "errors_format",
    "errors_process",
]

DATABASE_UNAVAILABLE = "The database is unavailable; try again shortly."

logger = logging.getLogger("chat.errors")

# Raised by Strawberry before execution when the request names no operation it can run
# (e.g. a query started on legacy graphql-ws, which runs subscriptions only): the
# client's mistake, reported with Strawberry's message.
_BAD_REQUESTS = (MissingQueryError, InvalidOperationTypeError)
# An operationName the document does not have (GetOperation's request error): Apollo
# Server's code for it (schema.operations.OPERATION_RESOLUTION_FAILURE).
_UNKNOWN_OPERATION = CannotGetOperationTypeError


def error_record(code: str, path: str | None = None) -> None:
    """Count and log one error sent to a client (its code, never its message, which may
    echo the client's input)."""
    GRAPHQL_ERRORS.labels(code=code).inc()
    logger.info("graphql error", extra={"event": "graphql.error", "code": code, "path": path})


MASKED_MESSAGE = "Internal server error."


def _anonymise(error: GraphQLError) -> GraphQLError:
    """The error without its message or original exception (what MaskErrors sends)."""
    return GraphQLError(
        message=MASKED_MESSAGE,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
    )


def errors_process(errors: list[GraphQLError]) -> list[GraphQLError]:
    """Give each error its ``extensions.code``, mask unexpected ones, count and log them."""
    processed: list[GraphQLError] = []
    for error in errors:
        original = error.original_error
        if isinstance(original, ChatError):
            error.extensions = {
                **(error.extensions or {}),
                "code": original.code,
                **original.extensions,
            }
            processed.append(error)
        elif original is None or isinstance(original, GraphQLError):
            # Syntax and validation errors: the client's document is at fault.
            if not (error.extensions or {}).get("code"):
                code = (
                    "GRAPHQL_PARSE_FAILED"
                    if isinstance(error, GraphQLSyntaxError)
                    else "GRAPHQL_VALIDATION_FAILED"
                )
                error.extensions = {**(error.extensions or {}), "code": code}
            processed.append(error)
        elif isinstance(original, _BAD_REQUESTS):
            error.extensions = {**(error.extensions or {}), "code": "BAD_REQUEST"}
            processed.append(error)
        elif isinstance(original, _UNKNOWN_OPERATION):
            error.extensions = {**(error.extensions or {}), "code": OPERATION_RESOLUTION_FAILURE}
            processed.append(error)
        elif isinstance(original, OperationalError | InterfaceError):
            logger.error("database unavailable", exc_info=original)
            unavailable = _anonymise(error)
            unavailable.message = DATABASE_UNAVAILABLE
            unavailable.extensions = {"code": "SERVICE_UNAVAILABLE"}
            processed.append(unavailable)
        else:
            logger.error("unexpected error in resolver", exc_info=original)
            masked = _anonymise(error)
            masked.extensions = {"code": "INTERNAL_SERVER_ERROR"}
            processed.append(masked)
    for error in processed:
        error.message = suggestions_strip(error.message)
        path = ".".join(str(key) for key in error.path) if error.path else None
        error_record(str((error.extensions or {}).get("code")), path)
    return processed


def errors_format(errors: list[GraphQLError]) -> list[GraphQLFormattedError]:
    """Errors as sent to clients: coded and masked by ``errors_process``, then formatted."""
    return [error.formatted for error in errors_process(errors)]


def _result_process(result: object) -> None:
    errors = getattr(result, "errors", None)
    if errors:
        result.errors = errors_process(errors)  # type: ignore[attr-defined]


class ErrorCodes(SchemaExtension):
    """Codes and masks the errors of every result (as Strawberry's MaskErrors does, on
    the public extension hooks): ``errors_process``."""

    _streamed = False

    def on_operation(self) -> Iterator[None]:
        self._streamed = False
        yield
        # Streamed results (subscriptions) were processed one by one in on_stream_result.
        if self._streamed:
            return
        result = self.execution_context.result
        if isinstance(result, GraphQLExecutionResult | StrawberryExecutionResult):
            _result_process(result)
        elif initial := getattr(result, "initial_result", None):
            _result_process(initial)

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        self._streamed = True
        _result_process(result)
        for incremental in getattr(result, "incremental", None) or ():
            _result_process(incremental)
        for completed in getattr(result, "completed", None) or ():
            _result_process(completed)
        yield
