"""Where the CLI finds the journal and the recording, from the same environment variables as
the Django settings (``MDHUB_JOURNAL_DIR``, ``MDHUB_RECORDING_DIR``,
``MDHUB_RECORDING_RETENTION_DAYS``), so both read one configuration without importing Django."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_RETENTION_DAYS = 730


def run_dir() -> Path:
    return Path(os.environ.get("MDHUB_RUN_DIR") or PROJECT / "run")


def journal_dir() -> Path:
    return Path(os.environ.get("MDHUB_JOURNAL_DIR") or run_dir() / "journal")


def recording_dir() -> Path:
    return Path(os.environ.get("MDHUB_RECORDING_DIR") or run_dir() / "recording")


def retention_days() -> int:
    raw = os.environ.get("MDHUB_RECORDING_RETENTION_DAYS", "")
    return int(raw) if raw.strip() else DEFAULT_RETENTION_DAYS
