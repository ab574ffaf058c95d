"""REST representation of accounts. Secrets go in, never out."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.gateway_settings import (
    merge_secrets,
    public_settings,
    secrets_state,
    validate_canaries,
    validate_settings,
)
from accounts.models import MarketDataAccount


class MarketDataAccountSerializer(serializers.ModelSerializer[MarketDataAccount]):
    secrets_set = serializers.SerializerMethodField(
        help_text="Which secrets are stored (true) or missing (false); their values are never returned."
    )

    class Meta:
        model = MarketDataAccount
        fields = [
            "id",
            "gateway_type",
            "settings",
            "secrets_set",
            "priority",
            "is_enabled",
            "description",
            "canaries",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def get_secrets_set(self, account: MarketDataAccount) -> dict[str, bool]:
        return secrets_state(account.gateway_type, account.settings or {})

    def get_fields(self) -> dict[str, serializers.Field]:  # type: ignore[type-arg]
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list):
            # The primary key names the account everywhere (URLs, flow files, events).
            fields["id"].read_only = True
        return fields

    def to_representation(self, instance: MarketDataAccount) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["settings"] = public_settings(instance.settings or {})
        return data

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance if isinstance(self.instance, MarketDataAccount) else None
        gateway_type = attrs.get("gateway_type", instance.gateway_type if instance else "")
        settings = attrs.get("settings", instance.settings if instance else {})
        if instance is not None and isinstance(settings, dict):
            settings = merge_secrets(settings, instance.settings or {})
        problems = validate_settings(gateway_type, settings)
        if problems:
            raise serializers.ValidationError(
                {"settings": {name: [reason] for name, reason in problems.items()}}
            )
        attrs["settings"] = settings
        return attrs

    def validate_canaries(self, value: Any) -> Any:
        problem = validate_canaries(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value
