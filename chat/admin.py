from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from chat.models import AuthToken, Message, Room
from chat.services import room_access_narrowed


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["name", "last_seq", "created_at", "last_activity_at"]
    search_fields = ["name"]
    readonly_fields = ["last_seq", "access_version"]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if change:
            # Made private or members removed here: live subscriptions are re-checked
            # (any edit counts: cheaper than diffing, and rare).
            room_access_narrowed(room=form.instance)


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["room", "seq", "author", "created_at"]
    list_select_related = ["room", "author"]
    search_fields = ["room__name", "text"]
    readonly_fields = ["room", "seq", "author", "created_at"]


@admin.register(AuthToken)
class AuthTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at", "expires_at", "revoked_at"]
    readonly_fields = ["digest", "user", "created_at"]
