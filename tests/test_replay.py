"""A recorded day played back (recording.replay) reproduces the stream a client received
live from a real hub: the same ticks, in the same order, with the same seq, epoch, source
and recv_ns, through the unchanged client library; at N× it keeps the original pace."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import zmq

from aggregation.client import HubAddress, HubClient
from aggregation.exchange_time import CHINA_TZ
from aggregation.journal import read_journal
from aggregation.wire import encode_tick, tick_frame
from recording.replay import ReplayServer
from recording.writer import record_day
from tests.journal_helpers import JournalHub
from tests.recording_helpers import china, vn_tick, write_journal
from tests.zmq_helpers import free_port, wait_for

CONTRACTS = ("rb2605.SHFE", "au2606.SHFE", "SR605.CZCE", "IF2612.CFFEX", "m2605.DCE")


def ready(client: HubClient[dict[str, Any]]) -> bool:
    client.recv(0.05)
    return client.snapshots >= 1


def collect(client: HubClient[dict[str, Any]], count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    until = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < until:
        tick = client.recv(0.2)
        if tick is not None:
            got.append(tick)
    return got


def addresses() -> tuple[str, str]:
    return f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"


def start_replay(
    server: ReplayServer, stop: threading.Event | None = None, linger: float = 0.0
) -> threading.Thread:
    kwargs = {"stop": stop, "wait_timeout": 20.0, "linger": linger}
    thread = threading.Thread(target=server.run, kwargs=kwargs, daemon=True)
    thread.start()
    return thread


def test_a_replayed_day_is_the_stream_a_client_received_live_from_the_hub(tmp_path: Path) -> None:
    hub = JournalHub(tmp_path / "journal", tmp_path)
    count = 3000
    try:
        address = HubAddress(hub.pub_addr, hub.snap_addr)
        with HubClient(address, [""]) as live:
            wait_for(lambda: ready(live))
            base = time.time_ns()
            for n in range(count):
                at = (base + n * 1_000_000) // 1000 * 1000
                from aggregation.wire import datetime_from_ns

                tick = vn_tick(CONTRACTS[n % len(CONTRACTS)], datetime_from_ns(at, CHINA_TZ), n)
                topic, key, body = encode_tick(tick, recv_ns=time.time_ns())
                # Two sources deliver every snapshot; the hub forwards the first copy.
                hub.pusher.send(tick_frame(b"sim-a", topic, key, body))
                hub.pusher.send(tick_frame(b"sim-b", topic, key, body))
            hub.sent = count
            recorded = collect(live, count)
            hub.settle()
        assert len(recorded) == count
        assert hub.journal is not None and hub.journal.day is not None
        day = hub.journal.day.day
    finally:
        hub.close()
    root = tmp_path / "recording"
    assert record_day(tmp_path / "journal", root, day).ticks == count

    pub, snap = addresses()
    server = ReplayServer(root, day, pub, snap, speed=0)
    thread = start_replay(server)
    try:
        with HubClient(HubAddress(pub, snap), [""]) as client:
            replayed = collect(client, count)
            assert client.gaps == 0 and client.stale_dropped == 0
    finally:
        thread.join(20)
        server.close()
    assert server.stats.sent == count
    # Same ticks, same order, same seq, epoch, source, recv_ns: every field.
    assert [(t["symbol"], t["seq"]) for t in replayed] == [(t["symbol"], t["seq"]) for t in recorded]
    assert replayed == recorded


def test_replay_sends_the_published_payloads_byte_for_byte_and_a_late_snapshot_is_the_last_value(
    tmp_path: Path,
) -> None:
    journal, root = tmp_path / "journal", tmp_path / "recording"
    at = china("2026-12-01 09:00:00")
    write_journal(journal, [(CONTRACTS[i % 3], at + timedelta(milliseconds=250 * i)) for i in range(300)])
    tape = read_journal(journal / "2026-12-01.mdj")[0]
    record_day(journal, root, date(2026, 12, 1))
    pub, snap = addresses()
    server = ReplayServer(root, date(2026, 12, 1), pub, snap, speed=0, snapshot_wait=0.1)
    stop = threading.Event()
    thread = start_replay(server, stop, linger=20.0)
    ctx: zmq.Context[Any] = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"tick.")
    sub.setsockopt(zmq.RCVTIMEO, 10_000)
    sub.connect(pub)
    try:
        got = [tuple(sub.recv_multipart()) for _ in range(300)]
        assert got == [(topic, payload) for topic, _epoch, _seq, payload in tape]
        # A client joining after the end gets the hub's answer: the last tick of each topic.
        dealer = ctx.socket(zmq.DEALER)
        dealer.setsockopt(zmq.RCVTIMEO, 5_000)
        dealer.connect(snap)
        dealer.send_multipart([b"SNAP", b"tick.rb"])
        assert dealer.recv_multipart() == [CONTRACTS[0].join(("tick.", "")).encode(), tape[-3][3]]
        assert dealer.recv_multipart()[0] == b"END"
        dealer.close(0)
    finally:
        stop.set()
        thread.join(20)
        sub.close(0)
        server.close()
        ctx.destroy(0)


def test_replay_at_n_times_speed_keeps_the_original_pace(tmp_path: Path) -> None:
    journal, root = tmp_path / "journal", tmp_path / "recording"
    at = china("2026-12-01 10:00:00")
    # recv_ns follows the exchange times (helper: exchange time + 2.5 ms): 2 s of ticks.
    write_journal(journal, [("rb2605.SHFE", at + timedelta(milliseconds=20 * i)) for i in range(101)])
    record_day(journal, root, date(2026, 12, 1))
    for speed, lowest, highest in ((4.0, 0.5, 1.5), (0.0, 0.0, 0.45)):
        pub, snap = addresses()
        server = ReplayServer(root, date(2026, 12, 1), pub, snap, speed=speed)
        thread = start_replay(server)
        try:
            with HubClient(HubAddress(pub, snap), ["rb2605.SHFE"]) as client:
                got = collect(client, 101)
            thread.join(20)
        finally:
            server.close()
        assert len(got) == 101
        assert lowest <= server.stats.seconds <= highest, (speed, server.stats.seconds)
