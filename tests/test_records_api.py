"""/api/bars and /api/smile: a contract's recent bars and an underlying's smile, asked of a
real running hub (runhub, three sim sources, its bar and Greeks services, its journal)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any
from typing import Any as SettingsWrapper  # pytest-django has no public type for it

import pytest
from rest_framework.test import APIClient

from gateways.simexchange import contract_universe
from gateways.simoptions import SIM_RATE
from tests.hub_process import HubProcess

# The simulated exchange lists contracts by today's date: the rb main contract and the IF
# future its first IO options are written on, as the hub's sim trades them today.
UNIVERSE = contract_universe(42)
RB = next(f"{p.symbol}.{p.exchange}" for p in UNIVERSE if p.symbol.startswith("rb"))
IO = next(p for p in UNIVERSE if p.symbol.startswith("IO"))
IF = f"IF{IO.symbol[2:6]}.CFFEX"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    process = HubProcess(
        tmp_path_factory.mktemp("records-api"),
        MDHUB_SIM_RATE="5",
        MDHUB_SIM_CONTRACTS="42",  # the demo's contracts plus the IF main's at-the-money IO pair
        MDHUB_SERVICES="bars,greeks",
        MDHUB_BARS_INTERVALS="2s,1m",
        MDHUB_BARS_GRACE_MS="200",
        MDHUB_GREEKS_THROTTLE_MS="200",
        MDHUB_GREEKS_RATE=str(SIM_RATE),
    )
    process.manage("migrate", "--noinput")
    process.manage("seed_demo")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def on_hub(hub: HubProcess, settings: SettingsWrapper) -> HubProcess:
    settings.MDHUB_SNAPSHOT_ADDR = hub.snap_addr
    settings.MDHUB_RECOVERY_ADDR = hub.env["MDHUB_RECOVERY_ADDR"]
    settings.MDHUB_JOURNAL = True
    return hub


def poll(api: APIClient, url: str, done: Any, timeout: float = 40.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = api.get(url)
        assert response.status_code == 200, response.content
        body: dict[str, Any] = response.json()
        if done(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.5)


def test_bars_are_the_hubs_last_bar_and_the_journaled_ones_before_it(
    alice_api: APIClient, on_hub: HubProcess
) -> None:
    body = poll(alice_api, f"/api/bars?symbol={RB}&interval=2s&limit=4", lambda b: len(b["bars"]) >= 4)
    assert body["hub"] == "online" and body["symbol"] == RB and body["interval"] == "2s"
    bars = body["bars"]
    assert len(bars) == 4, (body, on_hub.log()[-2000:])
    starts = [b["datetime"] for b in bars]
    # Consecutive 2-second bars, oldest first (the journal's part, then the snapshot's last).
    assert all(later - earlier == 2_000_000_000 for earlier, later in pairwise(starts)), starts
    assert all(
        b["end"] - b["datetime"] == 2_000_000_000 and b["high_price"] >= b["low_price"] > 0 for b in bars
    )


def test_the_smile_of_an_underlying_has_iv_by_strike_near_the_simulators(
    alice_api: APIClient, on_hub: HubProcess
) -> None:
    def both_sides(body: dict[str, Any]) -> bool:
        points = [p for e in body["expiries"] for p in e["points"]]
        return any(p["call_iv"] is not None and p["put_iv"] is not None for p in points)

    body = poll(alice_api, f"/api/smile?underlying={IF}", both_sides)
    assert body["hub"] == "online" and [e["expiry"] for e in body["expiries"]] == ["2026-12-18"], body
    point = body["expiries"][0]["points"][0]
    assert (
        point["strike"] == 4600
        and point["call"] == "IO2612-C-4600.CFFEX"
        and point["put"] == "IO2612-P-4600.CFFEX"
    )
    assert point["call_iv"] == pytest.approx(0.18, abs=0.03) and point["put_iv"] == pytest.approx(
        0.18, abs=0.03
    )
    assert point["call_reason"] is None and point["put_reason"] is None  # an IV: nothing to explain
    assert alice_api.get(f"/api/smile?underlying={RB}").json()["expiries"] == []


def test_bad_queries_say_what_is_wrong_and_an_offline_hub_answers_empty(
    alice_api: APIClient, settings: SettingsWrapper
) -> None:
    bad = alice_api.get("/api/bars?symbol=rb2705&interval=7x")
    assert bad.status_code == 400 and {"symbol", "interval"} <= set(bad.json())
    from tests.zmq_helpers import free_port

    settings.MDHUB_SNAPSHOT_ADDR = f"tcp://127.0.0.1:{free_port()}"  # nobody there
    body = alice_api.get(f"/api/bars?symbol={RB}").json()
    assert body == {"hub": "offline", "symbol": RB, "interval": "1m", "bars": []}
    assert alice_api.get(f"/api/smile?underlying={IF}").json()["hub"] == "offline"


def test_with_curve_on_the_api_asks_as_the_hubs_internal_client_or_answers_offline(
    alice_api: APIClient, settings: SettingsWrapper, tmp_path: Path
) -> None:
    from aggregation.curve import CurveKeys, internal_key_file, write_internal_keys
    from monitoring.records_views import hub_endpoints

    settings.MDHUB_CURVE = True
    settings.MDHUB_CURVE_KEY_FILE = tmp_path / "curve" / "server.key"
    # The hub has not started yet: no key file, so nobody to ask as; offline, not a 500.
    assert hub_endpoints() is None
    assert alice_api.get(f"/api/smile?underlying={IF}").json()["hub"] == "offline"
    server = CurveKeys.generate()
    internal = write_internal_keys(internal_key_file(settings.MDHUB_CURVE_KEY_FILE), server.public)
    hub = hub_endpoints()
    assert hub is not None and hub.curve is not None
    assert hub.curve[0].public == internal.public and hub.curve[1] == server.public
