"""``GET /api/ticks`` and ``GET /api/recording``: the recorded tape over HTTP, logged in only,
paged, a day that is not recorded a 404 that says so; in the OpenAPI schema; its settings
checked (recording.E001)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings
from rest_framework.test import APIClient

from mdhub_project.checks_recording import check_recording
from recording.writer import record_day
from tests.recording_helpers import china, write_journal

DAY = date(2026, 12, 1)


@pytest.fixture
def recording(tmp_path: Path) -> Any:
    journal, root = tmp_path / "journal", tmp_path / "recording"
    at = china("2026-12-01 09:00:00")
    write_journal(journal, [("rb2605.SHFE", at + timedelta(milliseconds=500 * i)) for i in range(25)])
    record_day(journal, root, DAY)
    with override_settings(MDHUB_RECORDING_DIR=root):
        yield root


def test_a_viewer_pages_through_a_contract_day_in_exchange_time_order(
    bob_api: APIClient, recording: Path
) -> None:
    first = bob_api.get("/api/ticks", {"symbol": "rb2605.SHFE", "day": "2026-12-01", "limit": "10"})
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["count"] == 25 and len(body["results"]) == 10 and body["previous"] is None
    assert body["results"][0]["exchange_time"] == "2026-12-01T09:00:00.000+08:00"
    assert [t["seq"] for t in body["results"]] == list(range(1, 11))
    assert {"datetime", "recv_ns", "source", "epoch", "bid_price_5", "ask_volume_5"} <= set(
        body["results"][0]
    )
    last = bob_api.get(body["next"].replace("http://testserver", "")).json()
    last = bob_api.get(last["next"].replace("http://testserver", "")).json()
    assert [t["seq"] for t in last["results"]] == list(range(21, 26)) and last["next"] is None
    empty = bob_api.get("/api/ticks", {"symbol": "cu2605.SHFE", "day": "2026-12-01"}).json()
    assert empty["count"] == 0 and empty["results"] == []


def test_a_day_not_recorded_is_a_404_saying_which_days_are(bob_api: APIClient, recording: Path) -> None:
    answer = bob_api.get("/api/ticks", {"symbol": "rb2605.SHFE", "day": "2026-12-02"})
    assert answer.status_code == 404
    assert answer.json() == {
        "detail": "Trading day 2026-12-02 is not recorded; recorded days run from 2026-12-01 to 2026-12-01."
    }


def test_bad_parameters_are_400s_naming_them(bob_api: APIClient, recording: Path) -> None:
    answer = bob_api.get("/api/ticks", {"symbol": "rb2605", "day": "yesterday", "limit": "0"})
    assert answer.status_code == 400
    assert set(answer.json()) == {"symbol", "day"} or set(answer.json()) == {"limit"}
    assert (
        "symbol.EXCHANGE"
        in bob_api.get("/api/ticks", {"symbol": "rb2605", "day": "2026-12-01"}).json()["symbol"][0]
    )
    assert (
        bob_api.get("/api/ticks", {"symbol": "rb2605.SHFE", "day": "2026-12-01", "limit": "0"}).status_code
        == 400
    )


def test_only_people_logged_in_may_read_the_tape(api: APIClient, recording: Path) -> None:
    assert api.get("/api/ticks", {"symbol": "rb2605.SHFE", "day": "2026-12-01"}).status_code == 403
    assert api.get("/api/recording").status_code == 403


def test_the_recording_answers_its_days_and_disk_use(bob_api: APIClient, recording: Path) -> None:
    body = bob_api.get("/api/recording").json()
    assert body["days"] == 1 and body["first_day"] == body["last_day"] == "2026-12-01"
    assert body["bytes"] == body["recorded"][0]["bytes"] > 0
    assert body["recorded"][0] == {"day": "2026-12-01", "bytes": body["bytes"], "ticks": 25, "holes": 0}
    assert body["retention_days"] == 730


def test_the_tape_endpoints_are_in_the_schema_with_their_errors(bob_api: APIClient) -> None:
    schema = bob_api.get("/api/schema", {"format": "json"}).json()
    ticks = schema["paths"]["/api/ticks/"]["get"]
    assert {p["name"] for p in ticks["parameters"]} >= {"symbol", "day", "limit", "offset"}
    assert {"200", "400", "403", "404"} <= set(ticks["responses"])
    assert "/api/recording/" in schema["paths"]


def test_a_negative_retention_or_an_unwritable_place_is_a_system_check(db: Any, tmp_path: Path) -> None:
    with override_settings(MDHUB_RECORDING_RETENTION_DAYS=-1):
        assert [e.id for e in check_recording()] == ["recording.E001"]
    (tmp_path / "a-file").write_text("")
    with override_settings(MDHUB_RECORDING_DIR=tmp_path / "a-file" / "recording"):
        assert [e.id for e in check_recording()] == ["recording.W001"]
    call_command("check")  # the defaults pass


def test_the_metrics_show_the_recordings_disk_use(bob_api: APIClient, recording: Path) -> None:
    text = bob_api.get("/metrics").content.decode()
    size = next(line for line in text.splitlines() if line.startswith("mdhub_recording_bytes "))
    assert float(size.split()[1]) == sum(f.stat().st_size for f in recording.rglob("*") if f.is_file()) > 0
    assert "mdhub_recording_days 1.0" in text
