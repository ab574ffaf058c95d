"""The hub's data plane with real ZeroMQ sockets: dedup, publish, snapshots, bad input."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq

from aggregation.hub import TickHub
from aggregation.wire import pack
from tests.zmq_helpers import free_port, tick_frames, wait_for


class RunningHub:
    def __init__(self, tmp_path: Path) -> None:
        self.pub_addr = f"tcp://127.0.0.1:{free_port()}"
        self.snap_addr = f"tcp://127.0.0.1:{free_port()}"
        self.ingest_addr = f"ipc://{tmp_path}/ingest.ipc"
        self.ctx: zmq.Context[Any] = zmq.Context()
        self.hub = TickHub(
            self.ingest_addr,
            self.pub_addr.replace("127.0.0.1", "*"),
            self.snap_addr,
            f"ipc://{tmp_path}/control.ipc",
            ctx=self.ctx,
        )
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.stop.is_set():
            self.hub.poll(10)

    def push(self) -> zmq.Socket[Any]:
        sock: zmq.Socket[Any] = self.ctx.socket(zmq.PUSH)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(self.ingest_addr)
        return sock

    def sub(self, prefix: bytes = b"tick.") -> zmq.Socket[Any]:
        sock: zmq.Socket[Any] = self.ctx.socket(zmq.SUB)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SUBSCRIBE, prefix)
        sock.connect(self.pub_addr)
        return sock

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.hub.close()
        self.ctx.destroy(linger=0)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningHub]:
    hub = RunningHub(tmp_path)
    yield hub
    hub.close()


def recv_all(sock: zmq.Socket[Any], timeout_ms: int = 300) -> list[dict[str, Any]]:
    out = []
    while sock.poll(timeout_ms):
        topic, payload = sock.recv_multipart()
        decoded = msgpack.unpackb(payload)
        decoded["_topic"] = topic
        out.append(decoded)
    return out


def test_the_first_copy_is_published_once_with_source_and_seq(running: RunningHub) -> None:
    sub = running.sub()
    wait_for(lambda: running.hub.pub.closed is False)
    a, b = running.push(), running.push()
    time.sleep(0.3)  # let the subscription reach the hub
    for i in range(5):
        frames = tick_frames("rb2601.SHFE", 1_000 + i, float(i))
        a.send_multipart((b"T", b"sim-a", *frames))
        b.send_multipart((b"T", b"sim-b", *frames))
    got = recv_all(sub)
    assert [t["seq"] for t in got] == [1, 2, 3, 4, 5]
    assert [t["volume"] for t in got] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert {t["source"] for t in got} <= {"sim-a", "sim-b"}
    assert all(t["v"] == 1 and t["_topic"] == b"tick.rb2601.SHFE" for t in got)
    stats = running.hub.sources
    assert stats[b"sim-a"].received == 5 and stats[b"sim-b"].received == 5
    assert stats[b"sim-a"].first + stats[b"sim-b"].first == 5
    assert stats[b"sim-a"].duplicates + stats[b"sim-b"].duplicates == 5


def test_malformed_frames_are_counted_and_the_hub_keeps_going(running: RunningHub) -> None:
    sub = running.sub()
    push = running.push()
    time.sleep(0.3)
    # Too few frames: the hub reads a tick's five frames and checks the end once (the cost
    # of a check per frame is on every tick), so this one runs into the next message and
    # both count as one malformed message.
    push.send_multipart((b"T", b"sim-a", b"tick.x"))
    push.send_multipart((b"Q", b"sim-a", b"?"))  # unknown kind
    push.send_multipart((b"T", b"sim-a", b"tick.x.SHFE", b"short-key", b"\x80"))
    topic, key, _ = tick_frames("rb2601.SHFE", 5, 1.0)
    push.send_multipart((b"T", b"sim-a", topic, key, b"\x81\xa1a\x01"))  # a fixmap, not map16
    push.send_multipart((b"S", b"sim-a", b"\xc1"))  # invalid msgpack
    push.send_multipart((b"T", b"sim-a", *tick_frames("rb2601.SHFE", 6, 2.0)))
    got = recv_all(sub)
    assert [t["volume"] for t in got] == [2.0]
    assert running.hub.stats.malformed == 4


def test_snapshot_returns_the_last_value_of_each_topic_with_the_prefix(running: RunningHub) -> None:
    push = running.push()
    for i, vt in enumerate(["rb2601.SHFE", "rb2605.SHFE", "cu2601.SHFE", "rb2601.SHFE"]):
        push.send_multipart((b"T", b"sim-a", *tick_frames(vt, 10 + i, float(i))))
    wait_for(lambda: running.hub.stats.forwarded == 4)
    dealer = running.ctx.socket(zmq.DEALER)
    dealer.connect(running.snap_addr)
    dealer.send_multipart((b"SNAP", b"tick.rb"))
    replies = []
    while True:
        assert dealer.poll(3000)
        frames = dealer.recv_multipart()
        if frames[0] == b"END":
            assert msgpack.unpackb(frames[1]) == 2
            break
        replies.append((frames[0], msgpack.unpackb(frames[1])))
    by_topic = {t: p for t, p in replies}
    assert set(by_topic) == {b"tick.rb2601.SHFE", b"tick.rb2605.SHFE"}
    assert by_topic[b"tick.rb2601.SHFE"]["seq"] == 2
    assert by_topic[b"tick.rb2601.SHFE"]["volume"] == 3.0
    dealer.close()


def test_a_client_subscription_to_a_new_contract_is_passed_upstream(
    running: RunningHub, tmp_path: Path
) -> None:
    worker = running.ctx.socket(zmq.SUB)
    worker.setsockopt(zmq.SUBSCRIBE, b"")
    worker.connect(f"ipc://{tmp_path}/control.ipc")
    time.sleep(0.6)  # the control SUB must be connected before the hub publishes
    # Keep the sockets: one collected at once would close before its subscription is sent.
    clients = [running.sub(b"tick.ag2602.SHFE"), running.sub(b"tick.ag")]  # a prefix cannot go upstream
    assert worker.poll(3000)
    account, command = worker.recv_multipart()
    assert account == b"*"
    assert msgpack.unpackb(command) == {"cmd": "subscribe", "symbols": ["ag2602.SHFE"]}
    assert "ag2602.SHFE" in running.hub.subscribed
    assert not worker.poll(300)
    for client in clients:
        client.close()


def test_status_and_log_frames_reach_the_hub_state(running: RunningHub) -> None:
    push = running.push()
    push.send_multipart((b"S", b"sim-a", pack({"connected": True, "pid": 7, "drops": {"price_invalid": 2}})))
    push.send_multipart((b"L", b"sim-a", pack({"level": "ERROR", "msg": "front lost", "ts": 1.0})))
    wait_for(lambda: running.hub.sources.get(b"sim-a") and running.hub.sources[b"sim-a"].statuses)
    wait_for(lambda: running.hub.log_records)
    assert running.hub.sources[b"sim-a"].last_status["drops"] == {"price_invalid": 2}
    assert running.hub.log_records[-1]["msg"] == "front lost"
    assert running.hub.log_records[-1]["level"] == "ERROR"
