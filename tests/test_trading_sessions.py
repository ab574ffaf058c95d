"""The trading-session calendar (aggregation.sessions): pure, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from aggregation.sessions import (
    AUCTION,
    CHINA_TZ,
    CONTINUOUS,
    DEFAULT_HOLIDAYS,
    SessionRule,
    SessionWindow,
    TradingCalendar,
    default_calendar,
    product_of,
)

CAL = default_calendar()
GRACE = timedelta(seconds=3)

# A plain week with no holidays near it: Monday 2025-03-10 … Sunday 2025-03-16.
MON, TUE, WED, THU, FRI, SAT, SUN = (date(2025, 3, 10) + timedelta(days=n) for n in range(7))
NEXT_MON = MON + timedelta(days=7)


def at(d: date, hhmmss: str) -> datetime:
    return datetime.combine(d, time.fromisoformat(hhmmss))


@pytest.mark.parametrize(
    ("symbol", "product"),
    [
        ("rb2501", "rb"),
        ("SR501", "SR"),
        ("rb2501C3000", "rb"),
        ("m2501-C-3000", "m"),
        ("IO2501-C-4000", "IO"),
        ("T2503", "T"),
        ("10005678", ""),
        ("90004321", ""),
    ],
)
def test_product_of_takes_the_leading_letters(symbol: str, product: str) -> None:
    assert product_of(symbol) == product


@pytest.mark.parametrize(
    ("day", "trading"),
    [
        (MON, True),
        (FRI, True),
        (SAT, False),
        (SUN, False),
        (date(2025, 10, 1), False),
        (date(2025, 10, 9), True),
    ],
)
def test_a_trading_day_is_a_weekday_that_is_not_a_holiday(day: date, trading: bool) -> None:
    assert CAL.is_trading_day(day) is trading


# (vt_symbol, wall-clock time on TUE or its night, open?)
COMMODITY_DAY_CASES = [
    ("08:54:59", False),
    ("08:55:00", True),  # opening call auction
    ("08:59:30", True),
    ("09:00:00", True),
    ("10:14:59", True),
    ("10:15:00", False),  # the 10:15–10:30 break (without grace)
    ("10:20:00", False),
    ("10:30:00", True),
    ("11:29:59", True),
    ("11:30:00", False),
    ("12:00:00", False),  # lunch break 11:30–13:30
    ("13:29:59", False),
    ("13:30:00", True),
    ("14:59:59", True),
    ("15:00:00", False),
    ("16:00:00", False),
]


@pytest.mark.parametrize("vt_symbol", ["rb2505.SHFE", "sc2505.INE", "m2505.DCE", "SR505.CZCE", "si2505.GFEX"])
@pytest.mark.parametrize(("clock", "is_open"), COMMODITY_DAY_CASES)
def test_commodity_exchanges_share_the_day_session_with_its_breaks(
    vt_symbol: str, clock: str, is_open: bool
) -> None:
    assert CAL.is_open(vt_symbol, at(TUE, clock)) is is_open


@pytest.mark.parametrize("clock", ["10:15:00", "11:30:00", "15:00:00", "15:00:02.900"])
def test_session_end_ticks_are_inside_with_grace(clock: str) -> None:
    assert CAL.is_open("rb2505.SHFE", at(TUE, clock), grace=GRACE)


def test_grace_does_not_bridge_a_break() -> None:
    assert not CAL.is_open("rb2505.SHFE", at(TUE, "10:20:00"), grace=GRACE)
    assert not CAL.is_open("rb2505.SHFE", at(TUE, "15:00:03"), grace=GRACE)


@pytest.mark.parametrize(
    ("vt_symbol", "last_open", "first_closed"),
    [
        ("au2506.SHFE", "02:29:59", "02:30:00"),
        ("ag2506.SHFE", "02:29:59", "02:30:00"),
        ("sc2505.INE", "02:29:59", "02:30:00"),
        ("cu2505.SHFE", "00:59:59", "01:00:00"),
        ("ss2505.SHFE", "00:59:59", "01:00:00"),
        ("ao2505.SHFE", "00:59:59", "01:00:00"),
        ("bc2505.INE", "00:59:59", "01:00:00"),
    ],
)
def test_long_night_sessions_run_past_midnight(vt_symbol: str, last_open: str, first_closed: str) -> None:
    assert CAL.is_open(vt_symbol, at(TUE, "20:59:00"))  # night call auction
    assert CAL.is_open(vt_symbol, at(TUE, "23:30:00"))
    assert CAL.is_open(vt_symbol, at(WED, last_open))
    assert not CAL.is_open(vt_symbol, at(WED, first_closed))


@pytest.mark.parametrize(
    "vt_symbol",
    [
        "rb2505.SHFE",
        "ru2505.SHFE",
        "lu2505.INE",
        "nr2505.INE",
        "m2505.DCE",
        "i2505.DCE",
        "SR505.CZCE",
        "MA505.CZCE",
    ],
)
def test_short_night_sessions_end_at_23(vt_symbol: str) -> None:
    assert not CAL.is_open(vt_symbol, at(TUE, "20:54:59"))
    assert CAL.is_open(vt_symbol, at(TUE, "20:59:00"))
    assert CAL.is_open(vt_symbol, at(TUE, "22:59:59"))
    assert not CAL.is_open(vt_symbol, at(TUE, "23:00:00"))
    assert CAL.is_open(vt_symbol, at(TUE, "23:00:00"), grace=GRACE)
    assert not CAL.is_open(vt_symbol, at(WED, "00:30:00"))


@pytest.mark.parametrize(
    "vt_symbol", ["ec2506.INE", "lh2505.DCE", "si2505.GFEX", "AP505.CZCE", "IF2503.CFFEX", "10005678.SSE"]
)
def test_products_without_a_night_session_are_closed_at_night(vt_symbol: str) -> None:
    assert not CAL.is_open(vt_symbol, at(TUE, "21:30:00"))


def test_options_follow_their_underlying_product() -> None:
    assert CAL.is_open("au2506C600.SHFE", at(WED, "01:00:00"))
    assert CAL.is_open("m2505-C-3000.DCE", at(TUE, "22:00:00"))
    assert CAL.is_open("SR505C5000.CZCE", at(TUE, "22:00:00"))
    assert CAL.is_open("IO2503-C-4000.CFFEX", at(TUE, "09:27:00"))


def test_friday_night_is_open_and_runs_into_saturday_for_gold() -> None:
    assert CAL.is_open("au2506.SHFE", at(FRI, "21:30:00"))
    assert CAL.is_open("au2506.SHFE", at(SAT, "01:00:00"))
    assert not CAL.is_open("au2506.SHFE", at(SAT, "02:30:00"))


def test_weekend_daytime_and_sunday_night_are_closed() -> None:
    assert not CAL.is_open("au2506.SHFE", at(SAT, "10:00:00"))
    assert not CAL.is_open("rb2505.SHFE", at(SAT, "21:30:00"))
    assert not CAL.is_open("au2506.SHFE", at(SUN, "21:00:00"))
    assert not CAL.is_open("au2506.SHFE", at(MON, "01:00:00"))


def test_there_is_no_night_session_before_national_day() -> None:
    # Tuesday 2025-09-30 trades by day; 1–8 October are closed.
    assert CAL.is_open("rb2601.SHFE", at(date(2025, 9, 30), "14:00:00"))
    assert not CAL.is_open("rb2601.SHFE", at(date(2025, 9, 30), "21:30:00"))
    assert not CAL.is_open("au2512.SHFE", at(date(2025, 10, 1), "01:00:00"))
    assert CAL.is_open("rb2601.SHFE", at(date(2025, 10, 9), "21:30:00"))


def test_there_is_no_friday_night_before_a_monday_holiday() -> None:
    # Dragon Boat 2025 closes Monday 2 June.
    assert not CAL.is_open("rb2509.SHFE", at(date(2025, 5, 30), "21:30:00"))
    assert not CAL.has_night_session(date(2025, 5, 30))


def test_a_holiday_is_closed_all_day() -> None:
    holiday = date(2025, 10, 8)  # a Wednesday
    assert holiday in DEFAULT_HOLIDAYS
    for clock in ("09:00:00", "10:00:00", "14:00:00", "21:30:00"):
        assert not CAL.is_open("rb2601.SHFE", at(holiday, clock))
        assert not CAL.is_open("IF2510.CFFEX", at(holiday, clock))


@pytest.mark.parametrize(
    ("clock", "is_open"),
    [
        ("09:24:59", False),
        ("09:25:00", True),  # CFFEX opening auction
        ("09:29:00", True),
        ("11:29:59", True),
        ("11:30:00", False),
        ("12:59:59", False),
        ("13:00:00", True),
        ("14:59:59", True),
        ("15:00:00", False),
    ],
)
def test_cffex_index_day_session(clock: str, is_open: bool) -> None:
    for vt_symbol in ("IF2503.CFFEX", "IH2503.CFFEX", "IC2503.CFFEX", "IM2503.CFFEX", "HO2503-P-2500.CFFEX"):
        assert CAL.is_open(vt_symbol, at(TUE, clock)) is is_open


def test_cffex_treasury_trades_until_15_15_but_index_futures_do_not() -> None:
    for vt_symbol in ("T2506.CFFEX", "TF2506.CFFEX", "TS2506.CFFEX", "TL2506.CFFEX"):
        assert CAL.is_open(vt_symbol, at(TUE, "15:10:00"))
        assert not CAL.is_open(vt_symbol, at(TUE, "15:15:00"))
        assert CAL.is_open(vt_symbol, at(TUE, "09:26:00"))
    assert not CAL.is_open("IF2503.CFFEX", at(TUE, "15:10:00"))


@pytest.mark.parametrize("exchange", ["SSE", "SZSE"])
@pytest.mark.parametrize(
    ("clock", "is_open"),
    [
        ("09:14:59", False),
        ("09:15:00", True),  # opening call auction
        ("09:20:00", True),
        ("09:27:00", False),  # between the auction and continuous trading
        ("09:30:00", True),
        ("11:30:00", False),
        ("13:00:00", True),
        ("14:58:00", True),  # closing call auction
        ("15:00:00", False),
    ],
)
def test_stock_option_sessions(exchange: str, clock: str, is_open: bool) -> None:
    assert CAL.is_open(f"10005678.{exchange}", at(TUE, clock)) is is_open


def test_aware_times_are_converted_to_china_time() -> None:
    # 01:30 UTC is 09:30 in Beijing.
    utc = datetime(2025, 3, 11, 1, 30, tzinfo=UTC)
    assert CAL.is_open("IF2503.CFFEX", utc)
    assert CAL.is_open("IF2503.CFFEX", utc.astimezone(CHINA_TZ))
    assert not CAL.is_open("IF2503.CFFEX", datetime(2025, 3, 11, 9, 30, tzinfo=UTC))


def test_an_unknown_exchange_is_never_open() -> None:
    assert not CAL.is_open("abc123.NOWHERE", at(TUE, "10:00:00"))
    assert CAL.next_open("abc123.NOWHERE", at(TUE, "10:00:00")) is None


def test_a_symbol_without_an_exchange_is_rejected_with_a_hint() -> None:
    with pytest.raises(ValueError, match=r"symbol\.EXCHANGE"):
        CAL.is_open("rb2505", at(TUE, "10:00:00"))


def test_next_open_is_now_while_open() -> None:
    now = at(TUE, "10:00:00")
    assert CAL.next_open("rb2505.SHFE", now) == now.replace(tzinfo=CHINA_TZ)


def test_next_open_skips_breaks_weekends_and_holidays() -> None:
    assert CAL.next_open("rb2505.SHFE", at(TUE, "10:20:00")) == at(TUE, "10:30:00").replace(tzinfo=CHINA_TZ)
    assert CAL.next_open("rb2505.SHFE", at(TUE, "15:30:00")) == at(TUE, "20:55:00").replace(tzinfo=CHINA_TZ)
    assert CAL.next_open("au2506.SHFE", at(SAT, "03:00:00")) == at(NEXT_MON, "08:55:00").replace(
        tzinfo=CHINA_TZ
    )
    after_national_day = at(date(2025, 10, 9), "08:55:00").replace(tzinfo=CHINA_TZ)
    assert CAL.next_open("rb2601.SHFE", at(date(2025, 9, 30), "15:00:00")) == after_national_day


def test_next_open_searches_past_the_spring_festival() -> None:
    # Closed from Monday 2026-02-16 to Monday 2026-02-23: the last session is Friday the
    # 13th's day session (no night before the holiday).
    closed = at(date(2026, 2, 13), "15:00:00")
    assert CAL.next_open("IF2603.CFFEX", closed) == at(date(2026, 2, 24), "09:25:00").replace(tzinfo=CHINA_TZ)


def test_a_product_template_overrides_only_its_own_part_of_the_exchange_default() -> None:
    calendar = TradingCalendar(
        [
            SessionRule("DCE", "", SessionWindow(time(9), time(15), CONTINUOUS)),
            SessionRule("DCE", "m", SessionWindow(time(20, 55), time(21), AUCTION), is_night=True),
            SessionRule("DCE", "m", SessionWindow(time(21), time(23), CONTINUOUS), is_night=True),
            SessionRule("DCE", "jd", SessionWindow(time(10), time(11), CONTINUOUS)),
        ],
        holidays=[],
    )
    assert calendar.is_open("m2505.DCE", at(TUE, "12:00:00"))  # exchange day session
    assert calendar.is_open("m2505.DCE", at(TUE, "22:00:00"))
    assert not calendar.is_open("jd2505.DCE", at(TUE, "12:00:00"))  # its own day session
    assert not calendar.is_open("jd2505.DCE", at(TUE, "22:00:00"))


def test_product_codes_match_whatever_their_case() -> None:
    calendar = TradingCalendar(
        [SessionRule("czce", "sr", SessionWindow(time(21), time(23), CONTINUOUS), is_night=True)],
        holidays=[],
    )
    assert calendar.is_open("SR505.CZCE", at(TUE, "22:00:00"))


def test_a_night_window_after_midnight_belongs_to_the_previous_evening() -> None:
    # The same 21:00–02:30 night entered as two windows.
    calendar = TradingCalendar(
        [
            SessionRule("SHFE", "au", SessionWindow(time(21), time(0), CONTINUOUS), is_night=True),
            SessionRule("SHFE", "au", SessionWindow(time(0), time(2, 30), CONTINUOUS), is_night=True),
        ],
        holidays=[],
    )
    assert calendar.is_open("au2506.SHFE", at(SAT, "01:00:00"))  # Friday's night
    assert not calendar.is_open("au2506.SHFE", at(MON, "01:00:00"))  # no Sunday night
    assert calendar.next_open("au2506.SHFE", at(SAT, "03:00:00")) == at(NEXT_MON, "21:00:00").replace(
        tzinfo=CHINA_TZ
    )


def test_the_default_holidays_are_weekdays_in_2025_and_2026() -> None:
    assert all(day.weekday() < 5 for day in DEFAULT_HOLIDAYS)
    assert {day.year for day in DEFAULT_HOLIDAYS} == {2025, 2026}
