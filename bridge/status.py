"""What a bridge says about itself, once a second, in ``<state dir>/bridge-<name>.json``:
the hub's publisher (or anyone) reads it to show the bridge's lag on the dashboard."""

from __future__ import annotations

import json
import os
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
    except (FileNotFoundError, ValueError):
        return None
    return data
