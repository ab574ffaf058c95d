"""The bridge's status as the operations side shows it: a line per bridge in the state
document, offline when its file is stale, unreadable files counted and dropped, and
``mdhub_bridge_*`` in /metrics (only ``up 0`` for an offline bridge)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bridge.status import BridgeStatus, read_statuses, write_json
from monitoring.metrics import render

NOW = time.time_ns()


def write(directory: Path, name: str, age_s: float, **fields: object) -> None:
    status = BridgeStatus(name=name, hub="tcp://127.0.0.1:5555", stream="MDHUB", connected=True)
    for key, value in fields.items():
        setattr(status, key, value)
    status.updated_ns = NOW - int(age_s * 1e9)
    write_json(directory / f"bridge-{name}.json", status.as_dict())


def online_state(bridges: list[Any]) -> dict[str, Any]:
    return {"engine": "online", "updated_at": NOW / 1e9, "hub": {}, "gateways": [], "bridges": bridges}


def test_a_bridge_that_stopped_writing_its_status_is_shown_offline(tmp_path: Path) -> None:
    write(tmp_path, "hub-a", 0.5, stored=120, lag_s=0.2)
    write(tmp_path, "hub-b", 10.0, stored=99, lag_s=0.1)
    (tmp_path / "bridge-torn.json").write_text('{"name": "torn", "upd')
    (tmp_path / "bridge-c.cursor").write_text("{}")  # a cursor is not a status
    lines, unreadable = read_statuses(tmp_path, NOW)
    assert unreadable == 1
    by_name = {line["name"]: line for line in lines}
    assert set(by_name) == {"hub-a", "hub-b"}
    assert by_name["hub-a"]["online"] and by_name["hub-a"]["connected"]
    assert by_name["hub-a"]["stored"] == 120 and by_name["hub-a"]["lag_s"] == 0.2
    # Its last word was "connected": stale, it is not any more.
    assert not by_name["hub-b"]["online"] and not by_name["hub-b"]["connected"]
    assert by_name["hub-b"]["age_s"] >= 10


def test_metrics_export_the_lag_of_a_live_bridge_and_only_up_0_for_a_dead_one(tmp_path: Path) -> None:
    write(tmp_path, "hub-a", 0.2, stored=120, lag_s=4.5, connected=False, buffered=40)
    write(tmp_path, "hub-b", 30.0, stored=99, lag_s=0.1)
    lines, _ = read_statuses(tmp_path, NOW)
    text = render(online_state(lines), NOW / 1e9).decode()
    assert 'mdhub_bridge_up{bridge="hub-a"} 1.0' in text
    assert 'mdhub_bridge_connected{bridge="hub-a"} 0.0' in text
    assert 'mdhub_bridge_lag_seconds{bridge="hub-a"} 4.5' in text
    assert 'mdhub_bridge_buffered{bridge="hub-a"} 40.0' in text
    assert 'mdhub_bridge_stored_total{bridge="hub-a"} 120.0' in text
    assert 'mdhub_bridge_up{bridge="hub-b"} 0.0' in text
    assert 'mdhub_bridge_lag_seconds{bridge="hub-b"}' not in text
    assert 'mdhub_bridge_stored_total{bridge="hub-b"}' not in text


def test_a_malformed_bridges_list_in_the_state_document_exports_nothing_and_breaks_nothing() -> None:
    state = online_state([{"name": 3}, "junk", {"name": "x", "online": True, "lag_s": "slow"}])
    text = render(state, NOW / 1e9).decode()
    assert 'mdhub_bridge_up{bridge="x"} 1.0' in text
    assert 'mdhub_bridge_lag_seconds{bridge="x"}' not in text
    assert "mdhub_engine_up 1.0" in text
