"""Document size limits, shared by Strawberry's pipeline and the fan-out fast path."""

from __future__ import annotations

from django.conf import settings
from strawberry.extensions import MaxTokensLimiter, QueryDepthLimiter

__all__ = ["MAX_TOKENS", "depth_limiter", "max_tokens_limiter"]

MAX_TOKENS: int = settings.CHAT["MAX_QUERY_TOKENS"]
depth_limiter = QueryDepthLimiter(max_depth=settings.CHAT["MAX_QUERY_DEPTH"])


def max_tokens_limiter() -> MaxTokensLimiter:
    return MaxTokensLimiter(max_token_count=MAX_TOKENS)
