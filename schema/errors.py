"""Turn domain errors into GraphQL errors with a stable ``extensions.code``.

Anything unexpected is logged with its traceback and reaches the client only as
``Internal server error.`` with code ``INTERNAL_SERVER_ERROR``.
"""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import MaskErrors
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from chat.errors import ChatError
from chat.metrics import GRAPHQL_ERRORS
from schema.introspection import suggestions_strip

__all__ = ["DATABASE_UNAVAILABLE", "ErrorCodes", "error_record"]

DATABASE_UNAVAILABLE = "The database is unavailable; try again shortly."

logger = logging.getLogger("chat.errors")

# Raised by Strawberry before execution when the request names no operation it can run
# (e.g. a query started on legacy graphql-ws, which runs subscriptions only): the
# client's mistake, reported with Strawberry's message.
_BAD_REQUESTS = (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError)


def error_record(code: str, path: str | None = None) -> None:
    """Count and log one error sent to a client (its code, never its message, which may
    echo the client's input)."""
    GRAPHQL_ERRORS.labels(code=code).inc()
    logger.info("graphql error", extra={"event": "graphql.error", "code": code, "path": path})


class ErrorCodes(MaskErrors):
    def __init__(self) -> None:
        super().__init__(error_message="Internal server error.")

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
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
            elif isinstance(original, OperationalError | InterfaceError):
                logger.error("database unavailable", exc_info=original)
                unavailable = self.anonymise_error(error)
                unavailable.message = DATABASE_UNAVAILABLE
                unavailable.extensions = {"code": "SERVICE_UNAVAILABLE"}
                processed.append(unavailable)
            else:
                logger.error("unexpected error in resolver", exc_info=original)
                masked = self.anonymise_error(error)
                masked.extensions = {"code": "INTERNAL_SERVER_ERROR"}
                processed.append(masked)
        for error in processed:
            error.message = suggestions_strip(error.message)
            path = ".".join(str(key) for key in error.path) if error.path else None
            error_record(str((error.extensions or {}).get("code")), path)
        return processed
