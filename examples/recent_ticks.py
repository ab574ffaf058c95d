"""The hub's recent ticks as a pandas DataFrame: a snippet for a notebook.

    pip install "mdhub-client[pandas]"
    python recent_ticks.py rb --seconds 5 --pub tcp://10.0.0.1:5555 --snapshot tcp://10.0.0.1:5556

In a notebook: ``df = recent_ticks(["rb", "IF"], seconds=5)``. The index is the exchange time
(Asia/Shanghai); the columns are vn.py's TickData names plus the hub's ``source`` and ``seq``.
The first row per contract is the hub's last value from before the call (the snapshot).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import pandas as pd  # type: ignore[import-untyped]  # no pandas-stubs in the dev pins

from aggregation.client import HubAddress, HubClient

COLUMNS = ["symbol", "exchange", "last_price", "volume", "bid_price_1", "ask_price_1",
           "bid_volume_1", "ask_volume_1", "open_interest", "source", "seq"]  # fmt: skip


def recent_ticks(
    topics: Sequence[str],
    seconds: float = 5.0,
    hubs: Sequence[HubAddress] = (HubAddress("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5556"),),
) -> pd.DataFrame:
    """Every tick of ``topics`` for ``seconds``, snapshot first, as one DataFrame."""
    rows = []
    deadline = time.monotonic() + seconds
    with HubClient(list(hubs), list(topics)) as client:
        while (left := deadline - time.monotonic()) > 0:
            tick = client.recv(left)
            if tick is not None:
                rows.append(tick)
    frame = pd.DataFrame(rows, columns=["datetime", *COLUMNS])
    frame["datetime"] = pd.to_datetime(frame["datetime"], unit="ns", utc=True).dt.tz_convert("Asia/Shanghai")
    return frame.set_index("datetime")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The hub's recent ticks as a table")
    parser.add_argument("topics", nargs="*", default=[""], help="contracts, products or prefixes")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--pub", default="tcp://127.0.0.1:5555")
    parser.add_argument("--snapshot", default="tcp://127.0.0.1:5556")
    args = parser.parse_args(argv)
    frame = recent_ticks(args.topics, args.seconds, [HubAddress(args.pub, args.snapshot)])
    print(frame.tail(20).to_string())
    print(
        f"\n{len(frame)} ticks; per contract:\n{frame.groupby('symbol')['last_price'].agg(['count', 'last'])}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
