"""GET /metrics: this process's Prometheus metrics (see chat.metrics)."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

import chat.metrics  # noqa: F401  (registers the chat_* metrics before the first scrape)

__all__ = ["metrics"]


async def metrics(request: HttpRequest) -> HttpResponse:
    """Render the registry in the Prometheus text format: 404 unless enabled, 401 without
    the bearer token when CHAT_METRICS_TOKEN is set."""
    chat = settings.CHAT
    if not chat["METRICS_ENABLED"]:
        raise Http404
    token = chat["METRICS_TOKEN"]
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    # A few hundred samples: cheaper than a thread hop.
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
