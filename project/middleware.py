"""Django's standard middleware, run on the event loop instead of a thread hop per hook.

Django runs a sync middleware's ``process_request``/``process_response`` under ASGI with
``sync_to_async`` in case they do I/O: about a dozen thread hops for every HTTP request
through this stack. These hooks only read the request and set headers and cookies; the
two that can touch the database (saving a modified session, storing flash messages) are
sent to a thread when, and only when, they have something to write. This overrides
Django's non-public ``MiddlewareMixin.__acall__``: hook ``django.inline_middleware``, and
without it Django's own runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import get_messages
from django.contrib.messages import middleware as messages
from django.contrib.messages.storage.base import BaseStorage
from django.contrib.sessions import middleware as sessions
from django.core.checks import CheckMessage, Error, register
from django.http import HttpRequest, HttpResponseBase
from django.middleware import clickjacking, common, csrf, security
from django.utils.deprecation import MiddlewareMixin

from internals.django import INLINE_MIDDLEWARE
from internals.hooks import hook_active
from schema.http import content_security_policy

__all__ = [
    "AuthenticationMiddleware",
    "CommonMiddleware",
    "ContentSecurityPolicyMiddleware",
    "CsrfViewMiddleware",
    "MessageMiddleware",
    "SecurityMiddleware",
    "SessionMiddleware",
    "XFrameOptionsMiddleware",
    "inline_middleware_check",
]


class _Inline:
    """Mixin for a MiddlewareMixin subclass whose hooks do no I/O unless ``_blocks`` says."""

    sync_capable = False
    async_capable = True
    get_response: Callable[[HttpRequest], Any]

    def _blocks(self, request: HttpRequest) -> bool:
        """True if process_response may do I/O for this request."""
        return False

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        if not hook_active(INLINE_MIDDLEWARE):
            return await super().__acall__(request)  # type: ignore[misc,no-any-return]
        process_request = getattr(self, "process_request", None)
        response = process_request(request) if process_request is not None else None
        response = response or await self.get_response(request)
        process_response = getattr(self, "process_response", None)
        if process_response is not None:
            if self._blocks(request):
                response = await sync_to_async(process_response)(request, response)
            else:
                response = process_response(request, response)
        return response  # type: ignore[no-any-return]


class SecurityMiddleware(_Inline, security.SecurityMiddleware):
    pass


class SessionMiddleware(_Inline, sessions.SessionMiddleware):
    def _blocks(self, request: HttpRequest) -> bool:
        session = getattr(request, "session", None)
        return session is not None and bool(session.modified or settings.SESSION_SAVE_EVERY_REQUEST)


class CommonMiddleware(_Inline, common.CommonMiddleware):
    pass


class CsrfViewMiddleware(_Inline, csrf.CsrfViewMiddleware):
    async def process_view(  # type: ignore[override]
        self, request: HttpRequest, callback: Any, callback_args: Any, callback_kwargs: Any
    ) -> HttpResponseBase | None:
        return super().process_view(request, callback, callback_args, callback_kwargs)


class AuthenticationMiddleware(_Inline, auth.AuthenticationMiddleware):
    pass


class MessageMiddleware(_Inline, messages.MessageMiddleware):
    def _blocks(self, request: HttpRequest) -> bool:
        storage = get_messages(request)
        return isinstance(storage, BaseStorage) and bool(storage.used or storage.added_new)


class XFrameOptionsMiddleware(_Inline, clickjacking.XFrameOptionsMiddleware):
    pass


class ContentSecurityPolicyMiddleware(_Inline, MiddlewareMixin):
    """Send ``content_security_policy`` with every HTML response that has none (Django 5.2
    has no CSP support of its own; GraphiQL's view sets its own, looser one)."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if "Content-Security-Policy" in response or not response.get("Content-Type", "").startswith(
            "text/html"
        ):
            return response
        # Django's DEBUG error pages are made of inline styles and scripts.
        if settings.DEBUG and response.status_code >= 400:
            return response
        response["Content-Security-Policy"] = content_security_policy(request)
        return response


@register()
def inline_middleware_check(**kwargs: Any) -> list[CheckMessage]:
    """Refuse settings under which an inline hook would read the database on the loop."""
    if settings.CSRF_USE_SESSIONS:
        return [
            Error(
                "CSRF_USE_SESSIONS is not supported: project.middleware.CsrfViewMiddleware "
                "reads the CSRF secret on the event loop, where loading a session is not "
                "allowed.",
                hint="Keep the CSRF secret in its cookie (the default).",
                id="chat.E001",
            )
        ]
    return []
