"""Websocket origin check: the page must be of the site's own origin (scheme, host and
port), a trusted one or a CORS-allowed one; non-browser clients, which send no Origin, are
let in. Only the first two may use the session cookie."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

__all__ = ["AllowedHostsOrNoOriginValidator", "origin_allowed", "origin_credentialed"]

_DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]


def _origin(value: str) -> Origin | None:
    """(scheme, host, port) of a serialised origin; None for "null" and anything odd."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.path or parts.query or parts.fragment or parts.username is not None:
        return None
    return parts.scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[parts.scheme]


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return str(value.decode("latin1"))
    return None


def _is_secure(scope: dict[str, Any]) -> bool:
    """As Django's ``request.is_secure()``: TLS at daphne, or the trusted proxy's header."""
    if scope.get("scheme") in ("wss", "https"):
        return True
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if not proxy:
        return False
    name, secure_value = proxy
    value = _header(scope, name.removeprefix("HTTP_").lower().replace("_", "-").encode())
    return value is not None and value.split(",", 1)[0].strip() == secure_value


def _own_origin(scope: dict[str, Any]) -> Origin | None:
    """The origin this socket was opened on: the scheme of the connection (as the client
    or our TLS proxy saw it) and the Host header, if it is one of ALLOWED_HOSTS."""
    host = _header(scope, b"host")
    if not host:
        return None
    domain, port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    scheme = "https" if _is_secure(scope) else "http"
    return scheme, domain.strip("[]"), int(port) if port else _DEFAULT_PORTS[scheme]


def _trusted(origin: Origin) -> bool:
    """In CSRF_TRUSTED_ORIGINS, where ``https://*.example.com`` is any subdomain."""
    scheme, host, port = origin
    for entry in settings.CSRF_TRUSTED_ORIGINS:
        wildcard = "://*." in entry
        trusted = _origin(entry.replace("://*.", "://", 1))
        if trusted is None or trusted[0] != scheme or trusted[2] != port:
            continue
        if host == trusted[1] or (wildcard and host.endswith("." + trusted[1])):
            return True
    return False


def _cors_allowed(origin: Origin) -> bool:
    """In CORS_ALLOWED_ORIGINS (exact origins)."""
    return any(_origin(entry) == origin for entry in settings.CORS_ALLOWED_ORIGINS)


def origin_credentialed(scope: dict[str, Any]) -> bool:
    """True without an Origin header, else if it is the socket's own origin or trusted:
    the page may use the session cookie the browser sends with it."""
    value = _header(scope, b"origin")
    if value is None:
        return True
    origin = _origin(value.strip())
    return origin is not None and (origin == _own_origin(scope) or _trusted(origin))


def origin_allowed(scope: dict[str, Any]) -> bool:
    """True if ``origin_credentialed``, or the Origin is CORS-allowed (a browser app served
    elsewhere, which authenticates with a token in connection_init)."""
    if origin_credentialed(scope):
        return True
    origin = _origin((_header(scope, b"origin") or "").strip())
    return origin is not None and _cors_allowed(origin)


class AllowedHostsOrNoOriginValidator:
    """Refuse (403 at the handshake) a websocket whose Origin is not ``origin_allowed``.

    A browser always sends Origin and sends the victim's cookies whatever page opened the
    socket, so a page of any other origin (another port or scheme of the same host
    included) is refused, unless trusted, or CORS-allowed (and then cookie-less: see
    project/wsauth.py). No Origin means a native or server-side client (Apollo on Node,
    mobile apps), which no page can impersonate. Channels' AllowedHostsOriginValidator
    compares the host alone.
    """

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
