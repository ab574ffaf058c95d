"""Journals for the recording tests, written by the journal's own writer
(``aggregation.journal.Journal.write_batch``) with ticks encoded by the worker's encoder
(``aggregation.wire.encode_tick`` over vn.py ``TickData``), at chosen exchange times."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from vnpy.trader.constant import Exchange
from vnpy.trader.object import TickData

from aggregation.exchange_time import CHINA_TZ
from aggregation.journal import Journal
from aggregation.journal_day import TradingDayRule, weekdays
from aggregation.wire import datetime_ns, encode_tick, extend_body, source_suffix


def china(text: str) -> datetime:
    """``"2026-12-01 09:00:00.500"`` as an aware Beijing time."""
    return datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ)


def vn_tick(vt_symbol: str, at: datetime, n: int) -> TickData:
    symbol, _, exchange = vt_symbol.rpartition(".")
    price = 3000.0 + n % 50
    tick = TickData(
        gateway_name="sim",
        symbol=symbol,
        exchange=Exchange(exchange),
        datetime=at,
        name=f"{symbol} name",
        volume=float(100 + n),
        turnover=(100 + n) * price * 10,
        open_interest=5000.0 + n,
        last_price=price,
        last_volume=1.0,
        limit_up=3300.0,
        limit_down=2700.0,
        open_price=3000.0,
        high_price=3050.0,
        low_price=2990.0,
        pre_close=2999.0,
        localtime=at.replace(microsecond=(at.microsecond + 1234) % 1_000_000),
    )
    for level in range(1, 6):
        setattr(tick, f"bid_price_{level}", price - level)
        setattr(tick, f"ask_price_{level}", price + level)
        setattr(tick, f"bid_volume_{level}", float(level * 3))
        setattr(tick, f"ask_volume_{level}", float(level * 4))
    return tick


def write_journal(
    directory: Path,
    ticks: Iterable[tuple[str, datetime]],
    *,
    is_trading_day: TradingDayRule = weekdays,
    source: str = "sim-a",
) -> dict[bytes, list[bytes]]:
    """Journal ``(vt_symbol, exchange time)`` ticks as one hub run whose clock reads each
    tick's exchange time (so the journal rolls its day files as a live hub would); returns
    the payloads as published, per topic. A new hub run (a new ``Journal``: new epoch, seq
    from 1) whenever the trading day changes, as the crontab restarts the stack."""
    now = [0]
    journal: Journal | None = None
    seqs: dict[bytes, int] = {}
    published: dict[bytes, list[bytes]] = {}
    day = None
    for n, (vt_symbol, at) in enumerate(ticks):
        now[0] = datetime_ns(at)
        from aggregation.journal_day import trading_day

        its_day = trading_day(now[0], is_trading_day)
        if journal is None or its_day != day:
            if journal is not None:
                journal.close()
            journal = Journal(directory, is_trading_day=is_trading_day, clock=lambda: now[0])
            seqs, day = {}, its_day
        topic, key, body = encode_tick(vn_tick(vt_symbol, at, n), recv_ns=now[0] + 2_500_000 + n)
        seq = seqs[topic] = seqs.get(topic, 0) + 1
        payload = extend_body(body, source_suffix(source, journal.epoch), seq)
        journal.write_batch([(topic, key, seq, payload)])
        published.setdefault(topic, []).append(payload)
    if journal is not None:
        journal.close()
    return published
