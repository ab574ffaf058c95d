"""The universe in the engine: a product subscription follows a roll without an operator,
clients' on-demand subscriptions outside the universe are refused and counted. A real
``Engine`` and ``TickHub`` on ipc, a controlled exchange date, real ZMQ client sockets."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq

from aggregation.exchange_time import CHINA_TZ
from engine.config import AccountConfig, EngineConfig
from engine.loop import Engine
from engine.universe_roll import roll_universe


class WallClock:
    def __init__(self, when: str) -> None:
        self.set(when)

    def set(self, when: str) -> None:
        self.now = datetime.fromisoformat(when).replace(tzinfo=CHINA_TZ).timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def run_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="uni", dir="/tmp"))  # ipc names must stay short
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def ctx() -> Iterator[zmq.Context[Any]]:
    context: zmq.Context[Any] = zmq.Context()
    yield context
    context.destroy(linger=0)


def make_engine(run_dir: Path, clock: WallClock, subscriptions: list[str], **kw: Any) -> Engine:
    config = EngineConfig(
        run_dir=run_dir,
        pub_addr=f"ipc://{run_dir}/pub.ipc",
        snapshot_addr=f"ipc://{run_dir}/snap.ipc",
        accounts=kw.pop("accounts", []),
        subscriptions=subscriptions,
        contracts=kw.pop("contracts", []),
        calendar=None,
        sim_addr=f"ipc://{run_dir}/no-exchange.ipc",
    )
    return Engine(config, wall_clock=clock)


def control_listener(ctx: zmq.Context[Any], engine: Engine) -> zmq.Socket[Any]:
    """What a worker hears on the hub's control socket (every account's commands)."""
    sub: zmq.Socket[Any] = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(engine.control_addr)
    time.sleep(0.3)  # a PUB drops what it sends before the subscription arrives
    return sub


def commands(sub: zmq.Socket[Any], wait: float = 1.0) -> list[tuple[str, str, list[str]]]:
    out = []
    deadline = time.monotonic() + wait
    while sub.poll(max(0, int((deadline - time.monotonic()) * 1000))):
        account, body = sub.recv_multipart()
        command = msgpack.unpackb(body)
        if command["cmd"] != "heartbeat":
            out.append((account.decode(), command["cmd"], list(command["symbols"])))
        deadline = min(deadline, time.monotonic() + 0.2)
    return out


def test_a_product_subscription_follows_a_simulated_roll_without_an_operator(
    run_dir: Path, ctx: zmq.Context[Any]
) -> None:
    clock = WallClock("2026-12-15T10:00:00")  # rb2612's last trading day
    engine = make_engine(run_dir, clock, ["rb", "IF.main"])
    try:
        subscribed = set(engine.hub.subscribed)
        assert "rb2612.SHFE" in subscribed and "rb2712.SHFE" not in subscribed
        assert "IF2612.CFFEX" in subscribed and "IF2701.CFFEX" not in subscribed
        assert not {"rb", "IF.main"} & subscribed
        listener = control_listener(ctx, engine)

        # The hub's last values: IF2701 now holds more open interest than the front month.
        engine.hub.last_value[b"tick.IF2612.CFFEX"] = msgpack.packb({"open_interest": 50_000})
        engine.hub.last_value[b"tick.IF2701.CFFEX"] = msgpack.packb({"open_interest": 80_000})
        clock.set("2026-12-16T09:00:00")  # the day after: rb2612 expired, rb2712 listed
        change = roll_universe(engine)
        assert change is not None and change.mains["IF"] == "IF2701.CFFEX"
        assert change.removed == {"rb2612.SHFE", "IF2612.CFFEX"}
        assert change.added == {"rb2712.SHFE", "IF2701.CFFEX"}
        assert "rb2612.SHFE" not in engine.hub.subscribed and "rb2712.SHFE" in engine.hub.subscribed
        heard = commands(listener)
        assert ("*", "subscribe", ["IF2701.CFFEX", "rb2712.SHFE"]) in heard, heard
        assert roll_universe(engine) is None  # once a day

        # On IF2612's last trading day it cannot be the main, whatever its open interest.
        engine.hub.last_value[b"tick.IF2612.CFFEX"] = msgpack.packb({"open_interest": 900_000})
        clock.set("2026-12-18T09:30:00")
        change = roll_universe(engine)
        assert change is not None and change.mains["IF"] == "IF2701.CFFEX" and not change.added
    finally:
        engine.stop()


def test_a_canary_that_names_a_main_contract_moves_with_it(run_dir: Path) -> None:
    clock = WallClock("2026-12-17T10:00:00")
    sim = AccountConfig("sim-a", "sim", {}, 1, canaries=["IF.main"], enabled=False)
    engine = make_engine(run_dir, clock, ["IF.main"], accounts=[sim])
    try:
        assert engine.sources["sim-a"].config.canaries == ["IF2612.CFFEX"]
        assert engine.hub.watch_topics == {b"tick.IF2612.CFFEX"}
        clock.set("2026-12-18T09:30:00")
        roll_universe(engine)
        assert engine.sources["sim-a"].config.canaries == ["IF2701.CFFEX"]
        assert engine.hub.watch_topics == {b"tick.IF2701.CFFEX"}
    finally:
        engine.stop()


def test_on_demand_subscriptions_outside_the_universe_are_refused_and_counted(
    run_dir: Path, ctx: zmq.Context[Any]
) -> None:
    clock = WallClock("2026-12-01T10:00:00")
    # An admin entry of a product the rules do not know stays in the universe.
    table = [{"symbol": "XYZ1", "exchange": "SGE"}]
    engine = make_engine(run_dir, clock, ["rb.main"], contracts=table)
    try:
        listener = control_listener(ctx, engine)
        client = ctx.socket(zmq.SUB)
        client.connect(engine.config.pub_addr)
        for topic in ("tick.zz17.SHFE", "tick.rb2701.SHFE", "tick.rb2601.SHFE", "tick.XYZ1.SGE", "tick.rb"):
            client.setsockopt(zmq.SUBSCRIBE, topic.encode())
        deadline = time.monotonic() + 5
        stats = engine.hub.stats
        while time.monotonic() < deadline and stats.upstream_refused + stats.upstream_subscriptions < 4:
            engine.hub.poll(50)
        # zz17 is no contract, rb2601 expired in January 2026: refused, counted, never upstream.
        assert stats.upstream_refused == 2
        assert stats.upstream_subscriptions == 2
        heard = commands(listener)
        asked = {symbol for _, cmd, symbols in heard if cmd == "subscribe" for symbol in symbols}
        assert asked == {"rb2701.SHFE", "XYZ1.SGE"}, heard
        assert "zz17.SHFE" not in engine.hub.subscribed
        client.close()
    finally:
        engine.stop()
