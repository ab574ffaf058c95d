"""The contract list the hub subscribes (data, admin-editable)."""

from __future__ import annotations

from typing import Any

from django.db import models


class Contract(models.Model):
    vt_symbol = models.CharField(primary_key=True, max_length=64, help_text="e.g. rb2601.SHFE")
    symbol = models.CharField(max_length=48)
    exchange = models.CharField(max_length=16)
    name = models.CharField(max_length=64, blank=True, default="")
    product = models.CharField(
        max_length=16, default="期货", help_text="vn.py Product value: 期货 (futures), 期权 (option), ..."
    )
    size = models.FloatField(default=1, help_text="Contract multiplier.")
    pricetick = models.FloatField(default=0.01)
    is_subscribed = models.BooleanField(default=True, help_text="Subscribe this contract on every source.")

    class Meta:
        ordering = ["exchange", "symbol"]

    def __str__(self) -> str:
        return self.vt_symbol

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.symbol or not self.exchange:
            self.symbol, _, self.exchange = self.vt_symbol.rpartition(".")
        super().save(*args, **kwargs)

    def as_spec(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "exchange": self.exchange,
            "name": self.name or self.symbol,
            "product": self.product,
            "size": self.size,
            "pricetick": self.pricetick,
        }
