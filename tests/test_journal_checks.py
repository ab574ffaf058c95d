"""The journal's system checks: an unwritable journal folder and two endpoints on one port."""

from __future__ import annotations

from pathlib import Path

from django.core import checks
from django.test import override_settings


def ids(tags: str = "mdhub") -> list[str]:
    return [message.id or "" for message in checks.run_checks(tags=[tags])]


def test_the_default_settings_pass() -> None:
    assert not {"mdhub.E040", "mdhub.E041"} & set(ids())


def test_an_unwritable_journal_folder_is_an_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    blocker = locked / "file"
    blocker.write_text("not a folder")
    # A path under a regular file can never be created, whoever runs the hub (root included).
    with override_settings(MDHUB_JOURNAL=True, MDHUB_JOURNAL_DIR=blocker / "journal"):
        assert "mdhub.E040" in ids()
    with override_settings(MDHUB_JOURNAL=False, MDHUB_JOURNAL_DIR=blocker / "journal"):
        assert "mdhub.E040" not in ids()
    with override_settings(MDHUB_JOURNAL=True, MDHUB_JOURNAL_DIR=tmp_path / "new" / "journal"):
        assert "mdhub.E040" not in ids()


def test_two_endpoints_on_one_port_are_an_error() -> None:
    with override_settings(MDHUB_SNAPSHOT_ADDR="tcp://*:5556", MDHUB_RECOVERY_ADDR="tcp://127.0.0.1:5556"):
        messages = [m for m in checks.run_checks(tags=["mdhub"]) if m.id == "mdhub.E041"]
    assert len(messages) == 1
    assert "MDHUB_RECOVERY_ADDR" in messages[0].msg and "MDHUB_SNAPSHOT_ADDR" in messages[0].msg
    with override_settings(MDHUB_RECOVERY_ADDR="ipc:///tmp/recovery.ipc"):
        assert "mdhub.E041" not in ids()
