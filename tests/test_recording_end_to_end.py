"""The issue's done-when, end to end: a full simulated trading day, night session included,
recorded by a running hub (``manage.py runhub``, three sim sources), is queried, exported into
vn.py's database and read back by vn.py, and replayed to the example strategy
(``examples.strategy`` as a subprocess) identically to what it printed live.

The simulated exchange's clock is moved (``gateways.simexchange.set_clock``) through a
compressed day, two seconds of wall time at each boundary: the night open, 23:00, midnight,
01:00, 02:30, the day open, the lunch break and the close. Every moment is in the trading day
the hub's own clock is in (the night session is the evening before it), so the journal files
them all under that day. The workers' clock-skew rule is widened for the warped stamps
(``MDHUB_MAX_CLOCK_SKEW``); nothing else is changed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from aggregation.client import HubAddress, HubClient
from aggregation.exchange_time import CHINA_TZ
from aggregation.journal_day import trading_day
from aggregation.sessions import default_calendar
from aggregation.wire import NUMBER_FIELDS, datetime_from_ns
from gateways.simexchange import set_clock
from recording import layout
from recording.query import ticks
from tests.hub_process import PROJECT, HubProcess
from tests.zmq_helpers import free_port, wait_for

SEGMENT_SECONDS = 2.0
# (day offset from the evening before the trading day, time): the compressed day's boundaries.
BOUNDARIES = (
    (0, "20:59:59"),
    (0, "22:59:59"),
    (0, "23:59:59"),
    (1, "00:59:59"),
    (1, "02:29:59"),
    (None, "08:59:59"),
    (None, "11:29:59"),
    (None, "14:59:59"),
)


def previous_trading_day(day: date) -> date:
    calendar = default_calendar()
    d = day - timedelta(days=1)
    while not calendar.is_trading_day(d):
        d -= timedelta(days=1)
    return d


def warp_points(day: date) -> list[datetime]:
    evening = previous_trading_day(day)
    points = []
    for offset, clock in BOUNDARIES:
        on = day if offset is None else evening + timedelta(days=offset)
        points.append(datetime.fromisoformat(f"{on.isoformat()}T{clock}").replace(tzinfo=CHINA_TZ))
    return points


def spawn(args: list[str], env: dict[str, str], out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, *args], cwd=PROJECT, env=env, stdout=out.open("wb"), stderr=subprocess.STDOUT
    )


def strategy(
    env: dict[str, str], pub: str, snap: str, out: Path, count: int | None = None
) -> subprocess.Popen[bytes]:
    extra = ["--count", str(count)] if count is not None else []
    return subprocess.Popen(
        [sys.executable, "-m", "examples.strategy", "--pub", pub, "--snapshot", snap, *extra],
        cwd=PROJECT,
        env=env,
        stdout=out.open("wb"),
        stderr=(out.with_suffix(".err")).open("wb"),
    )


def end(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT, timeout: float = 10.0) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_a_simulated_day_recorded_by_the_hub_is_queried_exported_and_replayed_identically(
    tmp_path: Path,
) -> None:
    calendar = default_calendar()
    day = trading_day(time.time_ns(), calendar.is_trading_day)
    points = warp_points(day)
    hub = HubProcess(tmp_path, MDHUB_MAX_CLOCK_SKEW="864000", MDHUB_SERVICES="", MDHUB_SIM_RATE="10")
    hub.env["MDHUB_SIM_ADDR"] = hub.sim_addr  # the exchange is ours, with its clock
    hub.manage("migrate", "--noinput")
    hub.manage("seed_demo")
    # The sources start only once every reader is connected: the strategy must see the
    # day from its first tick to print what the replay will make it print.
    hub.sql("UPDATE market_data_accounts SET is_enabled = 0 WHERE gateway_type = 'sim'")
    hub.run_dir.mkdir(parents=True, exist_ok=True)
    # Half a minute before the first boundary while the sources log in: the first jump is
    # forward (a clock set back would make the hub drop the next ticks as older ones).
    offset = (points[0].timestamp() - 30) - time.time()
    exchange = spawn(
        [
            "-m",
            "gateways.simexchange",
            "serve",
            "--pub",
            hub.sim_addr,
            "--control",
            hub.sim_control_addr,
            "--contracts",
            "13",
            "--rate",
            "10",
            "--seed",
            "14",
            "--clock-offset",
            str(offset),
        ],
        hub.env,
        tmp_path / "exchange.log",
    )
    live_out = tmp_path / "strategy-live.txt"
    procs: list[subprocess.Popen[bytes]] = [exchange]
    live: list[dict[str, Any]] = []
    try:
        hub.start()
        wait_for(lambda: bool(hub.state()), timeout=30)
        live_strategy = strategy(hub.env, hub.pub_addr, hub.snap_addr, live_out)
        procs.append(live_strategy)
        with HubClient(HubAddress(hub.pub_addr, hub.snap_addr), ["tick."]) as client:
            wait_for(lambda: client.recv(0.05) is not None or client.snapshots >= 1, timeout=10)
            time.sleep(3.0)  # the strategy imports vn.py and takes its (empty) snapshot
            hub.manage(
                "shell",
                "-c",
                "from accounts.models import MarketDataAccount as M\n"
                "for a in M.objects.filter(gateway_type='sim'):\n    a.is_enabled = True; a.save()",
            )
            first = None
            until = time.monotonic() + 30
            while first is None and time.monotonic() < until:
                first = client.recv(0.2)
            assert first is not None, hub.log()[-3000:]
            live.append(first)
            for point in points:
                assert set_clock(hub.sim_control_addr, (point.timestamp() * 1e9 - time.time_ns()) / 1e9)["ok"]
                segment_end = time.monotonic() + SEGMENT_SECONDS
                while time.monotonic() < segment_end:
                    if (tick := client.recv(0.05)) is not None:
                        live.append(tick)
            end(exchange, signal.SIGTERM)  # the market closes; what is in flight still arrives
            drain_end = time.monotonic() + 1.0
            while time.monotonic() < drain_end:
                if (tick := client.recv(0.05)) is not None:
                    live.append(tick)
        end(live_strategy)
        assert hub.stop() == 0, hub.log()[-3000:]
    finally:
        for proc in procs:
            end(proc, signal.SIGTERM)
        if hub.proc is not None:
            hub.stop()
    assert trading_day(time.time_ns(), calendar.is_trading_day) == day, (
        "the hub's trading day rolled mid-test"
    )
    stamps = [datetime_from_ns(t["datetime"], CHINA_TZ) for t in live]
    # Every boundary of the compressed day reached the client: after midnight, the day session.
    for point in points:
        assert any(point <= s < point + timedelta(seconds=3) for s in stamps), point
    assert len(live) > 1000

    # Record (on demand, the admin's calendar), then query: exactly what the client received.
    recorded = json.loads(hub.manage("record_days", "--day", day.isoformat()).stdout)
    assert recorded["ticks"] == len(live)
    root = hub.run_dir / "recording"
    by_contract: dict[str, list[dict[str, Any]]] = {}
    for tick in live:
        by_contract.setdefault(f"{tick['symbol']}.{tick['exchange']}", []).append(tick)
    for vt_symbol, got in by_contract.items():
        rows = ticks(root, vt_symbol, day).rows
        assert [{k: r[k] for k in t} for r, t in zip(rows, got, strict=True)] == got, vt_symbol
    manifest = layout.read_manifest(root, day)
    assert manifest["misdated"] == 0 and manifest["bad"] == 0

    # vn.py's database: export, then vn.py's own load_tick_data reads the ticks back.
    home = tmp_path / "home"
    home.mkdir()
    vnpy_env = {**hub.env, "HOME": str(home), "PYTHONPATH": str(PROJECT)}
    exported = subprocess.run(
        [sys.executable, "-m", "recording", "--root", str(root), "export-vnpy", "--day", day.isoformat()],
        cwd=PROJECT,
        env=vnpy_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(exported.stdout.splitlines()[-1])["ticks"] == len(live)
    shfe = next(v for v in sorted(by_contract) if v.endswith(".SHFE"))
    symbol, exchange_code = shfe.split(".")
    span = (points[0] - timedelta(hours=1)).isoformat(), (points[-1] + timedelta(hours=1)).isoformat()
    loaded = subprocess.run(
        [sys.executable, "-m", "tests.vnpy_db_reader", symbol, exchange_code, *span],
        cwd=PROJECT,
        env=vnpy_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    back = [json.loads(line) for line in loaded.stdout.splitlines()]
    assert len(back) == len(by_contract[shfe])  # SHFE stamps have milliseconds: no two share one
    for got, tick in zip(back, by_contract[shfe], strict=True):
        assert datetime.fromisoformat(got["datetime"]) == datetime_from_ns(tick["datetime"], CHINA_TZ)
        for name in NUMBER_FIELDS:
            assert got[name] == tick.get(name, 0.0), name

    # Replay the day as fast as the strategy reads: it prints what it printed live.
    pub, snap = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    replay = spawn(
        [
            "-m",
            "recording",
            "--root",
            str(root),
            "replay",
            "--day",
            day.isoformat(),
            "--pub",
            pub,
            "--snapshot",
            snap,
            "--speed",
            "0",
            "--wait",
            "30",
        ],
        hub.env,
        tmp_path / "replay.log",
    )
    live_lines = live_out.read_text().splitlines()
    assert len(live_lines) == len(live)
    replay_out = tmp_path / "strategy-replay.txt"
    replayed = strategy(hub.env, pub, snap, replay_out, count=len(live_lines))
    try:
        assert replayed.wait(40) == 0, (tmp_path / "strategy-replay.err").read_text()
    finally:
        end(replayed)
        end(replay, signal.SIGTERM)
    assert replay_out.read_text().splitlines() == live_lines
