"""Monitoring data.

Trading-session calendar first (DESIGN §5): the rows operators edit in the admin. The
calendar logic itself is pure Python in ``aggregation.sessions``; ``monitoring.calendar_store``
turns these rows into a ``TradingCalendar``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from aggregation.sessions import AUCTION, CONTINUOUS, SessionRule, SessionWindow


class Exchange(models.TextChoices):
    CFFEX = "CFFEX", "CFFEX (China Financial Futures Exchange)"
    SHFE = "SHFE", "SHFE (Shanghai Futures Exchange)"
    INE = "INE", "INE (Shanghai International Energy Exchange)"
    DCE = "DCE", "DCE (Dalian Commodity Exchange)"
    CZCE = "CZCE", "CZCE (Zhengzhou Commodity Exchange)"
    GFEX = "GFEX", "GFEX (Guangzhou Futures Exchange)"
    SSE = "SSE", "SSE (Shanghai Stock Exchange options)"
    SZSE = "SZSE", "SZSE (Shenzhen Stock Exchange options)"


class SessionKind(models.TextChoices):
    AUCTION = AUCTION, "Call auction"
    CONTINUOUS = CONTINUOUS, "Continuous trading"


class SessionTemplate(models.Model):
    """One window of an exchange's or product's trading session, in Beijing time."""

    exchange = models.CharField(max_length=8, choices=Exchange.choices)
    product = models.CharField(
        max_length=16,
        blank=True,
        default="",
        help_text=(
            "Product code, e.g. rb, SR, IF; blank for the exchange-wide default. A product's day "
            "rows replace the exchange's day rows, and its night rows replace the exchange's night rows."
        ),
    )
    start = models.TimeField(help_text="Beijing time.")
    end = models.TimeField(help_text="Beijing time, exclusive. A night window may end after midnight.")
    kind = models.CharField(max_length=16, choices=SessionKind.choices, default=SessionKind.CONTINUOUS)
    is_night = models.BooleanField(
        default=False,
        help_text="Night session: held on the evening before a trading day, never before a holiday.",
    )
    note = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["exchange", "product", "is_night", "start"]
        verbose_name = "session template"

    def __str__(self) -> str:
        scope = f"{self.exchange} {self.product or '(all)'}"
        part = "night" if self.is_night else "day"
        return f"{scope} {part} {self.start:%H:%M}–{self.end:%H:%M} {self.kind}"

    def clean(self) -> None:
        self.product = self.product.strip()
        if self.start is not None and self.start == self.end:
            raise ValidationError({"end": "The window is empty: end must differ from start."})
        if not self.is_night and self.start is not None and self.end is not None and self.end < self.start:
            raise ValidationError(
                {"end": "A day window must end after it starts; tick 'is night' for a window past midnight."}
            )

    def as_rule(self) -> SessionRule:
        return SessionRule(
            exchange=self.exchange,
            product=self.product,
            window=SessionWindow(self.start, self.end, self.kind),
            is_night=self.is_night,
        )


class Holiday(models.Model):
    """A weekday on which the exchanges are closed (weekends need not be listed)."""

    date = models.DateField(unique=True)
    name = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.name}".rstrip()


class EventKind(models.TextChoices):
    STATE = "state", "State change"
    FAILOVER = "failover", "Change of primary"
    RESTART = "restart", "Hard restart"
    COMMAND = "command", "Operator command"


class Event(models.Model):
    """One thing that happened to a source or to the hub, with its reason (FR6–FR8, FR12).

    Written by the hub off the tick path (``monitoring.publisher``); read by ``/api/events``.
    """

    ts = models.DateTimeField(db_index=True)
    account = models.CharField(max_length=64, blank=True, default="", db_index=True)
    kind = models.CharField(max_length=16, choices=EventKind.choices, db_index=True)
    state_from = models.CharField(max_length=16, blank=True, default="")
    state_to = models.CharField(max_length=16, blank=True, default="")
    reason = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-ts", "-id"]

    def __str__(self) -> str:
        change = f" {self.state_from}→{self.state_to}" if self.state_from or self.state_to else ""
        return f"{self.ts:%Y-%m-%d %H:%M:%S} {self.account or 'hub'} {self.kind}{change}: {self.reason}"
