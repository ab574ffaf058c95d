"""For any pattern of client-side losses and reconnects, a client with recovery ends with
exactly the hub's forwarded stream (real hub, journal, sockets; hypothesis draws the pattern).

Losses are made in the client's receive path (``HubClient._lose``: the message is thrown away
as if ZeroMQ had dropped it past the high-water mark). A reconnect is a new client resuming
from the last one's ``positions()`` (and, for a contract it never saw, from the day's start:
``resume_since_ns=0``). Each example uses contracts of its own, so the examples
share one hub. The reference is a plain SUB that loses nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregation.client import HubAddress, HubClient
from tests.journal_helpers import JournalHub
from tests.zmq_helpers import wait_for

_examples = itertools.count()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JournalHub]:
    base = tmp_path_factory.mktemp("recovery")
    run = base / "run"
    run.mkdir()
    running = JournalHub(base / "journal", run)
    yield running
    running.close()


def drain(
    client: HubClient[dict[str, Any]], into: list[tuple[str, int, int, float]], quiet: float = 0.15
) -> None:
    while (tick := client.recv(quiet)) is not None:
        into.append((tick["symbol"], tick["epoch"], tick["seq"], tick["volume"]))


def losing(pattern: list[bool]) -> Callable[[bytes, bytes], bool]:
    """A loss hook: message i is lost when ``pattern[i % len(pattern)]``."""
    losses = itertools.cycle(pattern)
    return lambda _topic, _payload: next(losses)


segment = st.tuples(
    st.integers(min_value=1, max_value=120),  # ticks pushed
    st.lists(st.booleans(), min_size=1, max_size=40),  # loss pattern, repeated over them
    st.booleans(),  # reconnect (a new client resuming) after this segment
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(segments=st.lists(segment, min_size=1, max_size=5))
def test_a_client_with_recovery_ends_with_exactly_the_forwarded_stream(
    hub: JournalHub, segments: list[tuple[int, list[bool], bool]]
) -> None:
    n = next(_examples)
    symbols = (f"pa{n}.SHFE", f"pb{n}.SHFE")
    address = HubAddress(hub.pub_addr, hub.snap_addr, hub.recovery_addr)
    reference: zmq.Socket[Any] = hub.ctx.socket(zmq.SUB)
    reference.setsockopt(zmq.LINGER, 0)
    for symbol in symbols:
        reference.setsockopt(zmq.SUBSCRIBE, f"tick.{symbol}".encode())
    reference.connect(hub.pub_addr)
    got: list[tuple[str, int, int, float]] = []
    client = HubClient(address, list(symbols), resume_since_ns=0)
    try:
        drain(client, got, 0.2)  # connected, resumed (nothing yet)
        wait_for(lambda: client.connected_hubs)
        for count, pattern, reconnect in segments:
            client._lose = losing(pattern)
            hub.push(count, symbols)
            drain(client, got)
            if reconnect:
                positions = client.positions()
                client.close()
                client = HubClient(address, list(symbols), resume=positions, resume_since_ns=0)
                drain(client, got)
        # A lost tail shows no gap until something comes after it: the last reconnect (a
        # resume from the positions) is what brings it.
        positions = client.positions()
        client.close()
        client = HubClient(address, list(symbols), resume=positions, resume_since_ns=0)
        drain(client, got)
    finally:
        client.close()
    forwarded = []
    while reference.poll(300):
        _topic, payload = reference.recv_multipart()
        tick = msgpack.unpackb(payload)
        forwarded.append((tick["symbol"], tick["epoch"], tick["seq"], tick["volume"]))
    reference.close()
    for symbol in (s.split(".")[0] for s in symbols):
        assert [t for t in got if t[0] == symbol] == [t for t in forwarded if t[0] == symbol]
    assert len(got) == sum(count for count, _, _ in segments)


def test_the_loss_hook_does_lose_ticks_without_recovery(tmp_path: Path) -> None:
    """The property above can fail: without recovery the same losses leave gaps."""
    run = tmp_path / "run"
    run.mkdir()
    plain = JournalHub(tmp_path / "journal", run)
    try:
        with HubClient(
            HubAddress(plain.pub_addr, plain.snap_addr, plain.recovery_addr), ["rb"], recover=False
        ) as c:
            wait_for(lambda: c.recv(0.05) is None and c.connected_hubs)
            losses = itertools.cycle([False, True])
            c._lose = lambda _t, _p: next(losses)
            plain.push(20, ("rb2601.SHFE",))
            got: list[tuple[str, int, int, float]] = []
            drain(c, got)
            assert c.gaps > 0 and len(got) < 20
    finally:
        plain.close()
