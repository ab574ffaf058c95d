"""A strategy moves from ZeroMQ to JetStream by changing an address: the example strategy
reads a real nats-server's stream with ``--hub nats://...`` through the same loop it runs on
a hub, and ``open_source`` picks the source by the address's scheme."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregation.client import HubClient
from bridge.cluster import Cluster
from bridge.consumer import JetStreamSource, open_source
from tests.jetstream_helpers import PROJECT
from tests.test_jetstream_consumer import publish, tick
from tests.zmq_helpers import free_port


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[Cluster]:
    server = Cluster(tmp_path / "nats", size=1)
    server.start()
    yield server
    server.stop()


def test_the_example_strategy_reads_jetstream_when_its_address_says_nats(nats_server: Cluster) -> None:
    ticks = [("tick.rb2601.SHFE", tick("rb2601", "SHFE", n)) for n in range(4)]
    ticks += [("tick.au2606.SHFE", tick("au2606", "SHFE", 0))]
    asyncio.run(publish(nats_server, ticks))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDHUB_NATS_")}
    env.update(nats_server.env("READER"))
    # Only the reader's credentials: the strategy cannot publish (least rights).
    env.pop("MDHUB_NATS_PASSWORD", None)
    done = subprocess.run(
        [sys.executable, "-m", "examples.strategy", "rb", "--hub", nats_server.url, "--count", "1"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    # The last value of each subscribed contract first (the snapshot of HubClient), then live.
    assert len(lines) == 1 and "rb2601.SHFE" in lines[0] and "mid" in lines[0], done.stdout
    assert nats_server.creds.reader[1] not in done.stdout + done.stderr  # never logged


def test_open_source_gives_a_hub_client_for_zeromq_and_a_jetstream_source_for_nats(
    nats_server: Cluster,
) -> None:
    asyncio.run(publish(nats_server, []))  # the stream a bridge creates
    user, password = nats_server.creds.reader
    with open_source(nats_server.url, ["rb"], user=user, password=password) as source:
        assert isinstance(source, JetStreamSource)
    hub = f"tcp://127.0.0.1:{free_port()},tcp://127.0.0.1:{free_port()}"
    with open_source(hub, ["rb"], snapshot=False) as client:
        assert isinstance(client, HubClient)
        assert client.recv(0.1) is None  # nobody publishes there
