"""The contract universe's rules (aggregation.universe), on controlled exchange dates."""

from __future__ import annotations

from datetime import date

from aggregation.universe import (
    Instrument,
    NameKind,
    Universe,
    choose_main,
    parse_name,
    resolve,
    universe_from_rules,
)
from engine.universe_roll import resolve_canaries, sim_sizes, table_instruments

# rb's last trading day in December 2026 is Tuesday the 15th; IF's the third Friday, the 18th.
RB_LAST_DAY = date(2026, 12, 15)


def rules(day: date) -> Universe:
    return universe_from_rules(day, sim_sizes())


def test_names_read_as_contract_product_or_main_contract() -> None:
    assert parse_name("rb2605.SHFE") == parse_name(" rb2605.SHFE ")
    assert parse_name("rb2605.SHFE").kind is NameKind.CONTRACT  # type: ignore[union-attr]
    assert parse_name("rb").kind is NameKind.PRODUCT  # type: ignore[union-attr]
    main = parse_name("rb.main")
    assert main is not None and main.kind is NameKind.MAIN and main.value == "rb"
    for bad in ("", "rb2605.shfe", ".SHFE", "r b", "x.main.main"):
        assert parse_name(bad) is None, bad


def test_the_universe_carries_what_an_instrument_query_answers() -> None:
    universe = rules(date(2026, 12, 1))
    rb = universe.instruments["rb2612.SHFE"]
    assert (rb.product, rb.size, rb.pricetick, rb.expiry, rb.is_option) == (
        "rb",
        10.0,
        1.0,
        RB_LAST_DAY,
        False,
    )
    io = universe.instruments["IO2612-C-4600.CFFEX"]
    assert (io.option_underlying, io.option_strike, io.option_type) == ("IF2612", 4600.0, "C")
    assert io.expiry == date(2026, 12, 18)
    sse = universe.instruments["90261220.SSE"]  # 50ETF put, December 2026, centre strike
    assert (sse.option_underlying, sse.option_type, sse.is_option) == ("510050", "P", True)
    assert [i.vt_symbol for i in universe.of_product("rb")][:2] == ["rb2612.SHFE", "rb2701.SHFE"]


def test_expired_contracts_leave_by_themselves() -> None:
    on_last_day = rules(RB_LAST_DAY)
    assert "rb2612.SHFE" in on_last_day and "rb2712.SHFE" not in on_last_day
    next_day = on_last_day.on(date(2026, 12, 16))
    assert "rb2612.SHFE" not in next_day
    # Asked again the next day, the source lists the new month.
    assert "rb2712.SHFE" in rules(date(2026, 12, 16))
    # An admin entry of a known product gets its expiry from its code; one of an unknown
    # product (no expiry known) never leaves.
    table = table_instruments(
        [{"symbol": "rb2612", "exchange": "SHFE"}, {"symbol": "XYZ1", "exchange": "SGE"}], RB_LAST_DAY
    )
    assert [i.expiry for i in table] == [RB_LAST_DAY, None]
    assert [i.vt_symbol for i in Universe.of(date(2026, 12, 16), table).instruments.values()] == ["XYZ1.SGE"]


def test_the_main_contract_is_the_one_with_the_most_open_interest() -> None:
    universe = rules(date(2026, 12, 1))
    interest = {"rb2701.SHFE": 900_000.0, "rb2705.SHFE": 1_400_000.0, "rb2710.SHFE": 200_000.0}
    assert choose_main(universe, "rb", interest) == "rb2705.SHFE"
    interest["rb2701.SHFE"] = 2_000_000.0
    assert choose_main(universe, "rb", interest) == "rb2701.SHFE"
    # No open interest seen yet: the listing rule's main contract.
    assert choose_main(universe, "rb", {}) == "rb2705.SHFE"
    # Never a contract in its last trading day, however large its open interest.
    last_day = rules(RB_LAST_DAY)
    assert choose_main(last_day, "rb", {"rb2612.SHFE": 9e9, "rb2701.SHFE": 1.0}) == "rb2701.SHFE"
    # Options: the call with the most open interest.
    calls = {"IO2612-P-4600.CFFEX": 9e9, "IO2612-C-4600.CFFEX": 10.0}
    assert choose_main(universe, "IO", calls) == "IO2612-C-4600.CFFEX"
    assert choose_main(universe, "zz", {}) is None


def test_a_product_subscription_follows_the_roll() -> None:
    names = ["rb", "IF.main", "rb2612.SHFE", "cu2701.SHFE", "zz", "XYZ1.SGE"]
    before, unknown = resolve(names, rules(RB_LAST_DAY), {"IF": "IF2612.CFFEX"})
    after, _ = resolve(names, rules(date(2026, 12, 16)), {"IF": "IF2612.CFFEX"})
    assert unknown == ["zz"]
    assert "rb2612.SHFE" in before and "rb2612.SHFE" not in after  # the written code too
    assert "rb2712.SHFE" not in before and "rb2712.SHFE" in after
    assert len([s for s in after if s.startswith("rb")]) == 12
    assert "cu2701.SHFE" in before and "XYZ1.SGE" in after  # kept as written while listed / unknown


def test_a_canary_can_be_the_main_contract_of_a_product() -> None:
    assert resolve_canaries(["rb.main", "IF2612.CFFEX"], rules(date(2026, 12, 1))) == [
        "rb2705.SHFE",
        "IF2612.CFFEX",
    ]
    # IF's main moves to the next month on the front month's last trading day.
    assert resolve_canaries(["IF.main"], rules(date(2026, 12, 17))) == ["IF2612.CFFEX"]
    assert resolve_canaries(["IF.main"], rules(date(2026, 12, 18))) == ["IF2701.CFFEX"]


def test_an_instrument_is_live_through_its_last_trading_day() -> None:
    rb = Instrument("rb2612", "SHFE", "rb", expiry=RB_LAST_DAY)
    assert rb.live_on(RB_LAST_DAY) and not rb.live_on(date(2026, 12, 16))
