from __future__ import annotations

from django.contrib import admin

from chat.models import AuthToken, Message, Room


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["name", "last_seq", "created_at", "last_activity_at"]
    search_fields = ["name"]
    readonly_fields = ["last_seq"]


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
