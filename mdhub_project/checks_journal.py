"""System checks for the journal and the hub's ZeroMQ endpoints (docs/journal.md)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import checks

ENDPOINT_SETTINGS = ("MDHUB_PUB_ADDR", "MDHUB_SNAPSHOT_ADDR", "MDHUB_RECOVERY_ADDR")


def _writable_dir(path: Path) -> bool:
    """Whether the hub could create ``path`` (or write into it if it exists)."""
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            return False
        probe = probe.parent
    return probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)


def _port(address: str) -> str | None:
    """``tcp://*:5557`` → ``"5557"``; ipc and inproc endpoints have no port."""
    if not address.startswith("tcp://"):
        return None
    return address.rsplit(":", 1)[-1]


@checks.register("mdhub")
def check_journal(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    if settings.MDHUB_JOURNAL and not _writable_dir(Path(settings.MDHUB_JOURNAL_DIR)):
        errors.append(
            checks.Error(
                f"MDHUB_JOURNAL_DIR {settings.MDHUB_JOURNAL_DIR} cannot be written by this user: the hub "
                "would forward ticks without a journal, so no client could fill a gap.",
                hint="Point MDHUB_JOURNAL_DIR at a writable folder on local disk, or set MDHUB_JOURNAL=off.",
                id="mdhub.E040",
            )
        )
    ports: dict[str, str] = {}
    for name in ENDPOINT_SETTINGS:
        address = getattr(settings, name)
        port = _port(address)
        if port is None:
            continue
        if port in ports:
            errors.append(
                checks.Error(
                    f"{name} ({address}) uses port {port}, as {ports[port]} does: "
                    "the hub could not bind both.",
                    hint="Give each of MDHUB_PUB_ADDR, MDHUB_SNAPSHOT_ADDR and MDHUB_RECOVERY_ADDR a port "
                    "of its own.",
                    id="mdhub.E041",
                )
            )
        else:
            ports[port] = name
    return errors
