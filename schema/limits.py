"""Document size limits, shared by Strawberry's pipeline and the websocket fast paths."""

from __future__ import annotations

from django.conf import settings
from graphql import ASTValidationRule
from strawberry.extensions import MaxTokensLimiter, QueryDepthLimiter

__all__ = ["DEPTH_RULES", "MAX_TOKENS", "depth_limiter", "max_tokens_limiter"]

MAX_TOKENS: int = settings.CHAT["MAX_QUERY_TOKENS"]
_MAX_DEPTH: int = settings.CHAT["MAX_QUERY_DEPTH"]
# The depth rule as the fast paths add it to their validation (schema/execution.py).
DEPTH_RULES: list[type[ASTValidationRule]] = list(
    QueryDepthLimiter(max_depth=_MAX_DEPTH).validation_rules
)


def depth_limiter() -> QueryDepthLimiter:
    # One instance per operation: Strawberry stores each operation's execution context on
    # the extension instance, so a shared one could give an operation another's context
    # (and skip its depth check) when subscriptions start concurrently.
    return QueryDepthLimiter(max_depth=_MAX_DEPTH)


def max_tokens_limiter() -> MaxTokensLimiter:
    return MaxTokensLimiter(max_token_count=MAX_TOKENS)
