"""Baseline: Strawberry's documented Channels subscription (``listen_to_channel``)."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

from collections.abc import AsyncGenerator

import strawberry
from channels.layers import get_channel_layer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application
from django.urls import path
from strawberry.channels import GraphQLWSConsumer
from strawberry.types import Info

django_asgi_app = get_asgi_application()


@strawberry.type
class ChatMessage:
    room: str
    text: str


@strawberry.type
class Query:
    hello: str = "world"


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def send_message(self, room: str, text: str) -> bool:
        layer = get_channel_layer()
        assert layer is not None
        await layer.group_send(f"chat_{room}", {"type": "chat.message", "room": room, "text": text})
        return True


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def message_added(self, info: Info, room: str) -> AsyncGenerator[ChatMessage, None]:
        ws = info.context["ws"]
        async with ws.listen_to_channel("chat.message", groups=[f"chat_{room}"]) as messages:
            async for message in messages:
                yield ChatMessage(room=message["room"], text=message["text"])


schema = strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription)

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter([path("graphql/", GraphQLWSConsumer.as_asgi(schema=schema))]),
    }
)
