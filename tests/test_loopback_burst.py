"""The loopback front's burst mode (``gateways.loopback.burst``) and the market benchmark
(``bench/market.py``) it feeds: every contract at each 500 ms boundary, through the pinned
CtpGateway and through the sim kind, into the real hub and out to a client."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq

from aggregation.exchange_time import CHINA_TZ
from bench.market import Front, run_path, spawn, wait_until
from gateways.loopback.build import main as build_loopback
from gateways.loopback.burst import (
    MarketContent,
    build_round,
    depth_body,
    market_products,
    sim_parts,
    sim_round,
)
from gateways.loopback.front import Quirks, decode_payload, depth_fields, encode_frame, send_control
from gateways.simexchange import PRODUCTS
from tests.zmq_helpers import free_port

# One contract of every exchange a CTP front serves, CZCE (whole seconds) and DCE (its
# ActionDay) among them.
PRODUCTS_BY_EXCHANGE = {p.exchange: p for p in reversed(market_products(len(PRODUCTS) + 20))}


def stamp(text: str) -> int:
    local = datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ)
    return int(local.timestamp()) * 1_000_000_000 + local.microsecond * 1_000


@pytest.mark.parametrize(
    "when", ["2026-12-01 10:14:59.500", "2026-12-01 21:00:00.000", "2026-12-04 23:59:59.500"]
)
@pytest.mark.parametrize("quirks", [Quirks(), Quirks(empty_levels=2, exchange_days=False, dbl_max=False)])
def test_a_burst_record_carries_what_the_front_sends_for_the_same_snapshot(when: str, quirks: Quirks) -> None:
    products = list(PRODUCTS_BY_EXCHANGE.values())
    assert {"CZCE", "DCE", "SHFE", "CFFEX"} <= set(PRODUCTS_BY_EXCHANGE)
    snaps = MarketContent(products, lambda snap: snap).rounds(len(products), 1)[0]
    at = stamp(when)
    batch = build_round(at, [p.exchange for p in products], [depth_body(s, quirks) for s in snaps], quirks)
    for i, snap in enumerate(snaps):
        frame = batch.data[batch.offsets[i] : batch.offsets[i + 1]]
        assert int.from_bytes(frame[:4], "big") == len(frame) - 4 and frame[4:5] == b"D"
        # The simulated exchange stamps CZCE in whole seconds.
        exact = at - at % 1_000_000_000 if snap["exchange"] == "CZCE" else at
        front = encode_frame(b"D", depth_fields(dict(snap, datetime=exact), quirks, 0.0))
        assert dict(decode_payload(frame[5:])) == dict(decode_payload(front[5:])), snap["exchange"]


def test_a_sim_burst_message_is_the_snapshot_the_simulated_exchange_publishes() -> None:
    products = list(PRODUCTS_BY_EXCHANGE.values())
    snaps = MarketContent(products, lambda snap: snap).rounds(len(products), 1)[0]
    at = stamp("2026-12-01 21:00:00.500")
    messages = sim_round(at, [sim_parts(s) for s in snaps])
    for snap, message in zip(snaps, messages, strict=True):
        exact = at - at % 1_000_000_000 if snap["exchange"] == "CZCE" else at
        assert msgpack.unpackb(message) == dict(snap, datetime=exact)


def test_market_content_plays_the_same_series_again_after_a_reset() -> None:
    products = market_products(30)
    content = MarketContent(products, lambda snap: (snap["volume"], snap["last_price"]))
    first = content.rounds(30, 3)
    assert all(a[0] <= b[0] for a, b in zip(first[0], first[2], strict=True))  # volume never goes back
    content.reset()
    assert content.rounds(30, 3) == first
    again = MarketContent(products, lambda snap: (snap["volume"], snap["last_price"]))
    assert again.rounds(30, 3) == first  # another process with the seed makes the same content


@pytest.fixture
def burst_front(tmp_path: Path) -> Iterator[tuple[str, str]]:
    build_loopback()  # idempotent: a no-op once ./dev setup has built the libraries
    address, control = f"tcp://127.0.0.1:{free_port()}", f"ipc://{tmp_path}/frontctl.ipc"
    argv = [
        sys.executable,
        "-m",
        "gateways.loopback.burst",
        "front",
        "--listen",
        address,
        "--control",
        control,
    ]
    proc = spawn([*argv, "--contracts", "300", "--quirks", '{"replay": false}'], tmp_path / "front.log")
    try:
        wait_until(lambda: send_control(control, timeout=1.0, cmd="burst_status").get("ok"), 60, "the front")
        yield address, control
    finally:
        proc.terminate()
        proc.wait(5)


def open_fds(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


def test_a_ctp_worker_sends_a_whole_burst_on_one_socket(
    tmp_path: Path, burst_front: tuple[str, str], zmq_ctx: zmq.Context[Any]
) -> None:
    """The vn.py wrapper calls back from a C++ thread with a new Python thread state per call:
    the worker's sender used to open a socket per tick there (a file descriptor each)."""
    address, control = burst_front
    ingest = f"ipc://{tmp_path}/ingest.ipc"
    pull = zmq_ctx.socket(zmq.PULL)
    pull.setsockopt(zmq.RCVTIMEO, 200)
    pull.bind(ingest)
    products = market_products(300)
    spec = {
        "account": "carol",
        "gateway_type": "ctp",
        "settings": {
            "userID": "carol",
            "password": "pw-burst",
            "brokerID": "9999",
            "mdAddress": address,
            "loopback": True,
        },
        "ingest": ingest,
        "control": f"ipc://{tmp_path}/control.ipc",
        "workdir": str(tmp_path / "carol"),
        "subscriptions": [f"{p.symbol}.{p.exchange}" for p in products],
        "contracts": [{"symbol": p.symbol, "exchange": p.exchange, "name": p.name} for p in products],
        "calendar": None,
        "subscribe_batch": 300,
        "log_level": "WARNING",
    }
    worker = spawn(
        [sys.executable, "-m", "gateways.worker"], tmp_path / "carol.log", stdin=json.dumps(spec).encode()
    )
    try:

        def subscribed() -> bool:
            connections = send_control(control, timeout=1.0, cmd="burst_status").get("connections") or []
            return any(c["user"] == "carol" and c["subscribed"] == 300 for c in connections)

        wait_until(subscribed, 60, "carol to log in and subscribe")
        time.sleep(1.0)  # the status thread's socket is open too
        fds = open_fds(worker.pid)
        reply = send_control(control, timeout=60, cmd="burst", contracts=300, rounds=3)
        assert reply["ok"] and reply["connections"] == 1
        ticks: set[tuple[bytes, bytes]] = set()
        deadline = time.monotonic() + 15
        while len(ticks) < 900 and time.monotonic() < deadline:
            try:
                frame = pull.recv()
            except zmq.Again:
                continue
            if frame[:1] == b"T":
                topic_at = 3 + frame[1]
                key_at = topic_at + frame[2]
                ticks.add((frame[topic_at:key_at], frame[key_at : key_at + 16]))
        assert len(ticks) == 900, "every contract of every round, once"
        assert open_fds(worker.pid) - fds < 5
    finally:
        worker.terminate()
        worker.wait(5)
        pull.close()


@pytest.mark.parametrize("path", ["sim", "ctp"])
def test_the_market_benchmark_times_every_contract_of_every_round(tmp_path: Path, path: str) -> None:
    if path == "ctp":
        build_loopback()
    args = argparse.Namespace(sizes=[40, 120], rounds=2, delays_ms=[0.0, 1.0, 2.0], tail=5.0)
    fronts: list[Front] = []
    try:
        results = run_path(path, args, fronts, tmp_path)
    finally:
        for front in fronts:
            front.close()
    assert [r["contracts"] for r in results] == [40, 120]
    for result in results:
        # The second burst continues each contract's series: nothing dropped as going back.
        assert result["delivered"] == result["expected"] == result["contracts"] * 2
        assert 0 < result["p50"] <= result["max"] < 5_000
        assert result["last_p50"] <= result["last_max"] == result["max"]
        assert set(result["winners"]) <= {"mkt-a", "mkt-b", "mkt-c"}
        assert sum(result["winners"].values()) == result["delivered"]
    assert results[0]["hub"]["forwarded"] == sum(r["contracts"] * 3 for r in results)  # warm-up rounds too
