"""Document size limits, shared by Strawberry's pipeline and the websocket fast paths."""

from __future__ import annotations

from django.conf import settings
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, QueryDepthLimiter

__all__ = [
    "DEPTH_RULES",
    "MAX_BYTES",
    "MAX_TOKENS",
    "QUERY_TOO_LARGE",
    "depth_limiter",
    "max_tokens_limiter",
    "query_size_error",
]

MAX_TOKENS: int = settings.CHAT["MAX_QUERY_TOKENS"]
MAX_BYTES: int = settings.CHAT["MAX_QUERY_BYTES"]
QUERY_TOO_LARGE = "QUERY_TOO_LARGE"
# The depth rule, made once: QueryDepthLimiter makes a new rule class per instance, and
# validation results are cached by rule (schema/caches.py).
DEPTH_RULES: list[type[ASTValidationRule]] = list(
    QueryDepthLimiter(max_depth=settings.CHAT["MAX_QUERY_DEPTH"]).validation_rules
)


def depth_limiter() -> AddValidationRules:
    # One extension instance per operation: Strawberry stores each operation's execution
    # context on the instance, so a shared one could give an operation another's context
    # (and skip its depth check) when subscriptions start concurrently.
    return AddValidationRules(DEPTH_RULES)


def max_tokens_limiter() -> MaxTokensLimiter:
    return MaxTokensLimiter(max_token_count=MAX_TOKENS)


def query_size_error(query: str) -> GraphQLError | None:
    """The error for a document of more than ``CHAT_MAX_QUERY_BYTES`` (UTF-8), refused
    before it is parsed; None if it is within the limit (or there is none)."""
    # A character is 1 to 4 bytes: most documents need no encoding to tell.
    if not MAX_BYTES or len(query) <= MAX_BYTES // 4:
        return None
    size = len(query.encode("utf-8", "surrogatepass"))
    if size <= MAX_BYTES:
        return None
    return GraphQLError(
        f"Document too large: {size} bytes, the limit is {MAX_BYTES}.",
        extensions={"code": QUERY_TOO_LARGE, "bytes": size, "limit": MAX_BYTES},
    )
