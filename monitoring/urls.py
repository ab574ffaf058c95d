"""Routes of the live-state API (under ``/api/``) and ``/metrics`` (at the top level, where
Prometheus looks by default)."""

from __future__ import annotations

from django.urls import URLPattern, re_path

from monitoring.records_views import BarsView, SmileView
from monitoring.speed_views import ContractListView, SourceHistoryView, SourceSpeedView, StateTimelineView
from monitoring.views import EventListView, GatewaysView, LogsView, MetricsView

# With or without a trailing slash, like /api/accounts: scripts and browsers differ.
urlpatterns: list[URLPattern] = [
    re_path(r"^gateways/?$", GatewaysView.as_view(), name="gateways"),
    re_path(r"^events/?$", EventListView.as_view(), name="events"),
    re_path(r"^logs/?$", LogsView.as_view(), name="logs"),
    re_path(r"^sources/speed/?$", SourceSpeedView.as_view(), name="sources-speed"),
    re_path(r"^sources/history/?$", SourceHistoryView.as_view(), name="sources-history"),
    re_path(r"^sources/timeline/?$", StateTimelineView.as_view(), name="sources-timeline"),
    re_path(r"^contracts/?$", ContractListView.as_view(), name="contracts"),
    re_path(r"^bars/?$", BarsView.as_view(), name="bars"),
    re_path(r"^smile/?$", SmileView.as_view(), name="smile"),
]

metrics_urlpatterns: list[URLPattern] = [
    re_path(r"^metrics/?$", MetricsView.as_view(), name="metrics"),
]
