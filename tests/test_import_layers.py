"""The layers of docs/architecture.md, as import-linter contracts in pyproject.toml: a wrong
import fails the suite instead of waiting for a review."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def test_no_import_runs_back_up_the_layers_and_the_engine_imports_no_django() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=PROJECT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
