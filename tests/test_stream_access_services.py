"""MDHUB_CURVE and MDHUB_SERVICES together (docs/access.md, "The hub's own readers"): a real
``runhub`` with CURVE on and the bar service; the service reads as the hub's internal client,
its bars reach an entitled CURVE client, a conflated client reads beside it, an anonymous one
gets nothing, and the status document lists who reads."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq

from aggregation.client import HubAddress, HubClient
from aggregation.curve import INTERNAL_CLIENT, CurveKeys, make_client, read_internal_keys
from tests.hub_process import HubProcess
from tests.zmq_helpers import free_port, wait_for

SCREEN = CurveKeys.generate()


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    process = HubProcess(
        tmp_path,
        MDHUB_CURVE="true",
        MDHUB_CONFLATE_ADDR=f"tcp://127.0.0.1:{free_port()}",
        MDHUB_SIM_RATE="5",
        MDHUB_BARS_INTERVALS="5s",
        MDHUB_BARS_GRACE_MS="300",
        MDHUB_SERVICES="bars",
        # On the hub's stream (with a journal a service reads the tape, no CURVE endpoint).
        MDHUB_SERVICES_INPUT="hub",
    )
    process.manage("migrate", "--noinput")
    process.manage("seed_demo")
    create = (
        "from clients_access.models import StreamClient; "
        f"StreamClient.objects.create(name='screen', public_key='{SCREEN.public}', "
        "prefixes=['tick.', 'bar.'])"
    )
    process.manage("shell", "-c", create)
    yield process
    if process.proc is not None:
        process.stop()


def test_the_bar_service_reads_a_curve_hub_as_its_internal_client(
    hub: HubProcess, zmq_ctx: zmq.Context[Any]
) -> None:
    hub.start()
    key_file = hub.run_dir / "curve" / "internal.key"
    wait_for(key_file.exists, timeout=30)
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    _, server_key = read_internal_keys(key_file)

    def service_healthy() -> bool:
        state = hub.state()
        lines = (
            state.get("services", []) if hub.proc and state.get("hub", {}).get("pid") == hub.proc.pid else []
        )
        return any(line["id"] == "svc-bars" and line["state"] == "healthy" for line in lines)

    wait_for(service_healthy, timeout=60)

    bars = zmq_ctx.socket(zmq.SUB)
    make_client(bars, SCREEN, server_key)
    bars.setsockopt(zmq.SUBSCRIBE, b"bar.5s.")
    bars.connect(hub.pub_addr)
    anonymous = zmq_ctx.socket(zmq.SUB)
    anonymous.setsockopt(zmq.SUBSCRIBE, b"")
    anonymous.connect(hub.pub_addr)
    conflate = hub.env["MDHUB_CONFLATE_ADDR"]
    address = HubAddress(hub.pub_addr, hub.snap_addr, server_key=server_key, conflate=conflate)
    with HubClient(address, [""], curve=SCREEN, conflate_ms=500) as screen:
        assert screen.recv(10.0) is not None, hub.log()[-3000:]
        assert bars.poll(20_000), f"no bar from the service\n{hub.log()[-3000:]}"
        bar = msgpack.unpackb(bars.recv_multipart()[1])
        assert bar["source"] == "svc-bars"
        assert not anonymous.poll(200), "an anonymous reader gets nothing"

        def both_listed() -> dict[str, Any]:
            rows = {row["name"]: row for row in hub.state().get("stream_clients") or []}
            return (
                rows if {INTERNAL_CLIENT, "screen"} <= set(rows) and rows["screen"]["conflation_ms"] else {}
            )

        rows = wait_for(both_listed, timeout=10)
    assert rows[INTERNAL_CLIENT]["open_connections"] >= 1
    assert any(s.startswith("bar.") or s.startswith("tick.") for s in rows[INTERNAL_CLIENT]["subscriptions"])
    assert "conflated:tick." in rows["screen"]["subscriptions"] and rows["screen"]["conflation_ms"] == 500
    assert time.time() - rows["screen"]["last_activity"] < 30
