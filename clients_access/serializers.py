"""REST representation of stream clients. The secret key goes out once, in the create
response, when the hub made the key pair; it is never stored."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from aggregation.curve import INTERNAL_CLIENT
from clients_access.keys import new_key_pair
from clients_access.models import RESERVED_NAME, StreamClient, validate_prefixes


class StreamClientSerializer(serializers.ModelSerializer[StreamClient]):
    public_key = serializers.CharField(
        max_length=40,
        required=False,
        help_text="The client's CURVE public key (Z85). Leave it out at creation to have one made: "
        "the secret key then comes back once, in secret_key.",
    )
    secret_key = serializers.SerializerMethodField(
        help_text="Only in the response that created the key pair; never again (it is not stored)."
    )

    class Meta:
        model = StreamClient
        fields = [
            "name",
            "public_key",
            "secret_key",
            "is_enabled",
            "prefixes",
            "max_subscriptions",
            "max_upstream",
            "requests_per_second",
            "description",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def get_fields(self) -> dict[str, serializers.Field]:  # type: ignore[type-arg]
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list):
            fields["name"].read_only = True  # the User-Id the hub logs and counts under
        return fields

    def get_secret_key(self, client: StreamClient) -> str | None:
        secret: str | None = getattr(client, "_new_secret", None)
        return secret

    def validate_name(self, value: str) -> str:
        if value == INTERNAL_CLIENT:
            raise serializers.ValidationError(RESERVED_NAME)
        return value

    def validate_prefixes(self, value: Any) -> Any:
        problem = validate_prefixes(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def validate_public_key(self, value: str) -> str:
        from django.core.exceptions import ValidationError

        from clients_access.models import validate_public_key

        try:
            validate_public_key(value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        return value

    def create(self, validated_data: dict[str, Any]) -> StreamClient:
        secret = None
        if not validated_data.get("public_key"):
            keys = new_key_pair()
            validated_data["public_key"], secret = keys.public, keys.secret
        client = super().create(validated_data)
        client._new_secret = secret  # type: ignore[attr-defined]
        return client
