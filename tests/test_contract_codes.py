"""Contract codes roll with the calendar: listed months, last trading days, main contracts,
the simulated exchange's universe, and a stale demo database brought up to date."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from accounts.models import MarketDataAccount
from aggregation.contract_codes import (
    PRODUCT_RULES,
    exchange_today,
    last_trading_day,
    live_contracts,
    main_contract,
    parse_contract,
)
from aggregation.models import Contract
from aggregation.sessions import DEFAULT_HOLIDAYS
from gateways.simexchange import contract_universe
from mdhub_project.management.commands.seed_demo import demo_canaries
from tests.conftest import CTP_SETTINGS

DEC_1 = date(2026, 12, 1)


def symbols(product: str, today: date, **kwargs: Any) -> list[str]:
    return [c.symbol for c in live_contracts(product, today, **kwargs)]


def test_rebar_lists_twelve_months_from_the_one_that_has_not_yet_expired() -> None:
    assert symbols("rb", DEC_1) == [f"rb26{m:02d}" for m in (12,)] + [f"rb27{m:02d}" for m in range(1, 12)]
    assert main_contract("rb", DEC_1).symbol == "rb2705"  # 01 is too near its delivery month
    assert main_contract("rb", date(2026, 11, 2)).symbol == "rb2701"


def test_shfe_contracts_trade_through_the_15th_and_the_next_year_month_is_listed_the_day_after() -> None:
    assert last_trading_day(PRODUCT_RULES["rb"], 2026, 12) == date(2026, 12, 15)
    assert symbols("rb", date(2026, 12, 15))[0] == "rb2612"
    assert symbols("rb", date(2026, 12, 16)) == [f"rb27{m:02d}" for m in range(1, 13)]


def test_gold_lists_three_consecutive_months_and_the_even_months_within_thirteen() -> None:
    assert symbols("au", DEC_1) == [
        "au2612",
        "au2701",
        "au2702",
        "au2704",
        "au2706",
        "au2708",
        "au2710",
        "au2712",
    ]
    assert main_contract("au", DEC_1).symbol == "au2702"


def test_index_futures_list_this_month_next_month_and_two_quarter_months() -> None:
    assert symbols("IF", DEC_1) == ["IF2612", "IF2701", "IF2703", "IF2706"]
    # When next month is itself a quarter month, the two quarter months come after it.
    assert symbols("IF", date(2027, 2, 22)) == ["IF2703", "IF2704", "IF2706", "IF2709"]


def test_an_if_contract_trades_on_its_third_friday_and_is_gone_the_next_day() -> None:
    third_friday = date(2026, 12, 18)
    assert last_trading_day(PRODUCT_RULES["IF"], 2026, 12) == third_friday
    assert main_contract("IF", date(2026, 12, 17)).symbol == "IF2612"
    # On its expiry day the contract still lists, but the market has moved to next month.
    assert symbols("IF", third_friday) == ["IF2612", "IF2701", "IF2703", "IF2706"]
    assert main_contract("IF", third_friday).symbol == "IF2701"
    assert symbols("IF", date(2026, 12, 19)) == ["IF2701", "IF2702", "IF2703", "IF2706"]


def test_an_expiry_on_a_holiday_moves_to_the_next_trading_day() -> None:
    # The third Friday of February 2026 is in the Spring Festival closure (to Monday 23rd).
    assert last_trading_day(PRODUCT_RULES["IF"], 2026, 2) == date(2026, 2, 20)
    assert last_trading_day(PRODUCT_RULES["IF"], 2026, 2, DEFAULT_HOLIDAYS) == date(2026, 2, 24)
    assert last_trading_day(PRODUCT_RULES["rb"], 2026, 2, DEFAULT_HOLIDAYS) == date(2026, 2, 24)


def test_czce_codes_carry_the_year_s_last_digit_across_the_decade() -> None:
    assert symbols("SR", DEC_1) == ["SR701", "SR703", "SR705", "SR707", "SR709", "SR711"]
    assert main_contract("MA", DEC_1).symbol == "MA705"
    assert symbols("SR", date(2029, 12, 1)) == ["SR001", "SR003", "SR005", "SR007", "SR009", "SR011"]
    assert symbols("TA", date(2029, 12, 1))[:3] == ["TA912", "TA001", "TA002"]
    parsed = parse_contract("SR001", "CZCE", date(2029, 12, 1))
    assert parsed is not None and parsed[1] == date(2030, 1, 14)  # its 10th trading day


def test_dce_and_czce_contracts_expire_on_the_tenth_trading_day() -> None:
    assert last_trading_day(PRODUCT_RULES["TA"], 2026, 12) == date(2026, 12, 14)
    assert symbols("TA", date(2026, 12, 14))[0] == "TA612"
    assert symbols("TA", date(2026, 12, 15))[:2] == ["TA701", "TA702"]
    assert symbols("m", DEC_1) == ["m2612", "m2701", "m2703", "m2705", "m2707", "m2708", "m2709", "m2711"]


def test_crude_expires_the_month_before_delivery_and_lists_quarters_after_a_year() -> None:
    assert last_trading_day(PRODUCT_RULES["sc"], 2027, 1) == date(2026, 12, 31)
    listed = symbols("sc", DEC_1)
    assert listed[:12] == [f"sc27{m:02d}" for m in range(1, 13)]
    assert listed[12:] == ["sc2803", "sc2806", "sc2809", "sc2812", "sc2903", "sc2906", "sc2909", "sc2912"]


def test_sse_etf_options_expire_on_the_fourth_wednesday() -> None:
    fourth_wednesday = date(2026, 12, 23)
    assert last_trading_day(PRODUCT_RULES["510050"], 2026, 12) == fourth_wednesday
    months = [(c.year % 100, c.month) for c in live_contracts("510050", fourth_wednesday) if c.call]
    assert months == [(26, 12), (27, 1), (27, 3), (27, 6)]
    months = [(c.year % 100, c.month) for c in live_contracts("510050", date(2026, 12, 24)) if c.call]
    assert months == [(27, 1), (27, 2), (27, 3), (27, 6)]
    main = main_contract("510050", fourth_wednesday)
    assert (main.name, main.call, main.strike) == ("50ETF购1月3000", True, 3.0)
    assert parse_contract(main.symbol, "SSE", fourth_wednesday) == (
        PRODUCT_RULES["510050"],
        date(2027, 1, 27),
    )


def test_index_options_list_three_months_then_three_quarter_months_with_a_call_and_put() -> None:
    listed = symbols("IO", DEC_1)
    assert listed[:2] == ["IO2612-C-4600", "IO2612-P-4600"]
    assert sorted({s[2:6] for s in listed}) == ["2612", "2701", "2702", "2703", "2706", "2709"]
    assert len(symbols("IO", DEC_1, strikes=2)) == 6 * 5 * 2


def test_exchange_today_is_the_date_in_shanghai() -> None:
    # 19:10 UTC on 1 December is already 2 December in exchange time.
    assert exchange_today(datetime(2026, 12, 1, 19, 10, tzinfo=UTC)) == date(2026, 12, 2)


def test_the_simulated_exchange_trades_every_product_s_main_contract_first() -> None:
    universe = contract_universe(13, DEC_1)
    vt_symbols = [f"{p.symbol}.{p.exchange}" for p in universe]
    assert vt_symbols[:4] == ["rb2705.SHFE", "cu2701.SHFE", "au2702.SHFE", "IF2612.CFFEX"]
    assert {"SR705.CZCE", "sc2702.INE", "si2705.GFEX"} <= set(vt_symbols)
    assert set(demo_canaries(DEC_1)) == {"rb2705.SHFE", "IF2612.CFFEX"} <= set(vt_symbols)
    big = contract_universe(1500, DEC_1)
    assert len({(p.symbol, p.exchange) for p in big}) == 1500
    for product in big:
        parsed = parse_contract(product.symbol, product.exchange, DEC_1)
        assert parsed is not None and parsed[1] >= DEC_1, product
        assert product.price > 0


def _seed(today: date) -> None:
    call_command("seed_demo", "--today", today.isoformat(), stdout=io.StringIO())


@pytest.mark.django_db
def test_seed_demo_on_a_year_old_database_rolls_contracts_and_demo_canaries(
    settings: Any, tmp_path: Path
) -> None:
    settings.MDHUB_RUN_DIR = tmp_path
    _seed(date(2025, 12, 1))
    assert MarketDataAccount.objects.get(id="sim-a").canaries == ["rb2605.SHFE", "IF2512.CFFEX"]
    # As demos were seeded before codes rolled: fixed canaries and option code.
    MarketDataAccount.objects.filter(id="sim-b").update(canaries=["rb2601.SHFE", "IF2512.CFFEX"])
    Contract.objects.create(vt_symbol="10008888.SSE", name="50ETF购12月3000")
    # Not the demo's: an operator's broker account and a contract of a product the
    # simulation does not know.
    MarketDataAccount.objects.create(
        id="ctp-main", gateway_type="ctp", settings=CTP_SETTINGS, canaries=["rb2601.SHFE"]
    )
    Contract.objects.create(vt_symbol="ZC601.CZCE", name="动力煤601")

    _seed(DEC_1)

    for account_id in ("sim-a", "sim-b", "sim-c"):
        assert MarketDataAccount.objects.get(id=account_id).canaries == ["rb2705.SHFE", "IF2612.CFFEX"]
    assert MarketDataAccount.objects.get(id="ctp-main").canaries == ["rb2601.SHFE"]
    listed = set(Contract.objects.values_list("vt_symbol", flat=True))
    assert {
        f"{p.symbol}.{p.exchange}" for p in contract_universe(settings.MDHUB_SIM_CONTRACTS, DEC_1)
    } <= listed
    assert not {"rb2605.SHFE", "IF2512.CFFEX", "10008888.SSE"} & listed
    assert "ZC601.CZCE" in listed
    for vt_symbol in listed - {"ZC601.CZCE"}:
        symbol, _, exchange = vt_symbol.rpartition(".")
        parsed = parse_contract(symbol, exchange, DEC_1)
        assert parsed is not None and parsed[1] >= DEC_1, vt_symbol

    _seed(DEC_1)  # idempotent
    assert len(Contract.objects.all()) == len(listed)


@pytest.mark.django_db
def test_seed_demo_keeps_a_demo_canary_the_operator_chose_while_it_still_trades(
    settings: Any, tmp_path: Path
) -> None:
    settings.MDHUB_RUN_DIR = tmp_path
    _seed(DEC_1)
    MarketDataAccount.objects.filter(id="sim-a").update(canaries=["cu2701.SHFE", "IF2612.CFFEX"])
    _seed(date(2026, 12, 10))
    assert MarketDataAccount.objects.get(id="sim-a").canaries == ["cu2701.SHFE", "IF2612.CFFEX"]
    # After the IF contract's last day the canary moves to the new main contract.
    _seed(date(2026, 12, 21))
    assert MarketDataAccount.objects.get(id="sim-a").canaries == ["cu2701.SHFE", "IF2701.CFFEX"]
