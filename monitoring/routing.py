"""WebSocket routes (``/ws/``)."""

from __future__ import annotations

from typing import Any

from django.urls import re_path

from monitoring.consumers import LiveConsumer

websocket_urlpatterns: list[Any] = [
    re_path(r"^ws/?$", LiveConsumer.as_asgi()),
]
