"""The charts' history, the speed table, the state timeline and the contracts' table: the
publisher's recorder writing to a real Redis, and the API reading it back."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from rest_framework.test import APIClient

from monitoring import history
from monitoring.models import Event
from monitoring.state_timeline import segments_of
from tests.live_helpers import gateway, live_redis, snapshot, write_snapshot

__all__ = ["live_redis"]  # the fixture, imported to be used here


def state_at(
    ts: float, first_a: int, first_b: int, forwarded: int, started_at: float = 100.0
) -> dict[str, Any]:
    state = snapshot(
        gateway("sim-a", tick_rate=50.0, first=first_a, latency_ms={"p50": None, "p99": None}),
        gateway("sim-b", tick_rate=49.0, first=first_b, latency_ms={"p50": 1.5, "p99": 7.0}, state="stale"),
    )
    state["updated_at"] = ts
    state["hub"]["forwarded"] = forwarded
    state["hub"]["started_at"] = started_at
    return state


def speed_summary() -> dict[str, Any]:
    def row(
        source: str, exchange: str, product: str, first: int, late: int, p50: float | None
    ) -> dict[str, Any]:
        return {
            "source": source, "exchange": exchange, "product": product, "session": "day",
            "copies": first + late, "first": first, "late": late, "too_late": 0,
            "first_share": first / 10, "late_p50_ms": p50, "late_p99_ms": p50,
            "late_hist": [[21, late]] if late else [],
        }  # fmt: skip

    return {
        "updated_at": time.time(),
        "session": "day",
        "rows": [
            row("sim-a", "SHFE", "rb", 8, 2, 1.5),
            row("sim-b", "SHFE", "rb", 2, 8, 3.0),
            row("sim-a", "SHFE", "cu", 3, 7, 1.2),
            row("sim-b", "SHFE", "cu", 7, 3, 1.0),
        ],
        "contracts": [
            {
                "vt_symbol": f"rb26{m:02d}.SHFE",
                "exchange": "SHFE",
                "product": "rb",
                "last_price": 3100.0 + m,
                "exchange_time": time.time(),
                "received_at": time.time(),
                "seq": 100 - m,
                "winner": "sim-a",
                "sources": [{"source": "sim-b", "first": 1, "late": 9, "late_p50_ms": 2.0}],
            }
            for m in range(1, 13)
        ],
        "contracts_total": 12,
    }


def record(client: redis.Redis, recorder: history.HistoryRecorder, state: dict[str, Any]) -> None:
    with client.pipeline(transaction=False) as pipe:
        recorder.record(pipe, state)
        pipe.execute()


def test_the_recorder_keeps_one_bounded_sample_per_step_and_the_speed_apart(live_redis: redis.Redis) -> None:
    recorder = history.HistoryRecorder(step=5.0, keep=3)
    now = time.time()
    for i in range(12):  # one state a second, as the hub sends them
        state = state_at(now - 12 + i, first_a=10 * i, first_b=5 * i, forwarded=15 * i)
        if i == 11:
            state["speed"] = speed_summary()
        record(live_redis, recorder, state)
        assert "speed" not in state  # the WebSocket's gateway.status stays small
    samples = [json.loads(s) for s in live_redis.lrange(history.HISTORY_KEY, 0, -1)]
    assert [s["ts"] for s in samples] == [now - 12, now - 7, now - 2]
    stored = history.read_speed(live_redis)
    assert stored is not None and stored["rows"] == speed_summary()["rows"] and len(stored["contracts"]) == 12
    assert 0 < live_redis.ttl(history.SPEED_KEY) <= history.SPEED_TTL_SECONDS


def test_series_gives_each_steps_first_share_and_none_across_a_hub_restart() -> None:
    samples = [
        history.sample_of(state_at(1000.0, 0, 0, 0)),
        history.sample_of(state_at(1005.0, 60, 40, 100)),
        history.sample_of(state_at(1010.0, 150, 50, 200)),
        history.sample_of(state_at(1015.0, 5, 5, 10, started_at=200.0)),  # a new hub run
    ]
    shaped = history.series([s for s in samples if s is not None])
    assert shaped["sources"] == ["sim-a", "sim-b"]
    shares = [
        (p["values"]["sim-a"]["first_share"], p["values"]["sim-b"]["first_share"]) for p in shaped["points"]
    ]
    assert shares == [(None, None), (0.6, 0.4), (0.9, 0.1), (None, None)]
    point = shaped["points"][1]["values"]["sim-b"]
    assert point == {
        "tick_rate": 49.0,
        "latency_p50_ms": 1.5,
        "latency_p99_ms": 7.0,
        "first_share": 0.4,
        "state": "stale",
    }


@pytest.mark.django_db
def test_history_endpoint_answers_the_window_and_refuses_a_bad_one(
    bob_api: APIClient, live_redis: redis.Redis
) -> None:
    recorder = history.HistoryRecorder()
    now = time.time()
    for minutes_ago in (200, 100, 10, 5):
        record(
            live_redis, recorder, state_at(now - minutes_ago * 60, minutes_ago, minutes_ago, 2 * minutes_ago)
        )
    live_redis.rpush(history.HISTORY_KEY, b"not json")  # what Redis holds may be anything
    answer = bob_api.get("/api/sources/history", {"minutes": 180}).json()
    assert [round((now - p["ts"]) / 60) for p in answer["points"]] == [100, 10, 5]
    assert answer["step_seconds"] == history.HISTORY_STEP
    assert len(bob_api.get("/api/sources/history?minutes=30").json()["points"]) == 2
    bad = bob_api.get("/api/sources/history?minutes=100000")
    assert bad.status_code == 400 and "minutes" in bad.json()


@pytest.mark.django_db
def test_speed_endpoint_names_the_fastest_source_per_product(
    bob_api: APIClient, live_redis: redis.Redis
) -> None:
    assert bob_api.get("/api/sources/speed").json()["engine"] == "offline"
    live_redis.set(history.SPEED_KEY, json.dumps(speed_summary()))
    answer = bob_api.get("/api/sources/speed").json()
    assert answer["engine"] == "online" and answer["session"] == "day" and len(answer["rows"]) == 4
    fastest = {(f["exchange"], f["product"]): f for f in answer["fastest"]}
    assert fastest[("SHFE", "rb")]["source"] == "sim-a"
    assert fastest[("SHFE", "rb")]["runner_up"] == "sim-b"
    assert fastest[("SHFE", "rb")]["runner_up_late_p50_ms"] == 3.0
    assert fastest[("SHFE", "cu")]["source"] == "sim-b"
    only_b = bob_api.get("/api/sources/speed", {"source": "sim-b", "product": "cu"}).json()
    assert [(r["source"], r["product"]) for r in only_b["rows"]] == [("sim-b", "cu")]
    assert bob_api.get("/api/sources/speed?session=evening").status_code == 400


@pytest.mark.django_db
def test_contracts_are_paged_and_searched(bob_api: APIClient, live_redis: redis.Redis) -> None:
    live_redis.set(history.SPEED_KEY, json.dumps(speed_summary()))
    page = bob_api.get("/api/contracts", {"limit": 5, "offset": 5}).json()
    assert page["count"] == 12 and page["results"][0]["vt_symbol"] == "rb2606.SHFE"
    assert page["results"][0]["sources"][0] == {"source": "sim-b", "first": 1, "late": 9, "late_p50_ms": 2.0}
    found = bob_api.get("/api/contracts", {"q": "RB2612"}).json()
    assert [c["vt_symbol"] for c in found["results"]] == ["rb2612.SHFE"]
    assert bob_api.get("/api/contracts?limit=abc").status_code == 400


@pytest.mark.django_db
def test_metrics_export_speed_per_source_exchange_and_session_not_product(
    bob_api: APIClient, live_redis: redis.Redis
) -> None:
    write_snapshot(live_redis, snapshot(gateway("sim-a"), gateway("sim-b")))
    live_redis.set(history.SPEED_KEY, json.dumps(speed_summary()))
    text = bob_api.get("/metrics").content.decode()
    assert 'mdhub_source_speed_first_total{exchange="SHFE",session="day",source="sim-a"} 11.0' in text
    assert 'mdhub_source_speed_late_total{exchange="SHFE",session="day",source="sim-b"} 11.0' in text
    assert 'mdhub_source_speed_late_p50_seconds{exchange="SHFE",session="day",source="sim-a"}' in text
    assert "product" not in text


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def state_event(ts: float, account: str, state_from: str, state_to: str, reason: str = "") -> Event:
    return Event.objects.create(
        ts=at(ts), account=account, kind="state", state_from=state_from, state_to=state_to, reason=reason
    )


def test_segments_open_with_the_state_before_the_window() -> None:
    changes = [(150.0, "stale", "canary"), (160.0, "restarting", "hard restart"), (170.0, "healthy", "")]
    segments = segments_of(changes, ("healthy", "ok"), since=100.0, until=200.0)
    assert [(s.state, s.start, s.end) for s in segments] == [
        ("healthy", 100.0, 150.0),
        ("stale", 150.0, 160.0),
        ("restarting", 160.0, 170.0),
        ("healthy", 170.0, 200.0),
    ]
    assert segments_of([], None, 100.0, 200.0) == []


@pytest.mark.django_db
def test_timeline_endpoint_builds_segments_from_stored_events(bob_api: APIClient) -> None:
    now = time.time()
    state_event(now - 7200, "sim-a", "starting", "healthy")  # before the window: its opening state
    state_event(now - 600, "sim-a", "healthy", "stale", "canary rb2601.SHFE silent")
    state_event(now - 590, "sim-a", "stale", "restarting", "hard restart")
    state_event(now - 580, "sim-a", "restarting", "healthy", "")
    state_event(now - 300, "sim-b", "starting", "healthy")
    Event.objects.create(ts=at(now - 100), account="sim-b", kind="restart", reason="not a state change")
    answer = bob_api.get("/api/sources/timeline", {"minutes": 60}).json()
    by_id = {s["id"]: s["segments"] for s in answer["sources"]}
    assert [s["state"] for s in by_id["sim-a"]] == ["healthy", "stale", "restarting", "healthy"]
    assert by_id["sim-a"][1]["reason"] == "canary rb2601.SHFE silent"
    assert by_id["sim-a"][0]["start"] == pytest.approx(now - 3600, abs=5)
    assert [s["state"] for s in by_id["sim-b"]] == ["healthy"]
    assert answer["truncated"] is False
    assert bob_api.get("/api/sources/timeline?minutes=0").status_code == 400


@pytest.mark.django_db
def test_the_new_endpoints_need_a_login(api: APIClient, live_redis: redis.Redis) -> None:
    for url in ("/api/sources/speed", "/api/sources/history", "/api/sources/timeline", "/api/contracts"):
        assert api.get(url).status_code in (401, 403), url
