"""IV and Greeks (services.greeks) against textbook values and vollib's own reference."""

from __future__ import annotations

import json
import math
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from vollib.black import black
from vollib.black_scholes_merton import black_scholes_merton as bsm_price
from vollib.black_scholes_merton.greeks import analytical as bsm_greeks

from aggregation.sessions import default_calendar
from aggregation.wire import datetime_ns
from services.greeks import ABOVE_MAXIMUM, BELOW_INTRINSIC, NO_QUOTE, NO_UNDERLYING, GreeksService
from services.option_symbols import BLACK76, BSM, load_contract_table, option_expiry, parse_option
from services.sections import CHINA_TZ

CALENDAR = default_calendar()
TODAY = date(2026, 3, 9)


def quote(
    vt_symbol: str, now: datetime, bid: float, ask: float, last: float = 0.0, volume: float = 0.0
) -> dict[str, Any]:
    symbol, exchange = vt_symbol.rsplit(".", 1)
    return {
        "symbol": symbol,
        "exchange": exchange,
        "datetime": datetime_ns(now),
        "bid_price_1": bid,
        "ask_price_1": ask,
        "last_price": last,
        "volume": volume,
    }


def half_a_year_before(expiry: date) -> datetime:
    return datetime.combine(expiry, datetime.min.time().replace(hour=15), CHINA_TZ) - timedelta(days=182.5)


@pytest.mark.parametrize(
    ("symbol", "exchange", "underlying", "call", "strike", "expiry"),
    [
        ("IO2612-C-4000", "CFFEX", "IF2612.CFFEX", True, 4000, date(2026, 12, 18)),
        ("MO2606-P-6000", "CFFEX", "IM2606.CFFEX", False, 6000, date(2026, 6, 22)),  # 19th: Dragon Boat
        ("m2609-C-3000", "DCE", "m2609.DCE", True, 3000, date(2026, 8, 18)),
        ("si2607-P-15000", "GFEX", "si2607.GFEX", False, 15000, date(2026, 6, 5)),
        ("cu2605C80000", "SHFE", "cu2605.SHFE", True, 80000, date(2026, 4, 24)),
        ("SR605C6000", "CZCE", "SR605.CZCE", True, 6000, date(2026, 4, 13)),
        ("TA609P5000", "CZCE", "TA609.CZCE", False, 5000, date(2026, 8, 12)),
    ],
)
def test_it_parses_option_symbols_of_every_exchange(
    symbol: str, exchange: str, underlying: str, call: bool, strike: float, expiry: date
) -> None:
    option = parse_option(symbol, exchange, TODAY, CALENDAR.is_trading_day)
    assert option is not None
    assert (option.underlying, option.call, option.strike, option.expiry) == (
        underlying,
        call,
        strike,
        expiry,
    )
    assert option.model == BLACK76


@pytest.mark.parametrize(
    ("symbol", "exchange"),
    [
        ("rb2605", "SHFE"),
        ("SR605", "CZCE"),
        ("IF2612", "CFFEX"),
        ("10008123", "SSE"),
        ("m2613-C-3000", "DCE"),
    ],
)
def test_futures_and_unknown_codes_are_not_options(symbol: str, exchange: str) -> None:
    assert parse_option(symbol, exchange, TODAY, CALENDAR.is_trading_day) is None


def test_sse_options_come_from_the_contract_table(tmp_path: Path) -> None:
    path = tmp_path / "contracts.json"
    row = {"symbol": "10008123", "exchange": "SSE", "underlying": "510050", "option_type": "C"}
    path.write_text(json.dumps([{**row, "strike": 2.9, "expiry": "2026-03-25"}]))
    table = load_contract_table(path)
    option = parse_option("10008123", "SSE", TODAY, CALENDAR.is_trading_day, table)
    assert option is not None and option.underlying == "510050.SSE" and option.model == BSM
    assert option_expiry("SSE", 2026, 3, CALENDAR.is_trading_day) == date(2026, 3, 25)


def test_black76_iv_recovers_vollibs_reference_price_and_greeks_match_vollib() -> None:
    # vollib's own doctest: F = K = 100, t = 0.5, r = 0.02, sigma = 0.2 → 5.5811067246.
    expiry = date(2026, 8, 18)
    now = half_a_year_before(expiry)
    service = GreeksService(CALENDAR, rate=0.02, throttle=0)
    price = black("c", 100, 100, 0.5, 0.02, 0.2)
    assert price == pytest.approx(5.5811067246, abs=1e-9)
    service.on_tick(quote("m2609.DCE", now, 99.5, 100.5), now)
    [record] = service.on_tick(quote("m2609-C-100.DCE", now, price - 0.01, price + 0.01), now)
    greeks = record.fields
    assert record.topic == "greeks.m2609-C-100.DCE"
    assert greeks["iv_mid"] == pytest.approx(0.2, abs=1e-9) and greeks["reason"] is None
    assert greeks["forward_source"] == "futures" and greeks["days_to_expiry"] == pytest.approx(182.5)
    d1 = 0.2 * math.sqrt(0.5) / 2  # ln(F/K) = 0
    assert greeks["delta"] == pytest.approx(
        math.exp(-0.01) * 0.5 * (1 + math.erf(d1 / math.sqrt(2))), rel=1e-9
    )
    assert greeks["iv_last"] is None and greeks["iv_last_reason"] == "no trade"


