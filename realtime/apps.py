from __future__ import annotations

from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"

    def ready(self) -> None:
        # The domain publishes through a sink so that it never imports the engine.
        from chat.events import events_sink_set
        from realtime.publisher import event_publish_sync

        events_sink_set(event_publish_sync)
