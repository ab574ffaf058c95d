"""Routes of the recorded-tape API (under ``/api/``)."""

from __future__ import annotations

from django.urls import URLPattern, re_path

from monitoring.tape_views import RecordingView, TicksView

urlpatterns: list[URLPattern] = [
    re_path(r"^ticks/?$", TicksView.as_view(), name="ticks"),
    re_path(r"^recording/?$", RecordingView.as_view(), name="recording"),
]
