"""Real vn.py apps on a running hub: vnpy_ctastrategy's engine runs examples/cta_strategy.py,
vnpy_datarecorder records into vnpy_sqlite, and vnpy_ctp takes the orders (docs/vnpy.md).

Each app runs in a process of its own (tests/vnpy_app_host.py), its HOME and working
directory a temporary directory, so vn.py's ``.vntrader`` never lands in the tree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aggregation.client import HubAddress, HubClient
from mdhub_client.universe import UniverseUnavailable, read_universe
from tests.hub_process import PROJECT, HubProcess
from tests.zmq_helpers import wait_for

EXAMPLE = PROJECT / "examples" / "cta_strategy.py"
# vn.py compares ticks by these (tests/vnpy_app_host.py writes them).
SAME = ("datetime_us", "last_price", "volume", "turnover", "open_interest", "bid_price_1", "ask_price_1")


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    process = HubProcess(tmp_path_factory.mktemp("hub"), MDHUB_SIM_RATE="5")
    process.manage("migrate", "--noinput")
    process.manage("seed_demo")
    process.start()
    yield process
    process.stop()


def served(hub: HubProcess, product: str, exchange: str) -> str:
    """A contract of ``product`` the hub serves, once it has ticked."""

    def find() -> str | None:
        try:
            universe = read_universe(hub.snap_addr, [product], timeout=1.0)
        except UniverseUnavailable:
            return None
        return next((s for s in sorted(universe) if s.endswith(f".{exchange}")), None)

    symbol: str = wait_for(find, timeout=45, step=0.5)
    return symbol


@pytest.fixture(scope="module")
def future(hub: HubProcess) -> str:
    """An SHFE future (millisecond stamps: vnpy_sqlite keeps one tick per contract and time)."""
    return served(hub, "rb", "SHFE")


@pytest.fixture(scope="module")
def index_future(hub: HubProcess) -> str:
    """A CFFEX future: vn.py's offset converter passes its orders through as they are (an
    SHFE order with no offset would be dropped before any gateway saw it)."""
    return served(hub, "IF", "CFFEX")


def run_host(tmp_path: Path, hub: HubProcess, mode: str, vt_symbol: str, seconds: float) -> dict[str, Any]:
    (tmp_path / ".vntrader").mkdir()
    (tmp_path / "strategies").mkdir()
    shutil.copy(EXAMPLE, tmp_path / "strategies" / EXAMPLE.name)
    report = tmp_path / "report.json"
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "PYTHONPATH": str(PROJECT),
        "QT_QPA_PLATFORM": "offscreen",
    }
    args = ["--pub", hub.pub_addr, "--snapshot", hub.snap_addr, "--vt-symbol", vt_symbol]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.vnpy_app_host",
            mode,
            *args,
            "--seconds",
            str(seconds),
            "--report",
            str(report),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    data: dict[str, Any] = json.loads(report.read_text())
    return data


def test_a_cta_strategy_from_a_file_gets_the_hubs_ticks_and_builds_bars(
    tmp_path: Path, hub: HubProcess, future: str
) -> None:
    report = run_host(tmp_path, hub, "cta", future, seconds=4)

    # The CTA engine loaded the strategy from the copied file, not from the tree.
    assert report["strategy_class_file"] == str(tmp_path / "strategies" / EXAMPLE.name)
    assert report["contract_gateway"] == "MDHUB"
    # 5 snapshots a second for 4 s (and the snapshot first).
    assert report["tick_count"] >= 12, report["logs"]
    bar = report["current_bar"]
    assert bar is not None and bar["gateway_name"] == "MDHUB"
    assert bar["low"] <= bar["open"] <= bar["high"] and bar["low"] <= bar["close"] <= bar["high"]
    # The strategy's ticks crossed at most one minute boundary in 4 s: a closed bar is a
    # whole minute of the ticks before it, stamped at its minute in exchange time.
    assert report["bar_count"] == len(report["bars"]) <= 1
    for closed in report["bars"]:
        assert closed["datetime"].endswith(":00+08:00") and closed["low"] <= closed["high"]
    assert report["refused_by_mdhub"] == 0


def test_the_data_recorder_stores_exactly_the_ticks_the_hub_forwarded(
    tmp_path: Path, hub: HubProcess, future: str
) -> None:
    # The truth: the hub's stream of that contract, read by the plain client all along.
    truth: list[dict[str, Any]] = []
    stop = threading.Event()

    def read_truth() -> None:
        with HubClient(HubAddress(hub.pub_addr, hub.snap_addr), [future]) as client:
            while not stop.is_set():
                fields = client.recv(0.1)
                if fields is not None:
                    truth.append(fields)

    reader = threading.Thread(target=read_truth)
    reader.start()
    try:
        wait_for(lambda: truth, timeout=10)
        report = run_host(tmp_path, hub, "recorder", future, seconds=4)
    finally:
        stop.set()
        reader.join()

    recorded = report["recorded"]
    assert len(recorded) >= 12, report["logs"]
    assert Path(report["database"]).is_relative_to(tmp_path)
    # What vn.py was given is what it stored...
    delivered = [{k: t[k] for k in SAME} for t in report["delivered"]]
    stored = [{k: t[k] for k in SAME} for t in recorded]
    assert stored == delivered
    assert {t["gateway_name"] for t in report["delivered"]} == {"MDHUB"}
    # ...and that is the hub's stream over the same span: no tick missing, none twice.
    first, last = stored[0]["datetime_us"], stored[-1]["datetime_us"]
    forwarded = [
        {
            "datetime_us": f["datetime"] // 1000,
            **{k: f[k] for k in SAME if k != "datetime_us"},
        }
        for f in truth
        if first <= f["datetime"] // 1000 <= last
    ]
    assert stored == forwarded


def test_orders_go_to_ctp_while_the_market_data_comes_from_the_hub(
    tmp_path: Path, hub: HubProcess, index_future: str
) -> None:
    report = run_host(tmp_path, hub, "cta-ctp", index_future, seconds=2)

    # CTP's contract won over the hub's, though the hub listed the same contract later.
    assert report["contract_gateway"] == "CTP"
    # The CTA engine subscribed through CTP's contract; route_market_data sent it to the hub.
    assert report["tick_count"] >= 5, report["logs"]
    assert report["current_bar"]["gateway_name"] == "MDHUB"
    # The order went to vnpy_ctp's own gateway, which refused the offset before the network.
    assert report["order_ids"] == []
    assert report["refused_by_mdhub"] == 0
    ctp_logs = [log["msg"] for log in report["logs"] if log["gateway_name"] == "CTP"]
    assert "请选择开平方向" in ctp_logs, report["logs"]
