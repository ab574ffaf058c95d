"""The simulated exchange prices its option chains from a volatility smile over their moving
underlying, and the Greeks service's implied volatility recovers that smile (gateways/simoptions.py)."""

from __future__ import annotations

import math
import random
from datetime import date, datetime
from typing import Any

import pytest

from aggregation.exchange_time import CHINA_TZ
from aggregation.wire import datetime_ns
from gateways.simexchange import ContractSim, contract_universe, underlying_sims
from gateways.simoptions import SIM_RATE, forward_of, years_to_expiry
from services.calendar import default_calendar
from services.greeks import GreeksService
from services.option_symbols import BSM, OptionContract

DEC_1 = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 10, 0, 0, tzinfo=CHINA_TZ)


def market(count: int = 400) -> tuple[list[ContractSim], list[ContractSim]]:
    rng = random.Random(5)
    sims = [ContractSim(p, rng) for p in contract_universe(count, DEC_1)]
    return sims, underlying_sims(sims, rng)


def sse_table(sims: list[ContractSim]) -> dict[str, OptionContract]:
    """The SSE contract table a gateway's ContractData would give (the codes say nothing)."""
    table = {}
    for sim in sims:
        terms, p = sim.product.terms, sim.product
        if terms is not None and terms.spot:
            table[f"{p.symbol}.{p.exchange}"] = OptionContract(
                p.symbol, p.exchange, terms.underlying, terms.call, terms.strike, terms.expiry, BSM
            )
    return table


def test_the_greeks_service_recovers_the_simulators_smile_within_the_tick_size() -> None:
    sims, hidden = market()
    now_ns = datetime_ns(NOW)
    service = GreeksService(default_calendar(), rate=SIM_RATE, throttle=0.0, table=sse_table(sims))
    # The underlyings move first (a few steps of their walk), then every option is quoted.
    for _ in range(5):
        for sim in [*hidden, *(s for s in sims if s.product.terms is None)]:
            tick = sim.step(now_ns)
    for sim in [*hidden, *(s for s in sims if s.product.terms is None)]:
        service.on_tick(sim.step(now_ns), NOW)
    records: dict[str, dict[str, Any]] = {}
    for sim in sims:
        if sim.product.terms is not None:
            tick = sim.step(now_ns)
            for record in service.on_tick(tick, NOW):
                records[record.topic] = record.fields
    checked = {"CFFEX": 0, "SSE": 0}
    for sim in sims:
        terms = sim.product.terms
        if terms is None or sim.underlying is None:
            continue
        fields = records[f"greeks.{sim.product.symbol}.{sim.product.exchange}"]
        years = years_to_expiry(terms.expiry, now_ns)
        truth = terms.smile.vol(terms.strike, forward_of(terms, sim.underlying.price, years), years)
        if fields["iv_mid"] is None:
            # Only a quote the tick size leaves empty (bid at zero) may lack an IV, and it says so.
            assert fields["iv_mid_reason"] == "no quote" and tick is not None
            continue
        # The mid is within half a tick of the smile's price, and the parity forward within
        # e^{rT} ticks of the underlying: that much price error, over vega, is what IV may miss.
        tick_size = sim.product.tick
        vega = fields["vega"] * 100  # vollib's vega is per 0.01 of vol
        tolerance = (0.5 + math.exp(SIM_RATE * years)) * tick_size / vega + 1e-6
        assert fields["iv_mid"] == pytest.approx(truth, abs=tolerance), (sim.product.symbol, fields)
        if abs(math.log(terms.strike / sim.underlying.price)) < 0.02:
            # Near the money the tick is nothing beside vega: IV within 0.2 vol points.
            assert abs(fields["iv_mid"] - truth) < 0.002, (sim.product.symbol, fields)
            assert 0.1 < fields["iv_mid"] < 0.4 and 0.25 < abs(fields["delta"]) < 0.75
        checked[sim.product.exchange] += 1
    assert checked["CFFEX"] >= 20 and checked["SSE"] >= 20, checked


def test_an_options_price_follows_its_underlying_and_its_smile_slopes_down() -> None:
    sims, _ = market()
    now_ns = datetime_ns(NOW)
    call = next(s for s in sims if s.product.symbol == "IO2612-C-4600")
    put = next(s for s in sims if s.product.symbol == "IO2612-P-4600")
    assert call.underlying is not None and call.underlying is put.underlying
    assert call.underlying.product.symbol == "IF2612"
    before = call.step(now_ns)["last_price"], put.step(now_ns)["last_price"]
    call.underlying.price += 40.0
    after = call.step(now_ns)["last_price"], put.step(now_ns)["last_price"]
    assert after[0] > before[0] + 10 and after[1] < before[1] - 10
    terms = call.product.terms
    assert terms is not None
    # Equity-index smile: low strikes (puts' wing) dearer than high ones.
    assert (
        terms.smile.vol(4200, 4600, 0.1) > terms.smile.vol(4600, 4600, 0.1) > terms.smile.vol(4800, 4600, 0.1)
    )


def test_an_option_without_an_underlying_still_walks_in_ticks() -> None:
    # ContractSim alone (as the fast-path tests use it): the old random walk, within limits.
    rng = random.Random(2)
    product = next(p for p in contract_universe(60, DEC_1) if p.is_option)
    sim = ContractSim(product, rng)
    snaps = [sim.step(datetime_ns(NOW)) for _ in range(50)]
    assert all(sim.limit_down <= s["last_price"] <= sim.limit_up for s in snaps)
