"""``python -m tests.vnpy_bar_reader SYMBOL EXCHANGE START END``: the 1-minute bars vn.py's own
database layer (``get_database().load_bar_data``) holds, as JSON lines, for
tests/test_recording_bars.py. Run with HOME pointing at a tmp dir (vn.py's ``.vntrader``)."""

from __future__ import annotations

import json
import sys
from datetime import datetime

from vnpy.trader.constant import Exchange, Interval
from vnpy.trader.database import get_database


def main(argv: list[str]) -> int:
    symbol, exchange, start, end = argv
    bars = get_database().load_bar_data(
        symbol,
        Exchange(exchange),
        Interval.MINUTE,
        datetime.fromisoformat(start),
        datetime.fromisoformat(end),
    )
    for bar in bars:
        fields = {
            k: v for k, v in bar.__dict__.items() if k not in ("exchange", "datetime", "interval", "extra")
        }
        fields["exchange"] = bar.exchange.value
        fields["interval"] = bar.interval.value if bar.interval else None
        fields["datetime"] = bar.datetime.isoformat()
        print(json.dumps(fields))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
