"""Django admin for accounts. Secrets are masked: shown as set / not set, replaced only
when a new value is typed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from accounts.gateway_settings import SECRET_KEYS, merge_secrets, public_settings, secrets_state
from accounts.models import MarketDataAccount


def _secret_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


class MarketDataAccountForm(forms.ModelForm[MarketDataAccount]):
    settings = forms.JSONField(
        required=False,
        help_text="Gateway settings as JSON, without secrets (enter those below).",
    )
    password = _secret_field("Password")
    authCode = _secret_field("Auth code")

    class Meta:
        model = MarketDataAccount
        fields = ["id", "gateway_type", "settings", "priority", "is_enabled", "description", "canaries"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stored = self.instance.settings or {}
        self.initial["settings"] = public_settings(stored)
        state = secrets_state(self.instance.gateway_type or "ctp", stored)
        for key in SECRET_KEYS:
            is_set = state.get(key, bool(stored.get(key)))
            self.fields[key].help_text = (
                "Set. Leave blank to keep it; type a new value to replace it." if is_set else "Not set."
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        settings = dict(cleaned.get("settings") or {})
        for key in SECRET_KEYS:
            if cleaned.get(key):
                settings[key] = cleaned[key]
        cleaned["settings"] = merge_secrets(settings, self.instance.settings or {})
        return cleaned


@admin.register(MarketDataAccount)
class MarketDataAccountAdmin(admin.ModelAdmin[MarketDataAccount]):
    form = MarketDataAccountForm
    list_display = ["id", "gateway_type", "priority", "is_enabled", "secrets", "description", "updated_at"]
    list_editable = ["priority", "is_enabled"]
    list_filter = ["gateway_type", "is_enabled"]
    search_fields = ["id", "description"]
    ordering = ["priority", "id"]

    @admin.display(description="secrets")
    def secrets(self, account: MarketDataAccount) -> str:
        state = secrets_state(account.gateway_type, account.settings or {})
        return ", ".join(f"{key}: {'set' if is_set else 'not set'}" for key, is_set in state.items()) or "—"

    def get_readonly_fields(self, request: HttpRequest, obj: MarketDataAccount | None = None) -> list[str]:
        # The id names the account's flow-file directory and its events: fixed once created.
        return ["id"] if obj is not None else []
