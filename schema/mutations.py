from __future__ import annotations

import strawberry
from django.contrib.auth import alogin, alogout
from django.contrib.auth.models import User

from chat import services
from chat.db import in_thread
from chat.errors import Unauthenticated
from schema.context import ChatContext, ChatInfo
from schema.types import AuthPayload, MessageType

__all__ = ["Mutation"]


async def _signed_in(context: ChatContext, user: User) -> AuthPayload:
    token = await in_thread(services.token_create)(user=user)
    if context.request is not None:
        # Browsers also get a session cookie, which the websocket handshake carries.
        await alogin(context.request, user, backend="django.contrib.auth.backends.ModelBackend")
    context.user = user
    return AuthPayload(user=user, token=token)  # type: ignore[arg-type]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create an account and sign it in.")
    async def register(self, info: ChatInfo, username: str, password: str) -> AuthPayload:
        user = await in_thread(services.user_register)(username=username, password=password)
        return await _signed_in(info.context, user)

    @strawberry.mutation(description="Sign in with a username and password.")
    async def login(self, info: ChatInfo, username: str, password: str) -> AuthPayload:
        user = await in_thread(services.user_authenticate)(username=username, password=password)
        return await _signed_in(info.context, user)

    @strawberry.mutation(
        description="Revoke the bearer token of this request and end the browser session."
    )
    async def logout(self, info: ChatInfo) -> bool:
        context = info.context
        if not context.is_authenticated:
            raise Unauthenticated("Not signed in.")
        if context.token is not None:
            await in_thread(services.token_revoke)(raw=context.token)
        if context.request is not None:
            await alogout(context.request)
        return True

    @strawberry.mutation(
        description="Post a message; public rooms are created on first use. "
        "Requires a signed-in user."
    )
    async def send_message(self, info: ChatInfo, room: str, text: str) -> MessageType:
        user = info.context.user
        if not isinstance(user, User) or not user.is_authenticated:
            raise Unauthenticated("Sign in to send messages.")
        message = await in_thread(services.message_create)(room_name=room, author=user, text=text)
        return message  # type: ignore[return-value]
