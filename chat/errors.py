"""Domain errors. Each carries the stable code clients see in ``extensions.code``."""

from __future__ import annotations

from typing import Any

__all__ = [
    "ChatError",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "RateLimited",
    "TooManyUnknownRooms",
    "Unauthenticated",
]


class ChatError(Exception):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        # More for ``extensions`` beside the code (e.g. retryAfter).
        self.extensions: dict[str, Any] = {}


class InvalidInput(ChatError):
    code = "BAD_USER_INPUT"


class Unauthenticated(ChatError):
    code = "UNAUTHENTICATED"


class Forbidden(ChatError):
    code = "FORBIDDEN"


class NotFound(ChatError):
    code = "NOT_FOUND"


class RateLimited(ChatError):
    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        if retry_after is not None:
            self.extensions["retryAfter"] = retry_after


class TooManyUnknownRooms(ChatError):
    code = "TOO_MANY_UNKNOWN_ROOMS"


class TooManyInboxes(ChatError):
    """A second ``inbox`` on one socket: one follows all of a user's rooms already."""

    code = "TOO_MANY_INBOXES"
