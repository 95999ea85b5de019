from __future__ import annotations

from django.contrib import admin
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from project.health import healthz
from project.metrics import metrics
from schema import schema
from schema.views import ChatGraphQLView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz),
    path("metrics", metrics),
    # Token-authenticated API clients cannot send a CSRF token.
    path("graphql/", csrf_exempt(ChatGraphQLView.as_view(schema=schema))),
]
