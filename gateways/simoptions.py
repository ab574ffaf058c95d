"""Option prices for the simulated exchange: a volatility smile over the simulated underlying.

Each simulated option is priced, on every snapshot, from its underlying's current price with
the volatility its strike has on the product's smile, so the demo shows sensible Greeks and
the Greeks service's implied volatility can be checked against the volatility the simulator
used (tests/test_sim_smile.py). The models are the ones the Greeks service inverts
(docs/services.md): Black-76 on the same-month future for CFFEX index options, and
Black-Scholes-Merton on the ETF with no carry for SSE ETF options. Time to expiry is calendar
time to 15:00 (exchange time) of the last trading day over a 365-day year, as there.

The pricing formulas are the closed forms (``math.erf``): the simulator prices, it never
solves for a volatility, so no numerical library is needed in the exchange process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time

from aggregation.contract_codes import ListedContract
from aggregation.exchange_time import CHINA_TZ

# The risk-free rate the simulated market prices with: the Greeks service's default
# (MDHUB_GREEKS_RATE), so its implied volatility recovers the smile exactly but for ticks.
SIM_RATE = 0.015
YEAR_SECONDS = 365.0 * 86_400
EXPIRY_CLOSE = time(15, 0)
# The underlying of the CFFEX index options is the index future of the same month.
CFFEX_UNDERLYING = {"IO": "IF", "MO": "IM", "HO": "IH"}
# SSE ETF options: the ETF, traded in 0.001 yuan.
ETF_UNDERLYING = {"510050": "510050", "510300": "510300"}
ETF_TICK = 0.001


@dataclass(frozen=True, slots=True)
class VolSmile:
    """Volatility by log-moneyness ``k = ln(K/F)``: ``atm + skew·k + curvature·k²``, plus a
    term slope per year to expiry; equity-index smiles slope down (puts dearer)."""

    atm: float = 0.20
    skew: float = -0.30
    curvature: float = 2.0
    term: float = -0.02
    floor: float = 0.05
    cap: float = 1.50

    def vol(self, strike: float, forward: float, years: float) -> float:
        k = math.log(strike / forward)
        sigma = self.atm + self.skew * k + self.curvature * k * k + self.term * years
        return min(max(sigma, self.floor), self.cap)


SMILES: dict[str, VolSmile] = {
    "IO": VolSmile(atm=0.18),
    "MO": VolSmile(atm=0.24, skew=-0.35),
    "HO": VolSmile(atm=0.17),
    "510050": VolSmile(atm=0.17, skew=-0.25),
    "510300": VolSmile(atm=0.18, skew=-0.25),
}
DEFAULT_SMILE = VolSmile()


@dataclass(frozen=True, slots=True)
class OptionTerms:
    """What an option's price depends on besides its underlying's price and the clock."""

    underlying: str  # vt_symbol
    call: bool
    strike: float
    expiry: date  # last trading day
    spot: bool  # True: BSM on a spot (ETF); False: Black-76 on a future
    smile: VolSmile


def option_terms(listed: ListedContract) -> OptionTerms | None:
    """The terms of a listed option (None for a future)."""
    if listed.strike is None or listed.call is None:
        return None
    smile = SMILES.get(listed.product, DEFAULT_SMILE)
    future = CFFEX_UNDERLYING.get(listed.product)
    if future is not None:
        underlying = f"{future}{listed.year % 100:02d}{listed.month:02d}.{listed.exchange}"
        return OptionTerms(underlying, listed.call, listed.strike, listed.last_trading_day, False, smile)
    etf = ETF_UNDERLYING.get(listed.product, listed.product)
    return OptionTerms(
        f"{etf}.{listed.exchange}", listed.call, listed.strike, listed.last_trading_day, True, smile
    )


def years_to_expiry(expiry: date, now_ns: int) -> float:
    close = datetime.combine(expiry, EXPIRY_CLOSE, CHINA_TZ)
    return (close.timestamp() * 1e9 - now_ns) / 1e9 / YEAR_SECONDS


def _n(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def black76(forward: float, strike: float, years: float, rate: float, sigma: float, call: bool) -> float:
    """Black-76: the discounted Black price of an option on ``forward``."""
    discount = math.exp(-rate * years)
    if years <= 0 or sigma <= 0:
        return discount * max(forward - strike if call else strike - forward, 0.0)
    sd = sigma * math.sqrt(years)
    d1 = (math.log(forward / strike) + sd * sd / 2) / sd
    d2 = d1 - sd
    if call:
        return discount * (forward * _n(d1) - strike * _n(d2))
    return discount * (strike * _n(-d2) - forward * _n(-d1))


def forward_of(terms: OptionTerms, underlying: float, years: float, rate: float = SIM_RATE) -> float:
    """The forward the option is priced on: the future itself, or the ETF carried at ``rate``
    (no dividend: BSM with ``q = 0``)."""
    return underlying * math.exp(rate * max(years, 0.0)) if terms.spot else underlying


def theoretical(
    terms: OptionTerms, underlying: float, now_ns: int, rate: float = SIM_RATE
) -> tuple[float, float]:
    """``(price, sigma)`` of the option now: Black-76 on the forward at the smile's vol (BSM
    on a spot with ``q = 0`` is Black-76 on ``S·e^{rT}``)."""
    years = years_to_expiry(terms.expiry, now_ns)
    forward = forward_of(terms, underlying, years, rate)
    sigma = terms.smile.vol(terms.strike, forward, max(years, 0.0))
    return black76(forward, terms.strike, years, rate, sigma, terms.call), sigma
