from __future__ import annotations

from django.contrib import admin
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import RedirectView

from chat.views import chat_index, chat_room
from project.adminlogin import admin_login
from project.health import healthz
from project.metrics import metrics
from schema import schema
from schema.http import ChatGraphQLView

urlpatterns = [
    # Not permanent: browsers would cache it for good if / ever serves something else.
    path("", RedirectView.as_view(pattern_name="chat-index"), name="root"),
    # Before the admin's own: its login throttled.
    path("admin/login/", admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("healthz", healthz),
    path("metrics", metrics),
    # Token-authenticated API clients cannot send a CSRF token.
    path("graphql/", csrf_exempt(ChatGraphQLView.as_view(schema=schema)), name="graphql"),
    path("chat/", chat_index, name="chat-index"),
    re_path(r"^chat/(?P<room>[A-Za-z0-9_-]{1,64})/$", chat_room, name="chat-room"),
]
