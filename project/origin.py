"""Websocket origin check against ALLOWED_HOSTS that lets non-browser clients in."""

from __future__ import annotations

from typing import Any
from urllib.parse import ParseResult

from channels.security.websocket import OriginValidator
from django.conf import settings

__all__ = ["AllowedHostsOrNoOriginValidator"]


class AllowedHostsOrNoOriginValidator(OriginValidator):
    """Like Channels' AllowedHostsOriginValidator, but a handshake without an Origin
    header is allowed: browsers always send one, so its absence means a native or
    server-side client (Apollo on Node, mobile apps), which no page can impersonate."""

    def __init__(self, application: Any) -> None:
        super().__init__(application, settings.ALLOWED_HOSTS)

    def valid_origin(self, parsed_origin: ParseResult | None) -> bool:
        if parsed_origin is None:
            return True
        return bool(self.validate_origin(parsed_origin))
