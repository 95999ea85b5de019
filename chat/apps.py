from __future__ import annotations

from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # chat.signals connects the receivers that close the sockets of revoked
        # credentials.
        import chat.signals  # noqa: F401