def test_bsm_on_an_etf_matches_hulls_textbook_example(tmp_path: Path) -> None:
    # Hull, Options, Futures and Other Derivatives: S=42, K=40, r=10 %, sigma=20 %, T=0.5:
    # c = 4.76, p = 0.81, call delta N(d1) = 0.7791.
    expiry = date(2026, 9, 23)
    now = half_a_year_before(expiry)
    path = tmp_path / "contracts.json"
    base = {"exchange": "SSE", "underlying": "510050", "strike": 40, "expiry": expiry.isoformat()}
    path.write_text(json.dumps([{**base, "symbol": "90000001", "option_type": "C"}]))
    service = GreeksService(CALENDAR, rate=0.1, throttle=0, table=load_contract_table(path))
    service.on_tick(quote("510050.SSE", now, 41.99, 42.01), now)
    [record] = service.on_tick(quote("90000001.SSE", now, 4.7594, 4.7594, last=4.7594, volume=3), now)
    greeks = record.fields
    assert greeks["model"] == BSM and greeks["forward_source"] == "carry"
    assert greeks["iv_mid"] == pytest.approx(0.2, abs=1e-4) and greeks["iv_last"] == pytest.approx(
        0.2, abs=1e-4
    )
    assert greeks["delta"] == pytest.approx(0.7791, abs=1e-3)
    for name in ("gamma", "vega", "theta", "rho"):
        reference = getattr(bsm_greeks, name)("c", 42, 40, 0.5, 0.1, greeks["iv_mid"], 0.0)
        assert greeks[name] == pytest.approx(reference, rel=1e-9)


def test_the_forward_from_put_call_parity_recovers_the_carry(tmp_path: Path) -> None:
    expiry = date(2026, 9, 23)
    now = half_a_year_before(expiry)
    rows = [
        {
            "symbol": s,
            "exchange": "SSE",
            "underlying": "510300",
            "option_type": k,
            "strike": strike,
            "expiry": str(expiry),
        }
        for s, k, strike in (("90000011", "C", 4.0), ("90000012", "P", 4.0), ("90000021", "C", 4.5))
    ]
    path = tmp_path / "contracts.json"
    path.write_text(json.dumps(rows))
    service = GreeksService(CALENDAR, rate=0.02, throttle=0, table=load_contract_table(path))
    s, q, vol = 4.1, 0.03, 0.22
    service.on_tick(quote("510300.SSE", now, s, s), now)
    for symbol, flag, strike in (("90000011", "c", 4.0), ("90000012", "p", 4.0), ("90000021", "c", 4.5)):
        price = bsm_price(flag, s, strike, 0.5, 0.02, vol, q)
        records = service.on_tick(quote(f"{symbol}.SSE", now, price, price), now)
    otm = next(r.fields for r in records if r.fields["symbol"] == "90000021")
    assert otm["forward_source"] == "parity"
    assert otm["carry"] == pytest.approx(q, abs=1e-9) and otm["iv_mid"] == pytest.approx(vol, abs=1e-9)


def test_when_no_iv_exists_the_payload_says_why_and_publishes_no_number() -> None:
    expiry = date(2026, 8, 18)
    now = half_a_year_before(expiry)
    service = GreeksService(CALENDAR, rate=0.02, throttle=0)
    [early] = service.on_tick(quote("m2609-C-90.DCE", now, 10, 10.2), now)
    assert early.fields["reason"] == NO_UNDERLYING and early.fields["iv_mid"] is None
    service.on_tick(quote("m2609.DCE", now, 100, 100), now)
    [below] = service.on_tick(quote("m2609-C-90.DCE", now, 8.0, 8.2), now)  # intrinsic ≈ 9.9
    assert below.fields["iv_mid"] is None and below.fields["iv_mid_reason"] == BELOW_INTRINSIC
    assert below.fields["delta"] is None and below.fields["reason"] == BELOW_INTRINSIC
    [above] = service.on_tick(quote("m2609-P-90.DCE", now, 95, 96), now)
    assert above.fields["iv_mid_reason"] == ABOVE_MAXIMUM
    [none] = service.on_tick(quote("m2609-P-100.DCE", now, 0, 5, last=5.5, volume=2), now)
    assert none.fields["iv_mid_reason"] == NO_QUOTE and none.fields["iv_last"] is not None
    assert none.fields["delta"] is not None and none.fields["reason"] is None
    assert service.counters[f"no_iv:{BELOW_INTRINSIC}"] == 1


def test_an_underlying_move_republishes_its_options_throttled() -> None:
    expiry = date(2026, 8, 18)
    now = half_a_year_before(expiry)
    service = GreeksService(CALENDAR, rate=0.02, throttle=1.0)
    service.on_tick(quote("m2609.DCE", now, 100, 100), now)
    assert len(service.on_tick(quote("m2609-C-100.DCE", now, 5.5, 5.6), now)) == 1
    later = now + timedelta(milliseconds=200)
    assert service.on_tick(quote("m2609.DCE", later, 101, 101), later) == []  # throttled
    assert service.on_timer(now + timedelta(milliseconds=900)) == []
    [record] = service.on_timer(now + timedelta(milliseconds=1100))
    assert record.fields["underlying_price"] == 101 and record.time_ns == datetime_ns(later)
