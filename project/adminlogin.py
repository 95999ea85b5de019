"""The admin's login, counted against the chat's login limits (chat.ratelimit)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from chat.clientip import client_ip
from chat.errors import RateLimited
from chat.ratelimit import login_attempt_check
from chat.usernames import username_fold

__all__ = ["admin_login"]


def admin_login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    """``admin.site.login``, answering 429 with Retry-After past the login limits.

    The same counters as the chat's ``login``: the admin is no way around them.
    """
    if request.method == "POST":
        username = str(request.POST.get("username", ""))
        try:
            login_attempt_check(
                client_ip=client_ip(request.scope),  # type: ignore[attr-defined]
                username=username_fold(username),
            )
        except RateLimited as error:
            response = HttpResponse(error.message, status=429, content_type="text/plain")
            response["Retry-After"] = str(error.retry_after)
            return response
    return admin.site.login(request, extra_context)
