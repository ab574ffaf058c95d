"""What a bridge says about itself, once a second, in ``<state dir>/bridge-<name>.json``:
the hub's publisher (or anyone) reads it to show the bridge's lag on the dashboard."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(slots=True)
class BridgeStatus:
    name: str
    hub: str
    stream: str
    connected: bool = False
    read: int = 0  # messages taken from the hub
    sent: int = 0  # publishes (resends included)
    stored: int = 0  # acknowledged as new by JetStream
    duplicates: int = 0  # acknowledged as already stored (another hub, or a resend)
    failures: int = 0  # publishes not acknowledged (NATS down, a leader election)
    resent: int = 0
    bad: int = 0  # undecodable hub messages, counted and dropped
    buffered: int = 0
    inflight: int = 0
    # Seconds between the worker receiving the oldest tick not yet acknowledged and now;
    # 0 when everything read is stored.
    lag_s: float = 0.0
    last_ack_recv_ns: int = 0
    behind_hub: bool = False
    hub_let_go: int = 0
    hub_gaps: int = 0
    updated_ns: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomically: a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, separators=(",", ":")))
    os.replace(tmp, path)


def read_status(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# A bridge writes its file once a second; three missed writes and it is shown offline (a
# dead bridge's last figures must not pass for live ones).
STALE_AFTER_S = 3.0
# The numbers a status line carries, as the dashboard and /metrics read them.
COUNTERS = ("read", "sent", "stored", "duplicates", "failures", "resent", "bad", "hub_let_go", "hub_gaps")
GAUGES = ("buffered", "inflight", "lag_s")


def status_line(data: dict[str, Any], now_ns: int) -> dict[str, Any] | None:
    """One bridge's status file as a line of the hub's state document: its figures, plus
    ``online`` (written within ``STALE_AFTER_S``) and ``age_s``; None when the file is not a
    bridge's status (counted and dropped by the caller)."""
    name, updated = data.get("name"), data.get("updated_ns")
    if not isinstance(name, str) or isinstance(updated, bool) or not isinstance(updated, int):
        return None
    line: dict[str, Any] = {
        "name": name,
        "hub": str(data.get("hub", "")),
        "stream": str(data.get("stream", "")),
        "connected": bool(data.get("connected")),
        "behind_hub": bool(data.get("behind_hub")),
    }
    for key in COUNTERS + GAUGES:
        value = data.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        line[key] = float(value) if key == "lag_s" else int(value)
    age = max(0.0, (now_ns - updated) / 1e9)
    line["age_s"] = round(age, 3)
    line["online"] = age <= STALE_AFTER_S
    if not line["online"]:
        line["connected"] = False  # what it said last is no longer true
    return line


def read_statuses(directory: Path, now_ns: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """Every bridge's status line in ``directory`` (``bridge-*.json``), by name, and how many
    files there were not readable as one (a torn or foreign file never breaks the caller)."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    lines: list[dict[str, Any]] = []
    bad = 0
    for path in sorted(directory.glob("bridge-*.json")):
        data = read_status(path)
        line = status_line(data, now_ns) if data is not None else None
        if line is None:
            bad += 1
        else:
            lines.append(line)
    return lines, bad
