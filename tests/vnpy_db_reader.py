"""``python -m tests.vnpy_db_reader SYMBOL EXCHANGE START END``: the ticks vn.py's own
database layer (``get_database().load_tick_data``) holds, as JSON lines, one per tick, for
tests/test_recording_vnpy.py. Run with HOME pointing at a tmp dir: vn.py keeps its
``.vntrader`` (settings, SQLite database) there."""

from __future__ import annotations

import json
import sys
from datetime import datetime

from vnpy.trader.constant import Exchange
from vnpy.trader.database import get_database


def main(argv: list[str]) -> int:
    symbol, exchange, start, end = argv
    ticks = get_database().load_tick_data(
        symbol, Exchange(exchange), datetime.fromisoformat(start), datetime.fromisoformat(end)
    )
    for tick in ticks:
        fields = {
            k: v for k, v in tick.__dict__.items() if k not in ("exchange", "datetime", "localtime", "extra")
        }
        fields["exchange"] = tick.exchange.value
        fields["datetime"] = tick.datetime.isoformat()
        fields["localtime"] = tick.localtime.isoformat() if tick.localtime else None
        print(json.dumps(fields))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
