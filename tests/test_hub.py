"""The hub's data plane with real ZeroMQ sockets: dedup, publish, snapshots, bad input."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq

from aggregation.dedup import FirstArrival
from aggregation.wire import pack, tick_frame
from tests.hub_helpers import RunningHub
from tests.zmq_helpers import tick_frames, wait_for


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
        a.send(tick_frame(b"sim-a", *frames))
        b.send(tick_frame(b"sim-b", *frames))
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
    topic, key, body = tick_frames("rb2601.SHFE", 5, 1.0)
    push.send(b"T\x05")  # a tick frame cut short
    push.send_multipart((b"T", b"sim-a", topic, key, body))  # the old five-frame tick: dropped whole
    push.send_multipart((b"Q", b"sim-a", b"?"))  # unknown kind
    push.send(tick_frame(b"sim-a", b"tick.x.SHFE", key, b"\x80"))  # body not a map16
    push.send(tick_frame(b"sim-a", topic, key, b"\x81\xa1a\x01"))  # a fixmap, not map16
    push.send(tick_frame(b"sim-a", b"bad.rb2601.SHFE", key, body))  # not a tick topic
    push.send(tick_frame(b"\xff\xfe", topic, key, body))  # account not UTF-8
    push.send_multipart((b"S", b"sim-a", b"\xc1"))  # invalid msgpack
    # Too few frames: status and log frames are read by count without waiting and the end
    # checked once. If the next message is already queued the cut-short one runs into it and
    # both count as one malformed message; if not, it alone is malformed and the next tick
    # goes through. Which one depends on timing; both are right, a crash or a miscount not.
    push.send_multipart((b"S", b"sim-a"))
    push.send(tick_frame(b"sim-a", *tick_frames("rb2601.SHFE", 6, 9.0)))
    push.send(tick_frame(b"sim-a", *tick_frames("rb2601.SHFE", 7, 2.0)))
    got = recv_all(sub)
    volumes = [t["volume"] for t in got]
    assert volumes in ([2.0], [9.0, 2.0]), volumes
    assert running.hub.stats.malformed == 9
    assert running.hub.topics.keys() == {topic}  # no bad copy left dedup state behind
    assert set(running.hub.sources) == {b"sim-a"}
    assert running.hub.sources[b"sim-a"].received == len(volumes)


def test_arrival_times_for_health_including_watched_topics(running: RunningHub) -> None:
    push = running.push()
    watched = b"tick.rb2601.SHFE"
    push.send(tick_frame(b"sim-a", *tick_frames("rb2601.SHFE", 1, 1.0)))
    push.send(tick_frame(b"sim-a", *tick_frames("cu2601.SHFE", 1, 1.0)))
    wait_for(lambda: running.hub.stats.forwarded == 2)
    source = running.hub.sources[b"sim-a"]
    assert source.last_tick_by_topic == {}
    # Set after the first ticks, as the engine does when its accounts change.
    running.hub.watch_topics = {watched}
    before = time.monotonic()
    push.send(tick_frame(b"sim-a", *tick_frames("rb2601.SHFE", 2, 2.0)))
    push.send(tick_frame(b"sim-b", *tick_frames("rb2601.SHFE", 2, 2.0)))  # a duplicate
    push.send(tick_frame(b"sim-a", *tick_frames("cu2601.SHFE", 2, 2.0)))
    wait_for(lambda: running.hub.sources.get(b"sim-b") and running.hub.sources[b"sim-b"].duplicates)
    after = time.monotonic()
    for account in (b"sim-a", b"sim-b"):
        stats = running.hub.sources[account]
        assert set(stats.last_tick_by_topic) == {watched}
        assert before - 0.05 <= stats.last_tick_by_topic[watched] <= after
        assert before - 0.05 <= stats.last_tick_mono <= after
    assert len(running.hub.sources[b"sim-b"].late_ns) == 1


def test_the_hub_forwards_exactly_what_first_arrival_does(running: RunningHub) -> None:
    """The rule inlined in the hub against ``FirstArrival``, on random interleavings of
    lossy, delayed sources with CZCE-style shared stamps (one topic per case)."""
    import random

    sub = running.sub()
    push = running.push()
    time.sleep(0.3)
    rng = random.Random(11)
    expected: list[tuple[bytes, float]] = []
    counts: dict[tuple[bytes, str], int] = {}
    dedup = FirstArrival()
    for case in range(40):
        vt = f"SR{case:03d}.CZCE"
        topic = f"tick.{vt}".encode()
        truth = []
        volume = 0.0
        for second in range(rng.randint(1, 12)):
            for _ in range(rng.randint(1, 3)):
                volume += 1
                truth.append((1_700_000_000_000_000_000 + second * 1_000_000_000, volume))
        arrivals = []
        for source in range(rng.randint(1, 4)):
            delay = rng.uniform(0, 5)
            for index, snap in enumerate(truth):
                if rng.random() < 0.25:
                    continue
                arrivals.append((index + delay + rng.uniform(0, 3), source, snap))
        arrivals.sort()
        for clock, (_, source, (dt_ns, vol)) in enumerate(arrivals):
            account = f"s{source}".encode()
            frames = tick_frames(vt, dt_ns, vol)
            verdict = dedup.offer(topic, frames[1], account.decode(), clock)
            if verdict.forward:
                expected.append((topic, vol))
                what = "first"
            else:
                what = "duplicates" if verdict.late_ns is not None else "too_late"
            counts[account, what] = counts.get((account, what), 0) + 1
            push.send(tick_frame(account, *frames))
    got = recv_all(sub, 1000)
    assert [(t["_topic"], t["volume"]) for t in got] == expected
    assert running.hub.stats.malformed == 0
    for (account, what), count in counts.items():
        assert getattr(running.hub.sources[account], what) == count, (account, what)


def test_snapshot_returns_the_last_value_of_each_topic_with_the_prefix(running: RunningHub) -> None:
    push = running.push()
    for i, vt in enumerate(["rb2601.SHFE", "rb2605.SHFE", "cu2601.SHFE", "rb2601.SHFE"]):
        push.send(tick_frame(b"sim-a", *tick_frames(vt, 10 + i, float(i))))
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


def test_status_and_log_frames_reach_the_hub_state(
    running: RunningHub, caplog: pytest.LogCaptureFixture
) -> None:
    push = running.push()
    push.send_multipart((b"S", b"sim-a", pack({"connected": True, "pid": 7, "drops": {"price_invalid": 2}})))
    push.send_multipart((b"L", b"sim-a", pack({"level": "ERROR", "msg": "front lost", "ts": 1.0})))
    wait_for(lambda: running.hub.sources.get(b"sim-a") and running.hub.sources[b"sim-a"].statuses)
    wait_for(lambda: [r for r in caplog.records if r.name == "mdhub.worker.sim-a"])
    assert running.hub.sources[b"sim-a"].last_status["drops"] == {"price_invalid": 2}
    record = next(r for r in caplog.records if r.name == "mdhub.worker.sim-a")
    assert (record.levelname, record.getMessage(), getattr(record, "account", None)) == (
        "ERROR",
        "front lost",
        "sim-a",
    )
