"""The bar service as its own process against a real hub with three sim sources."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq

from tests.hub_process import PROJECT, HubProcess


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    # The test runs the service itself: the hub supervises none (tests/test_services_supervised.py).
    process = HubProcess(tmp_path, MDHUB_SIM_RATE="5", MDHUB_SERVICES="")
    process.manage("migrate", "--noinput")
    process.manage("seed_demo")
    yield process
    if process.proc is not None:
        process.stop()


def start_service(hub: HubProcess, tmp_path: Path) -> subprocess.Popen[bytes]:
    # 5-second bars so that bars close within the test; the sim market is open around the
    # clock, so the service takes the always-open calendar.
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.runner",
            "--service=bars",
            "--intervals=5s,1m",
            "--grace-ms=300",
            "--calendar=sim",
            f"--pub={hub.pub_addr}",
            f"--snapshot={hub.snap_addr}",
            f"--ingest=ipc://{hub.run_dir / 'ingest.ipc'}",
        ],
        cwd=PROJECT,
        env=hub.env,
        stdout=(tmp_path / "service.log").open("wb"),
        stderr=subprocess.STDOUT,
    )


def test_a_client_gets_bars_from_the_hub_and_killing_the_service_leaves_ticks_untouched(
    hub: HubProcess, tmp_path: Path, zmq_ctx: zmq.Context[Any]
) -> None:
    ticks = zmq_ctx.socket(zmq.SUB)
    ticks.setsockopt(zmq.SUBSCRIBE, b"tick.")
    ticks.connect(hub.pub_addr)
    bars = zmq_ctx.socket(zmq.SUB)
    bars.setsockopt(zmq.SUBSCRIBE, b"bar.5s.")
    bars.connect(hub.pub_addr)
    hub.start()
    service = start_service(hub, tmp_path)
    try:
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len({b["symbol"] for b in got}) < 3:
            if bars.poll(200):
                topic, payload = bars.recv_multipart()
                fields = msgpack.unpackb(payload)
                assert topic.decode() == f"bar.5s.{fields['symbol']}.{fields['exchange']}"
                got.append(fields)
            while ticks.poll(0):
                ticks.recv_multipart()
        log = (tmp_path / "service.log").read_text(errors="replace")
        assert len({b["symbol"] for b in got}) >= 3, f"bars: {got[:3]}\n{log[-3000:]}\n{hub.log()[-3000:]}"
        bar = got[-1]
        assert bar["source"] == "svc-bars" and bar["seq"] >= 1 and bar["interval"] == "5s"
        assert bar["high_price"] >= bar["low_price"] > 0 and bar["end"] - bar["datetime"] == 5_000_000_000

        # Tick seqs per topic before, across and after the kill: no gap, and ticks go on.
        seqs: dict[bytes, int] = {}
        gaps = 0
        after_kill = 0
        killed_at = time.monotonic() + 1.5
        until = killed_at + 3.0
        killed = False
        while time.monotonic() < until:
            if not killed and time.monotonic() >= killed_at:
                service.send_signal(signal.SIGKILL)
                service.wait(5)
                killed = True
            if ticks.poll(100):
                topic, payload = ticks.recv_multipart()
                seq = msgpack.unpackb(payload)["seq"]
                if topic in seqs and seq != seqs[topic] + 1:
                    gaps += 1
                seqs[topic] = seq
                after_kill += killed
        assert killed and gaps == 0
        assert after_kill > 50, "the tick stream stopped with the service"
        assert hub.proc is not None and hub.proc.poll() is None, hub.log()
    finally:
        if service.poll() is None:
            service.kill()
            service.wait(5)
