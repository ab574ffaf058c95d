"""A HubClient refused in its CURVE handshake (its key not allowed yet) tries again by itself
(aggregation/handshake_retry.py): libzmq gives up on a connection after a failed handshake.
Real hub sockets with CURVE + ZAP (tests/test_stream_access.py's SecureHub), real keys over TCP."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from aggregation.client import HubClient
from aggregation.curve import CurveKeys
from aggregation.handshake_retry import RETRY_FIRST_S, RETRY_MAX_S, Redial
from tests.test_stream_access import ALL, ALL_KEYS, RB, RB_KEYS, SecureHub
from tests.zmq_helpers import free_port, wait_for


@pytest.fixture
def rb_only(tmp_path: Path) -> Iterator[SecureHub]:
    """A hub that knows rb-desk's key only (screen's is "not loaded yet")."""
    hub = SecureHub(tmp_path, [RB])
    yield hub
    hub.close()


def client_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "mdhub.client" and r.levelno >= logging.WARNING
    ]


def test_a_client_refused_before_its_key_is_loaded_reads_once_it_is(
    rb_only: SecureHub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mdhub.client")
    # A resume makes the client's first act a request on its recovery DEALER, refused along
    # with its SUB: answered by the hub (no_journal: this hub has none) only if that DEALER
    # came back too. fill_timeout is long so that a dead DEALER cannot pass for an answer.
    with HubClient(
        rb_only.address, [""], curve=ALL_KEYS, resume_since_ns=time.time_ns(), fill_timeout=30.0
    ) as client:
        wait_for(lambda: rb_only.access.policy.stats.refused_connections >= 2, timeout=5.0)
        assert client.recv(0.5) is None and client.connected_hubs == []

        rb_only.access.update([RB, ALL])  # what the hub does on clients.changed
        started = time.monotonic()
        tick = client.recv(5.0)
        assert tick is not None, f"no tick within 5 s of the key being allowed: {client.stats()}"
        assert time.monotonic() - started < 5.0
        assert client.connected_hubs == [rb_only.address]
        stats = client.stats()
    assert stats["handshake_retries"] >= 2  # the SUB and the recovery DEALER
    assert stats["snapshots"] == 1
    assert any("no_journal" in message for message in client_warnings(caplog)), "the hub answered the resume"
    refusals = [m for m in client_warnings(caplog) if "refused" in m and "handshake" in m]
    assert len(refusals) == 1, refusals
    assert ALL_KEYS.public not in caplog.text and ALL_KEYS.secret not in caplog.text


def test_a_conflated_reader_refused_before_its_key_is_loaded_reads_once_it_is(rb_only: SecureHub) -> None:
    with HubClient(rb_only.address, ["rb"], curve=ALL_KEYS, conflate_ms=100) as client:
        wait_for(lambda: rb_only.access.policy.stats.refused_connections >= 1, timeout=5.0)
        assert client.recv(0.5) is None

        rb_only.access.update([RB, ALL])
        tick = client.recv(5.0)
        assert tick is not None, f"no conflated round within 5 s of the key being allowed: {client.stats()}"
        assert tick["symbol"] == "rb2601"
        stats = client.stats()
    assert stats["handshake_retries"] >= 1 and stats["conflated_rounds"] >= 1


def test_a_key_never_allowed_retries_at_a_bounded_rate_beside_a_served_client(
    rb_only: SecureHub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mdhub.client")
    stranger_keys = CurveKeys.generate()
    stop = threading.Event()
    stranger_stats: dict[str, int] = {}
    stranger_ticks = []

    def read_as_stranger() -> None:
        with HubClient(rb_only.address, ["rb"], curve=stranger_keys) as stranger:
            while not stop.is_set():
                if (tick := stranger.recv(0.1)) is not None:
                    stranger_ticks.append(tick)
            stranger_stats.update(stranger.stats())

    thread = threading.Thread(target=read_as_stranger)
    with HubClient(rb_only.address, ["rb"], curve=RB_KEYS) as served:
        thread.start()
        started = time.monotonic()
        late_ticks = 0
        while time.monotonic() - started < 3.0:
            if served.recv(0.5) is not None and time.monotonic() - started > 2.0:
                late_ticks += 1
        stop.set()
        thread.join(5.0)
    assert not thread.is_alive()
    assert late_ticks > 10, "the hub kept serving the allowed client"
    assert stranger_ticks == []
    # Two sockets (SUB, recovery DEALER), each redialled 0.5 s and then 1.5 s after its first
    # refusal (the next at 3.5 s): a client that spun would count hundreds.
    assert 2 <= stranger_stats["handshake_retries"] <= 6, stranger_stats
    assert rb_only.access.policy.stats.refused_connections <= 2 + 6
    refusals = [m for m in client_warnings(caplog) if "refused" in m]
    assert len(refusals) == 1, f"one warning per refusal streak: {client_warnings(caplog)}"
    assert stranger_keys.public not in caplog.text and stranger_keys.secret not in caplog.text


def test_the_backoff_doubles_to_its_cap_and_starts_again_once_accepted() -> None:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.LINGER, 0)
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    sock.connect(endpoint)
    try:
        redial = Redial(sock, endpoint)
        now, waits, dialled = 100.0, [], 0
        for _ in range(7):
            redial.refused(now)
            redial.refused(now)  # a second event for the same attempt does not push it back
            waits.append(redial.due - now)
            assert not redial.redial(redial.due - 0.01)
            now = redial.due
            dialled += redial.redial(now)
        assert waits == [RETRY_FIRST_S, 1.0, 2.0, 4.0, RETRY_MAX_S, RETRY_MAX_S, RETRY_MAX_S]
        assert dialled == 7 and not redial.redial(now + 60), "not again until refused again"
        redial.accepted()
        redial.refused(now)
        assert redial.due - now == RETRY_FIRST_S
    finally:
        sock.close()
        ctx.term()
