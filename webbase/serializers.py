"""Answers the apps share: a command accepted for the hub (accounts' start/stop/restart)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from webbase import live_state


class CommandAcceptedSerializer(serializers.Serializer[dict[str, Any]]):
    accepted = serializers.BooleanField()
    command = serializers.ChoiceField(choices=live_state.COMMANDS)
    account = serializers.CharField()
