"""The depth tee's system checks: a bad MDHUB_DEPTH_TEE is an error, an unbuilt tee asked
for is a warning (through Django's own check runner)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core import checks

from gateways.depthtee import build


def ids(monkeypatch: pytest.MonkeyPatch, value: str | None) -> set[str]:
    if value is None:
        monkeypatch.delenv("MDHUB_DEPTH_TEE", raising=False)
    else:
        monkeypatch.setenv("MDHUB_DEPTH_TEE", value)
    return {m.id for m in checks.run_checks(tags=["gateways"]) if m.id and "002" in m.id}


def test_a_bad_value_is_an_error_and_the_good_ones_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    build.main()
    assert ids(monkeypatch, "yes") == {"gateways.E002"}
    assert ids(monkeypatch, None) == set()
    assert ids(monkeypatch, "0") == set()
    assert ids(monkeypatch, "1") == set()


def test_asking_for_an_unbuilt_tee_is_a_warning(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(build, "OUT_DIR", tmp_path)  # where nothing has been built
    assert ids(monkeypatch, "1") == {"gateways.W002"}
