"""Domain errors. Each carries the stable code clients see in ``extensions.code``."""

from __future__ import annotations

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


class TooManyUnknownRooms(ChatError):
    code = "TOO_MANY_UNKNOWN_ROOMS"
