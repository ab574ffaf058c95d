"""The connected stream clients' document (``GET /api/stream-clients/connected``, docs/access.md)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class ConnectedStreamClientSerializer(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField(
        help_text="The client's name (its CURVE User-Id); mdhub-internal: the hub's own services and bridge."
    )
    enabled = serializers.BooleanField(help_text="Whether its key is enabled now.")
    addresses = serializers.ListField(child=serializers.CharField(), help_text="The hosts it connected from.")
    connections = serializers.IntegerField(help_text="Connections accepted since the hub started.")
    open_connections = serializers.IntegerField(
        help_text="TCP connections open now from its hosts (clients on one host share this count)."
    )
    subscriptions = serializers.ListField(
        child=serializers.CharField(),
        help_text="Its subscriptions now, at most 100; conflated ones read conflated:<prefix>.",
    )
    subscription_count = serializers.IntegerField()
    upstream = serializers.IntegerField(
        help_text="Contracts its subscriptions made the hub subscribe upstream."
    )
    refused_subscriptions = serializers.IntegerField(help_text="Subscriptions outside its entitlements.")
    requests = serializers.IntegerField(
        help_text="Snapshot, gap-fill, resume and conflation requests served."
    )
    refused_requests = serializers.IntegerField()
    quota_refusals = serializers.IntegerField()
    drops = serializers.IntegerField(help_text="Conflated values it could not take: its queue was full.")
    conflation_ms = serializers.IntegerField(
        help_text="Its conflation interval in ms; 0: it reads every tick."
    )
    last_activity = serializers.FloatField(
        help_text="When it last connected, subscribed or asked (epoch seconds)."
    )


class ConnectedStreamClientsSerializer(serializers.Serializer[dict[str, Any]]):
    engine = serializers.ChoiceField(choices=["online", "offline"])
    curve = serializers.BooleanField(
        help_text="Whether the hub runs with CURVE (MDHUB_CURVE). Off, it does not know who reads the stream "
        "and clients is empty."
    )
    updated_at = serializers.FloatField(allow_null=True, help_text="The hub's snapshot time (epoch seconds).")
    clients = ConnectedStreamClientSerializer(many=True)
