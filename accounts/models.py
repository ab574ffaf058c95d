"""The market-data accounts the hub logs in to (FR1, DESIGN §7)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from accounts.gateway_settings import validate_canaries, validate_settings


class GatewayType(models.TextChoices):
    CTP = "ctp", "CTP (futures)"
    SOPT = "sopt", "SOPT (stock options)"
    SIM = "sim", "Simulated exchange"


class MarketDataAccount(models.Model):
    id = models.SlugField(
        primary_key=True,
        max_length=64,
        help_text="Short unique name, e.g. ctp-main. Letters, digits, - and _.",
    )
    gateway_type = models.CharField(max_length=8, choices=GatewayType.choices)
    settings = models.JSONField(default=dict, blank=True)
    priority = models.IntegerField(
        default=10,
        validators=[MinValueValidator(0)],
        help_text="Lower is preferred: the best-priority healthy source is the primary.",
    )
    is_enabled = models.BooleanField(default=False, help_text="Whether the hub runs this account.")
    description = models.TextField(blank=True, default="")
    canaries = models.JSONField(
        default=list,
        blank=True,
        help_text="High-liquidity vt_symbols whose ticks prove this source alive, e.g. rb2501.SHFE.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "market_data_accounts"
        ordering = ["priority", "id"]
        verbose_name = "market data account"

    def __str__(self) -> str:
        return f"{self.id} ({self.gateway_type})"

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        problems = validate_settings(self.gateway_type, self.settings)
        if problems:
            errors["settings"] = [f"{name}: {reason}" for name, reason in problems.items()]
        canary_problem = validate_canaries(self.canaries)
        if canary_problem:
            errors["canaries"] = [canary_problem]
        if errors:
            raise ValidationError(errors)
