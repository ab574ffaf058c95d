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
    # From the contract universe (aggregation.universe_store): a broker's instrument query
    # or, without a trading login, the listing rules. Blank for an admin entry.
    product_code = models.CharField(
        max_length=16, blank=True, default="", help_text="e.g. rb, IF, IO, 510050"
    )
    expiry = models.DateField(
        null=True, blank=True, help_text="Last trading day (exchange date); the row leaves after it."
    )
    option_underlying = models.CharField(max_length=32, blank=True, default="")
    option_strike = models.FloatField(null=True, blank=True)
    option_type = models.CharField(max_length=1, blank=True, default="", help_text="C call, P put")
    from_universe = models.BooleanField(
        default=False, help_text="Listed by the universe refresh (not entered by hand)."
    )

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
            # The engine's universe reads these (engine.universe_roll.table_instruments).
            "product_code": self.product_code,
            "expiry": self.expiry.isoformat() if self.expiry else "",
        }


class ProductSubscription(models.Model):
    """A subscription by name: ``rb`` (every listed rb contract) or ``rb.main`` (its main
    contract by open interest, re-chosen daily): names that outlive every roll."""

    name = models.CharField(
        primary_key=True, max_length=32, help_text="rb (every listed contract) or rb.main"
    )
    is_enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
