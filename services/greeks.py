"""Implied volatility and Greeks per option: ``greeks.<vt_symbol>`` (docs/services.md).

Pricing is vollib's (Peter Jäckel's "Let's Be Rational" implied volatility, analytical
Greeks), never a hand-written solver:

* an option on a future: Black-76 on the future's price (its mid, else its last);
* an option on a spot underlying (SSE/SZSE ETF options): Black-Scholes-Merton on the spot,
  with the carry ``q`` implied by the forward from put-call parity at the strike where call
  and put are closest (``F = K + e^{rT}(C - P)``), or the configured dividend yield when no
  strike of that expiry has both quotes;
* CFFEX index options: Black-76 on the parity forward when there is one (it is the market's
  forward for that expiry), else on the same-month index future.

IV comes from the mid and from the last trade; the Greeks use the mid's IV, else the last's.
When an IV cannot be found the payload says why (``iv_mid_reason``, ``iv_last_reason``,
``reason``), and the number is nil: no quote, no trade, no underlying, expired, below
intrinsic, above the no-arbitrage maximum. Units are vollib's: vega and rho per 1 point
(0.01) of vol / rate, theta per calendar day.

Published on every option tick or underlying move, at most once per ``throttle`` seconds per
option; a change held back by the throttle goes out from ``on_timer`` when it expires.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from py_lets_be_rational.exceptions import AboveMaximumException, BelowIntrinsicException
from vollib.black.greeks import analytical as black_greeks
from vollib.black.implied_volatility import implied_volatility as black_iv
from vollib.black_scholes_merton.greeks import analytical as bsm_greeks
from vollib.black_scholes_merton.implied_volatility import implied_volatility as bsm_iv
from vollib.helpers.exceptions import PriceIsAboveMaximum, PriceIsBelowIntrinsic

from services.base import Record, Service
from services.option_symbols import BSM, OptionContract, parse_option
from services.sections import CHINA_TZ

if TYPE_CHECKING:
    from aggregation.sessions import TradingCalendar

YEAR_SECONDS = 365.0 * 86_400
# Options expire at the close of their last trading day.
EXPIRY_CLOSE = time(15, 0)
NO_QUOTE = "no quote"
NO_TRADE = "no trade"
NO_UNDERLYING = "no underlying price"
EXPIRED = "expired"
BELOW_INTRINSIC = "price below intrinsic value"
ABOVE_MAXIMUM = "price above the no-arbitrage maximum"


@dataclass(slots=True)
class Quote:
    bid: float
    ask: float
    last: float
    volume: float
    time_ns: int

    @property
    def mid(self) -> float | None:
        if self.bid > 0 and self.ask > 0 and self.ask >= self.bid:
            return (self.bid + self.ask) / 2
        return None

    @property
    def price(self) -> float | None:
        """What an underlying is worth now: the mid, else the last trade."""
        mid = self.mid
        if mid is not None:
            return mid
        return self.last if self.last > 0 else None


@dataclass(frozen=True, slots=True)
class Forward:
    model: str  # "black76" or "bsm"
    underlying_price: float  # F for Black-76, S for BSM
    forward: float
    carry: float  # q for BSM (0 for Black-76)
    source: str  # "futures", "parity", "carry"


def implied_vol(
    price: float, forward: Forward, strike: float, t: float, rate: float, call: bool
) -> tuple[float | None, str | None]:
    """``(iv, None)``, or ``(None, reason)``."""
    flag = "c" if call else "p"
    try:
        if forward.model == BSM:
            iv = bsm_iv(price, forward.underlying_price, strike, t, rate, forward.carry, flag)
        else:
            iv = black_iv(price, forward.forward, strike, rate, t, flag)
    # vollib signals the bounds with its own exceptions or lets_be_rational's, by path.
    except (PriceIsBelowIntrinsic, BelowIntrinsicException):
        return None, BELOW_INTRINSIC
    except (PriceIsAboveMaximum, AboveMaximumException):
        return None, ABOVE_MAXIMUM
    iv = float(iv)
    if not math.isfinite(iv) or iv <= 0:
        return None, BELOW_INTRINSIC
    return iv, None


def greeks_at(
    forward: Forward, strike: float, t: float, rate: float, sigma: float, call: bool
) -> dict[str, float]:
    flag = "c" if call else "p"
    if forward.model == BSM:
        s, q = forward.underlying_price, forward.carry
        values = {
            name: getattr(bsm_greeks, name)(flag, s, strike, t, rate, sigma, q)
            for name in ("delta", "gamma", "vega", "theta", "rho")
        }
    else:
        f = forward.forward
        values = {
            name: getattr(black_greeks, name)(flag, f, strike, t, rate, sigma)
            for name in ("delta", "gamma", "vega", "theta", "rho")
        }
    return {name: float(value) for name, value in values.items()}


class GreeksService(Service):
    """IV and Greeks for every option in the stream whose symbol says what it is."""

    name = "greeks"

    def __init__(
        self,
        calendar: TradingCalendar,
        rate: float = 0.015,
        dividend: float = 0.0,
        throttle: float = 0.5,
        table: Mapping[str, OptionContract] | None = None,
        prefixes: tuple[str, ...] = ("tick.",),
    ) -> None:
        super().__init__()
        self.calendar = calendar
        self.rate = rate
        self.dividend = dividend
        self.throttle = throttle
        self.table = dict(table or {})
        self.prefixes = prefixes
        self.quotes: dict[str, Quote] = {}
        self.options: dict[str, OptionContract] = {}
        self.not_options: set[str] = set()
        self.by_underlying: dict[str, set[str]] = {}
        # (underlying, expiry) → strike → [call vt_symbol, put vt_symbol]: the parity pairs.
        self.chains: dict[tuple[str, date], dict[float, list[str | None]]] = {}
        self.last_sent: dict[str, datetime] = {}
        self.pending: set[str] = set()

    def topics(self) -> list[str]:
        return list(self.prefixes)

    def on_tick(self, tick: dict[str, Any], now: datetime) -> list[Record]:
        try:
            symbol = str(tick["symbol"])
            exchange = str(tick["exchange"])
            quote = Quote(
                float(tick.get("bid_price_1") or 0.0),
                float(tick.get("ask_price_1") or 0.0),
                float(tick.get("last_price") or 0.0),
                float(tick.get("volume") or 0.0),
                int(tick["datetime"]),
            )
        except (KeyError, TypeError, ValueError):
            self.counters["bad_tick"] += 1
            return []
        vt_symbol = f"{symbol}.{exchange}"
        self.quotes[vt_symbol] = quote
        option = self._option(symbol, exchange, now)
        touched = set(self.by_underlying.get(vt_symbol, ()))
        if option is not None:
            touched.add(vt_symbol)
            # A parity pair's quote moves the forward of its whole expiry.
            if option.model == BSM or option.exchange == "CFFEX":
                for pair in self.chains.get((option.underlying, option.expiry), {}).values():
                    touched.update(v for v in pair if v is not None)
        out: list[Record] = []
        for name in touched:
            sent = self.last_sent.get(name)
            if sent is not None and (now - sent).total_seconds() < self.throttle:
                self.pending.add(name)
                continue
            out += self._publish(name, now)
        return out

    def on_timer(self, now: datetime) -> list[Record]:
        out: list[Record] = []
        for name in list(self.pending):
            sent = self.last_sent.get(name)
            if sent is None or (now - sent).total_seconds() >= self.throttle:
                out += self._publish(name, now)
        return out

    # -- the universe ----------------------------------------------------------------------

    def _option(self, symbol: str, exchange: str, now: datetime) -> OptionContract | None:
        vt_symbol = f"{symbol}.{exchange}"
        known = self.options.get(vt_symbol)
        if known is not None or vt_symbol in self.not_options:
            return known
        option = parse_option(
            symbol, exchange, now.astimezone(CHINA_TZ).date(), self._is_trading_day, self.table
        )
        if option is None:
            self.not_options.add(vt_symbol)
            return None
        self.options[vt_symbol] = option
        self.by_underlying.setdefault(option.underlying, set()).add(vt_symbol)
        pair = self.chains.setdefault((option.underlying, option.expiry), {}).setdefault(
            option.strike, [None, None]
        )
        pair[0 if option.call else 1] = vt_symbol
        return option

    def _is_trading_day(self, d: date) -> bool:
        return self.calendar.is_trading_day(d)

    # -- pricing ---------------------------------------------------------------------------

    def years_to_expiry(self, option: OptionContract, now: datetime) -> float:
        close = datetime.combine(option.expiry, EXPIRY_CLOSE, CHINA_TZ)
        return (close - now).total_seconds() / YEAR_SECONDS

    def trading_days_to_expiry(self, option: OptionContract, now: datetime) -> int:
        """Trading days from today (counted) to the expiry day (counted)."""
        d, count = now.astimezone(CHINA_TZ).date(), 0
        while d <= option.expiry and count < 2000:
            count += self.calendar.is_trading_day(d)
            d += timedelta(days=1)
        return count

    def parity_forward(self, option: OptionContract, t: float) -> float | None:
        best: tuple[float, float] | None = None
        for strike, (call, put) in self.chains.get((option.underlying, option.expiry), {}).items():
            c = self.quotes.get(call).mid if call and call in self.quotes else None  # type: ignore[union-attr]
            p = self.quotes.get(put).mid if put and put in self.quotes else None  # type: ignore[union-attr]
            if c is None or p is None:
                continue
            gap = abs(c - p)
            if best is None or gap < best[0]:
                best = (gap, strike + math.exp(self.rate * t) * (c - p))
        return best[1] if best is not None and best[1] > 0 else None

    def forward(self, option: OptionContract, t: float) -> Forward | None:
        underlying = self.quotes.get(option.underlying)
        spot = underlying.price if underlying is not None else None
        parity = self.parity_forward(option, t) if option.model == BSM or option.exchange == "CFFEX" else None
        if option.model == BSM:
            if spot is None:
                return None
            if parity is not None:
                return Forward(BSM, spot, parity, self.rate - math.log(parity / spot) / t, "parity")
            return Forward(
                BSM, spot, spot * math.exp((self.rate - self.dividend) * t), self.dividend, "carry"
            )
        if parity is not None:
            return Forward("black76", parity, parity, 0.0, "parity")
        if spot is None:
            return None
        return Forward("black76", spot, spot, 0.0, "futures")

    def compute(self, vt_symbol: str, now: datetime) -> dict[str, Any]:
        option = self.options[vt_symbol]
        quote = self.quotes[vt_symbol]
        t = self.years_to_expiry(option, now)
        mid = quote.mid
        last = quote.last if quote.last > 0 and quote.volume > 0 else None
        fields: dict[str, Any] = {
            "symbol": option.symbol,
            "exchange": option.exchange,
            "datetime": quote.time_ns,
            "underlying": option.underlying,
            "option_type": "C" if option.call else "P",
            "strike": option.strike,
            "expiry": option.expiry.isoformat(),
            "days_to_expiry": t * 365.0,
            "trading_days_to_expiry": self.trading_days_to_expiry(option, now),
            "rate": self.rate,
            "mid": mid,
            "last": last,
        }
        names = ("model", "underlying_price", "forward", "carry", "forward_source")
        values: dict[str, Any] = dict.fromkeys(
            (*names, "iv_mid", "iv_last", "delta", "gamma", "vega", "theta", "rho")
        )
        fields.update(values)
        forward = self.forward(option, t) if t > 0 else None
        reason: str | None = None
        if t <= 0:
            reason = EXPIRED
        elif forward is None:
            reason = NO_UNDERLYING
        if reason is not None:
            fields.update(iv_mid_reason=reason, iv_last_reason=reason, reason=reason)
            return fields
        assert forward is not None
        fields.update(
            model=forward.model,
            underlying_price=forward.underlying_price,
            forward=forward.forward,
            carry=forward.carry,
            forward_source=forward.source,
        )
        iv_mid, mid_reason = (
            (None, NO_QUOTE)
            if mid is None
            else implied_vol(mid, forward, option.strike, t, self.rate, option.call)
        )
        iv_last, last_reason = (
            (None, NO_TRADE)
            if last is None
            else implied_vol(last, forward, option.strike, t, self.rate, option.call)
        )
        fields.update(iv_mid=iv_mid, iv_last=iv_last, iv_mid_reason=mid_reason, iv_last_reason=last_reason)
        sigma = iv_mid if iv_mid is not None else iv_last
        if sigma is None:
            fields["reason"] = mid_reason
            return fields
        fields.update(greeks_at(forward, option.strike, t, self.rate, sigma, option.call))
        fields["reason"] = None
        return fields

    def _publish(self, vt_symbol: str, now: datetime) -> list[Record]:
        self.pending.discard(vt_symbol)
        if vt_symbol not in self.quotes:
            return []  # an option whose own quote has not come yet
        self.last_sent[vt_symbol] = now
        fields = self.compute(vt_symbol, now)
        underlying = self.quotes.get(self.options[vt_symbol].underlying)
        # The record's time must not go back per topic (the hub's first-arrival rule): the
        # later of the option's and its underlying's exchange times.
        time_ns = max(fields["datetime"], underlying.time_ns if underlying else 0)
        fields["datetime"] = time_ns
        if fields["reason"] is not None:
            self.counters[f"no_iv:{fields['reason']}"] += 1
        return [Record(f"greeks.{vt_symbol}", time_ns, fields)]
