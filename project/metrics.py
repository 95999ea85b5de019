"""GET /metrics: this process's Prometheus metrics (see chat.metrics)."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

import chat.metrics  # noqa: F401  (registers the chat_* metrics before the first scrape)

__all__ = ["metrics"]


async def metrics(request: HttpRequest) -> HttpResponse:
    """Render the registry in the Prometheus text format (CHAT_METRICS_ENABLED)."""
    if not settings.CHAT["METRICS_ENABLED"]:
        raise Http404
    # A few hundred samples: cheaper than a thread hop.
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
