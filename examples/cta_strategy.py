"""A vn.py CTA strategy on the hub: ticks from ``MdhubGateway``, 1-minute bars from vn.py's
``BarGenerator`` (docs/vnpy.md).

Copy this file into the ``strategies/`` folder of your vn.py working directory (where
``.vntrader`` is): vnpy_ctastrategy's engine loads every ``CtaTemplate`` it finds there. Or
run it, which sets up the engines itself and prints each bar as it closes:

    pip install "mdhub-client[vnpy]" vnpy_ctastrategy
    python cta_strategy.py rb2601.SHFE --pub tcp://10.0.0.1:5555 --snapshot tcp://10.0.0.1:5556

Bar times are exchange time (Asia/Shanghai), as the hub's ticks are.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vnpy.trader.object import BarData, TickData
from vnpy.trader.utility import BarGenerator
from vnpy_ctastrategy import CtaTemplate


class HubBarStrategy(CtaTemplate):  # type: ignore[misc]  # vn.py has no type information
    """Builds 1-minute bars from the hub's ticks and keeps a moving average of their closes.

    It trades nothing: put your rules in ``on_bar`` (``self.buy``/``self.sell`` go to the
    contract's trading gateway, see docs/vnpy.md, "Trading through CTP")."""

    author = "mdhub"

    window: int = 5
    parameters = ["window"]

    tick_count: int = 0
    bar_count: int = 0
    last_close: float = 0.0
    average: float = 0.0
    variables = ["tick_count", "bar_count", "last_close", "average"]

    def __init__(self, cta_engine: Any, strategy_name: str, vt_symbol: str, setting: dict[str, Any]) -> None:
        super().__init__(cta_engine, strategy_name, vt_symbol, setting)
        self.bg = BarGenerator(self.on_bar)
        self.bars: list[BarData] = []

    def on_init(self) -> None:
        self.write_log("initialised: bars start with the first tick from the hub")

    def on_start(self) -> None:
        self.write_log("started")

    def on_stop(self) -> None:
        self.write_log(f"stopped after {self.tick_count} ticks and {self.bar_count} bars")

    def on_tick(self, tick: TickData) -> None:
        self.tick_count += 1
        self.bg.update_tick(tick)

    def on_bar(self, bar: BarData) -> None:
        # BarGenerator calls this when a tick of the next minute arrives: the bar is closed.
        self.bars.append(bar)
        self.bar_count += 1
        self.last_close = bar.close_price
        closes = [b.close_price for b in self.bars[-self.window :]]
        self.average = sum(closes) / len(closes)
        self.put_event()


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``HubBarStrategy`` on the hub until Ctrl-C (or ``--seconds``)."""
    from vnpy.event import EventEngine
    from vnpy.trader.engine import MainEngine
    from vnpy.trader.utility import TRADER_DIR
    from vnpy_ctastrategy import CtaStrategyApp
    from vnpy_ctastrategy.engine import CtaEngine

    from mdhub_client.vnpy_gateway import MdhubGateway

    parser = argparse.ArgumentParser(description="HubBarStrategy on an mdhub hub")
    parser.add_argument("vt_symbol", help="a contract the hub serves, e.g. rb2601.SHFE")
    parser.add_argument("--pub", default="tcp://127.0.0.1:5555", help="hub PUB addresses, comma-separated")
    parser.add_argument("--snapshot", default="tcp://127.0.0.1:5556", help="their snapshot addresses")
    parser.add_argument("--seconds", type=float, help="stop after this long")
    args = parser.parse_args(argv)

    # The CTA engine loads strategies from strategies/ in vn.py's working directory (the one
    # holding .vntrader, else the home directory; MainEngine moves there): put this file there.
    folder = TRADER_DIR / "strategies"
    folder.mkdir(exist_ok=True)
    if not (folder / Path(__file__).name).exists():
        shutil.copy(__file__, folder / Path(__file__).name)

    main_engine = MainEngine(EventEngine())
    main_engine.add_gateway(MdhubGateway)
    cta: CtaEngine = main_engine.add_app(CtaStrategyApp)
    main_engine.connect({**MdhubGateway.default_setting, "hub PUB addresses": args.pub,
                         "snapshot addresses": args.snapshot}, "MDHUB")  # fmt: skip
    cta.init_engine()
    deadline = time.monotonic() + 10
    while main_engine.get_contract(args.vt_symbol) is None and time.monotonic() < deadline:
        time.sleep(0.1)  # the contract list comes from the hub's snapshot service
    if main_engine.get_contract(args.vt_symbol) is None:
        print(f"the hub lists no {args.vt_symbol}", file=sys.stderr)
        main_engine.close()
        return 1
    name = f"bars_{args.vt_symbol.replace('.', '_')}"
    if name not in cta.strategies:
        cta.add_strategy("HubBarStrategy", name, args.vt_symbol, {})
    cta.init_strategy(name).result()
    cta.start_strategy(name)
    strategy = cta.strategies[name]
    printed = 0
    stop_at = None if args.seconds is None else time.monotonic() + args.seconds
    try:
        while stop_at is None or time.monotonic() < stop_at:
            time.sleep(0.5)
            for bar in strategy.bars[printed:]:
                print(
                    f"{bar.datetime:%Y-%m-%d %H:%M} (exchange time) {bar.vt_symbol} O {bar.open_price:g} "
                    f"H {bar.high_price:g} L {bar.low_price:g} C {bar.close_price:g} V {bar.volume:g}",
                    flush=True,
                )
            printed = len(strategy.bars)
    except KeyboardInterrupt:
        pass
    finally:
        main_engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
