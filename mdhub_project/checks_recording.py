"""System checks for the recording's settings (``recording.*``, docs/recording.md)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core import checks


@checks.register("recording")
def check_recording(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    keep = settings.MDHUB_RECORDING_RETENTION_DAYS
    if keep < 0:
        errors.append(
            checks.Error(
                f"MDHUB_RECORDING_RETENTION_DAYS is {keep}; it must be 0 (keep every day) or more days.",
                hint="Unset it for the default (730 days), or give the number of calendar days to keep.",
                id="recording.E001",
            )
        )
    root = settings.MDHUB_RECORDING_DIR
    # The nearest directory that exists is where the recording will be created.
    existing = next((p for p in (root, *root.parents) if p.exists()), None)
    if existing is not None and (not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK)):
        errors.append(
            checks.Warning(
                f"MDHUB_RECORDING_DIR {root} cannot be written ({existing} is not a writable directory).",
                hint="Point MDHUB_RECORDING_DIR at a directory the hub's user can write, with room.",
                id="recording.W001",
            )
        )
    return errors
