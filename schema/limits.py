"""Document size limits, shared by Strawberry's pipeline and the fan-out fast path."""

from __future__ import annotations

from django.conf import settings
from graphql import GraphQLError
from strawberry.extensions import MaxTokensLimiter, QueryDepthLimiter

__all__ = [
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
depth_limiter = QueryDepthLimiter(max_depth=settings.CHAT["MAX_QUERY_DEPTH"])


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
