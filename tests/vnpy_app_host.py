"""Runs real vn.py apps on a running hub, in a process of their own (tests/test_vnpy_apps.py).

    python -m tests.vnpy_app_host cta|cta-ctp|recorder --pub ADDR --snapshot ADDR \\
        --vt-symbol rb2601.SHFE --seconds 4 --report out.json

A process of its own because vn.py's ``MainEngine`` moves the process into its working
directory (``TRADER_DIR``, picked at import from the cwd and HOME): the test points both at
a temporary directory, so vn.py's settings, logs, strategy files and SQLite database land
there, not in the tree and not in the test runner's process. It writes what it saw as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from vnpy.event import Event, EventEngine
from vnpy.trader.constant import Direction, Exchange, Offset, Product
from vnpy.trader.engine import MainEngine
from vnpy.trader.event import EVENT_LOG, EVENT_TICK
from vnpy.trader.object import BarData, ContractData, LogData, TickData
from vnpy.trader.setting import SETTINGS

from mdhub_client.vnpy_gateway import MdhubGateway, route_market_data

STRATEGY_CLASS = "HubBarStrategy"


def tick_record(tick: TickData) -> dict[str, Any]:
    return {
        "vt_symbol": tick.vt_symbol,
        "gateway_name": tick.gateway_name,
        "datetime_us": round(tick.datetime.timestamp() * 1_000_000),
        "tz": str(tick.datetime.tzinfo),
        "last_price": tick.last_price,
        "volume": tick.volume,
        "turnover": tick.turnover,
        "open_interest": tick.open_interest,
        "bid_price_1": tick.bid_price_1,
        "ask_price_1": tick.ask_price_1,
        "bid_volume_1": tick.bid_volume_1,
        "ask_volume_1": tick.ask_volume_1,
    }


def bar_record(bar: BarData | None) -> dict[str, Any] | None:
    if bar is None:
        return None
    return {
        "datetime": bar.datetime.isoformat(),
        "open": bar.open_price,
        "high": bar.high_price,
        "low": bar.low_price,
        "close": bar.close_price,
        "volume": bar.volume,
        "gateway_name": bar.gateway_name,
    }


def wait(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


class Host:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.main_engine = MainEngine(EventEngine())
        self.gateway = self.main_engine.add_gateway(MdhubGateway)
        self.ticks: list[dict[str, Any]] = []
        self.logs: list[dict[str, str]] = []
        self.main_engine.event_engine.register(EVENT_TICK, self._on_tick)
        self.main_engine.event_engine.register(EVENT_LOG, self._on_log)

    def _on_tick(self, event: Event) -> None:
        self.ticks.append(tick_record(event.data))

    def _on_log(self, event: Event) -> None:
        log: LogData = event.data
        self.logs.append({"gateway_name": log.gateway_name, "msg": log.msg})

    def connect(self) -> None:
        setting = {
            **MdhubGateway.default_setting,
            "hub PUB addresses": self.args.pub,
            "snapshot addresses": self.args.snapshot,
        }
        self.main_engine.connect(setting, "MDHUB")

    def contract_gateway(self) -> str | None:
        contract = self.main_engine.get_contract(self.args.vt_symbol)
        return None if contract is None else contract.gateway_name

    def run_cta(self, with_ctp: bool) -> dict[str, Any]:
        from vnpy_ctastrategy import CtaStrategyApp
        from vnpy_ctastrategy.engine import CtaEngine

        if with_ctp:
            from vnpy_ctp import CtpGateway

            ctp = self.main_engine.add_gateway(CtpGateway)
            route_market_data(self.main_engine)
            symbol, _, exchange = self.args.vt_symbol.rpartition(".")
            # What CtpTdApi.onRspQryInstrument pushes after a login (no trading front here):
            # the broker's contract, with its real size and price tick, named CTP.
            ctp.on_contract(
                ContractData(
                    symbol=symbol,
                    exchange=Exchange(exchange),
                    name=symbol,
                    product=Product.FUTURES,
                    size=10,
                    pricetick=1.0,
                    gateway_name="CTP",
                )
            )
            wait(lambda: self.contract_gateway() == "CTP", 5, "the CTP contract")
        cta: CtaEngine = self.main_engine.add_app(CtaStrategyApp)
        cta.init_engine()
        self.connect()
        wait(lambda: self.gateway.ticks_forwarded or self.contract_gateway(), 15, "the hub's contracts")
        # Give the universe read time to push every contract (and MDHUB its chance to win).
        wait(lambda: any("contracts from hub" in log["msg"] for log in self.logs), 15, "the contract list")
        name = "bars_on_hub"
        cta.add_strategy(STRATEGY_CLASS, name, self.args.vt_symbol, {"window": 3})
        cta.init_strategy(name).result(timeout=10)
        cta.start_strategy(name)
        strategy = cta.strategies[name]
        time.sleep(self.args.seconds)
        refused: list[str] = []
        if with_ctp:
            # An order as CtaTemplate.send_order makes it, with an offset CTP refuses before
            # it touches the network: where it is refused shows where it was routed.
            refused = cta.send_order(strategy, Direction.LONG, Offset.NONE, 3000.0, 1, False, False, False)
            # Its log comes through the event queue: let the queue reach it before stopping.
            wait(lambda: any(log["gateway_name"] == "CTP" for log in self.logs), 5, "CTP's answer")
        cta.stop_strategy(name)
        report = {
            "strategy_class_file": sys.modules[type(strategy).__module__].__file__,
            "tick_count": strategy.tick_count,
            "bar_count": strategy.bar_count,
            "bars": [bar_record(b) for b in strategy.bars],
            "current_bar": bar_record(strategy.bg.bar),
            "contract_gateway": self.contract_gateway(),
            "order_ids": refused,
            "refused_by_mdhub": self.gateway.refused_orders,
        }
        return report

    def run_recorder(self) -> dict[str, Any]:
        from vnpy.trader.database import DB_TZ, get_database
        from vnpy_datarecorder import DataRecorderApp
        from vnpy_datarecorder.engine import RecorderEngine

        SETTINGS["database.name"] = "sqlite"
        SETTINGS["database.database"] = "database.db"  # under .vntrader in the temp dir
        recorder: RecorderEngine = self.main_engine.add_app(DataRecorderApp)
        # Flush every timer tick (1 s) instead of every 10: a short test.
        recorder.timer_interval = 1
        self.connect()
        wait(lambda: self.contract_gateway(), 15, "the hub's contracts")
        started = datetime.now(DB_TZ)
        recorder.add_tick_recording(self.args.vt_symbol)
        time.sleep(self.args.seconds)
        recorder.remove_tick_recording(self.args.vt_symbol)
        delivered = len(self.ticks)
        # Two timer ticks: what was buffered is queued, then written by the recorder's thread.
        time.sleep(2.5)
        self.main_engine.close()
        symbol, _, exchange = self.args.vt_symbol.rpartition(".")
        rows = get_database().load_tick_data(
            symbol, Exchange(exchange), started - timedelta(days=1), datetime.now(DB_TZ) + timedelta(days=1)
        )
        return {
            "recorded": [tick_record(t) for t in rows],
            "delivered": self.ticks[:delivered],
            "database": str(Path(SETTINGS["database.database"]).resolve()),
        }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["cta", "cta-ctp", "recorder"])
    parser.add_argument("--pub", required=True)
    parser.add_argument("--snapshot", required=True)
    parser.add_argument("--vt-symbol", required=True)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--report", required=True, type=Path)
    args = parser.parse_args(argv)
    host = Host(args)
    try:
        if args.mode == "recorder":
            report = host.run_recorder()
        else:
            report = host.run_cta(with_ctp=args.mode == "cta-ctp")
    finally:
        host.main_engine.close()
    report["logs"] = host.logs
    report["gateway"] = {"forwarded": host.gateway.ticks_forwarded, "bad": host.gateway.bad_ticks}
    args.report.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
