"""The browser chat UI: two pages; chat/static/chat/chat.js does the rest over GraphQL."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

__all__ = ["chat_index", "chat_room"]


def chat_index(request: HttpRequest) -> HttpResponse:
    """Ask for a room name; offer sign-up and sign-in."""
    return render(request, "chat/index.html")


def chat_room(request: HttpRequest, room: str) -> HttpResponse:
    """Show a room: its history, live messages and the message box."""
    return render(request, "chat/room.html", {"room": room})
