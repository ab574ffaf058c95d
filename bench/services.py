"""How fast the data services compute, on one core: bar ticks/s and Greeks/s.

    .venv/bin/python -m bench.services --seconds 2

In process, no sockets: this measures the services' own Python per tick, which bounds how
many contracts one service process can follow. The hub's tick path is not involved (the
services are other processes); see docs/services.md for the tick-path comparison to run.
"""

from __future__ import annotations

import argparse
import time
from datetime import date, datetime, timedelta

from aggregation.wire import datetime_ns
from services.bars import BarService
from services.calendar import default_calendar
from services.greeks import GreeksService
from services.sections import CHINA_TZ, SessionClock


def bench_bars(seconds: float) -> float:
    service = BarService(SessionClock(default_calendar()))
    start = datetime(2026, 3, 9, 9, 0, tzinfo=CHINA_TZ)
    symbols = [f"lh26{m:02d}" for m in range(1, 13)]
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        at = start + timedelta(milliseconds=250 * (n // len(symbols)))
        tick = {
            "symbol": symbols[n % len(symbols)],
            "exchange": "DCE",
            "datetime": datetime_ns(at),
            "volume": float(n),
            "turnover": 0.0,
            "open_interest": 1.0,
            "last_price": 15000.0 + n % 7,
        }
        service.on_tick(tick, at)
        n += 1
    return n / (time.perf_counter() - t0)


def bench_greeks(seconds: float) -> float:
    service = GreeksService(default_calendar(), throttle=0)
    now = datetime.combine(date(2026, 3, 9), datetime.min.time(), CHINA_TZ)
    ns = datetime_ns(now)
    service.on_tick(
        {"symbol": "m2609", "exchange": "DCE", "datetime": ns, "bid_price_1": 3000.0, "ask_price_1": 3001.0},
        now,
    )
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        strike = 2500 + 50 * (n % 20)
        price = max(1.0, 3000.5 - strike) + 60.0
        service.on_tick(
            {
                "symbol": f"m2609-C-{strike}",
                "exchange": "DCE",
                "datetime": ns,
                "bid_price_1": price - 0.5,
                "ask_price_1": price + 0.5,
            },
            now,
        )
        n += 1
    return n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.services")
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    print(f"bars (1m,5m,15m,30m,1h,d): {bench_bars(args.seconds):,.0f} ticks/s on one core")
    print(f"greeks (IV from mid + 5 Greeks): {bench_greeks(args.seconds):,.0f} options/s on one core")


if __name__ == "__main__":
    main()
