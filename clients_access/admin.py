"""Django admin for stream clients. A client added without a public key gets a fresh key pair;
its secret key is shown once, in the message after saving, and is not stored."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from clients_access.keys import new_key_pair
from clients_access.models import StreamClient


class StreamClientForm(forms.ModelForm[StreamClient]):
    public_key = forms.CharField(
        max_length=40,
        required=False,
        help_text="Leave empty to have a key pair made (its secret is shown once after saving).",
    )

    class Meta:
        model = StreamClient
        fields = [
            "name",
            "public_key",
            "is_enabled",
            "prefixes",
            "max_subscriptions",
            "max_upstream",
            "requests_per_second",
            "description",
        ]

    def clean_public_key(self) -> str:
        key: str = self.cleaned_data.get("public_key") or ""
        if not key and self.instance._state.adding:
            keys = new_key_pair()
            self.new_secret = keys.secret
            return keys.public
        return key or self.instance.public_key


@admin.register(StreamClient)
class StreamClientAdmin(admin.ModelAdmin[StreamClient]):
    form = StreamClientForm
    list_display = [
        "name",
        "is_enabled",
        "prefixes",
        "max_subscriptions",
        "requests_per_second",
        "updated_at",
    ]
    list_editable = ["is_enabled"]
    search_fields = ["name", "description", "public_key"]

    def save_model(self, request: HttpRequest, obj: StreamClient, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        secret = getattr(form, "new_secret", None)
        if secret:
            messages.warning(
                request,
                f"Secret key of {obj.name} (shown once, not stored; give it to the client's owner): {secret}",
            )

    def get_readonly_fields(self, request: HttpRequest, obj: StreamClient | None = None) -> list[str]:
        return ["name"] if obj is not None else []
