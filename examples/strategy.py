"""An example strategy on the hub's stream: a rolling mid-price and the spread per contract.

Run it from the repository root, so that ``-m`` finds ``aggregation``:

    .venv/bin/python -m examples.strategy rb au2606.SHFE --window 20
    .venv/bin/python -m examples.strategy rb \\
        --hub tcp://10.0.0.1:5555,tcp://10.0.0.1:5556,tcp://10.0.0.1:5557 \\
        --hub tcp://10.0.0.2:5555,tcp://10.0.0.2:5556,tcp://10.0.0.2:5557  # two hubs, every tick once
    .venv/bin/python -m examples.strategy rb --hub nats://n1:4222,nats://n2:4222,nats://n3:4222

The last one reads the same ticks from NATS JetStream (docs/jetstream.md), filled by the
bridges of any number of hubs: only the address changed. It logs in with
``MDHUB_NATS_READER_USER`` and ``MDHUB_NATS_READER_PASSWORD`` (or ``_PASSWORD_FILE``).

It starts with the hub's last value of every contract (the snapshot), then follows the live
stream. With the hub's recovery address (``--recovery``, or the third address of ``--hub``;
the local default hub has it) missed ticks are filled from the hub's journal and a hub
restart mid-stream costs no tick (``tests/test_journal_crash.py`` checks it); ticks that
could not be filled are reported on standard error. At the end (``--count`` or Ctrl-C) it
prints the client's counters.
"""

from __future__ import annotations

import argparse
import sys
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from vnpy.trader.object import TickData

from aggregation.client import HubAddress, HubClient, add_hub_arguments, hubs_from_args
from bridge.consumer import JetStreamSource


@dataclass
class MidSpread:
    """Per contract: the mid-price, its mean over the last ``window`` quotes, and the spread."""

    window: int = 20
    mids: dict[str, deque[float]] = field(default_factory=dict)

    def on_tick(self, tick: TickData) -> str:
        bid: float = tick.bid_price_1
        ask: float = tick.ask_price_1
        when = f"{tick.datetime:%H:%M:%S.%f}"[:-3]
        if not bid or not ask:
            # At a price limit one side of the book is empty: there is no mid.
            return f"{when} {tick.vt_symbol:<16} one-sided book: bid {bid:g} ask {ask:g}"
        mid = (bid + ask) / 2
        mids = self.mids.setdefault(tick.vt_symbol, deque(maxlen=self.window))
        mids.append(mid)
        mean = sum(mids) / len(mids)
        return (
            f"{when} {tick.vt_symbol:<16} mid {mid:.2f}  mean of {len(mids):>3} {mean:.2f}"
            f"  spread {ask - bid:g}"
        )


def report_gap(hub: HubAddress, topic: str, expected: int, got: int) -> None:
    print(
        f"! {got - expected} ticks of {topic} missed from hub {hub} (seq {expected}..{got - 1})",
        file=sys.stderr,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.strategy", description=__doc__.split("\n")[0])
    parser.add_argument("topics", nargs="*", default=[""], help="contracts (rb2601.SHFE) or products (rb)")
    add_hub_arguments(parser)
    parser.add_argument("--window", type=int, default=20, help="quotes in the rolling mean")
    parser.add_argument("--count", type=int, help="stop after this many ticks")
    args = parser.parse_args(argv)
    nats = [spec for spec in args.hub if spec.startswith(("nats://", "tls://"))]
    client: HubClient[TickData] | JetStreamSource
    if nats:
        # JetStream instead of a hub: the same ticks through the same loop below.
        client = JetStreamSource(",".join(nats), args.topics, as_tick_data=True)
    else:
        client = HubClient(hubs_from_args(args, parser), args.topics, as_tick_data=True, on_gap=report_gap)

    strategy = MidSpread(args.window)
    seen = 0
    with client:
        try:
            for tick in client:
                print(strategy.on_tick(tick), flush=True)
                seen += 1
                if args.count is not None and seen >= args.count:
                    break
        except KeyboardInterrupt:
            pass
        print(" ".join(f"{name}={value}" for name, value in client.stats().items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
