from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from django.conf import settings

from mdhub_project.logtime import ExchangeTimeFormatter

# 2026-12-01 02:15:02.123 UTC = 10:15:02.123 in China.
CREATED = 1796091302.123


@pytest.fixture
def new_york() -> Iterator[None]:
    """The process's own zone set far from China, so a formatter using it would show."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    yield
    if before is None:
        os.environ.pop("TZ")
    else:
        os.environ["TZ"] = before
    time.tzset()


def _record() -> logging.LogRecord:
    record = logging.LogRecord("mdhub.test", logging.INFO, __file__, 1, "hello", None, None)
    record.created = CREATED
    record.msecs = 123.0
    return record


def test_log_lines_are_stamped_in_exchange_time_with_the_offset(new_york: None) -> None:
    formatter = ExchangeTimeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    assert formatter.format(_record()) == "2026-12-01 10:15:02.123+08:00 INFO mdhub.test: hello"
    assert logging.Formatter("%(asctime)s").format(_record()).startswith("2026-11-30 21:15:02")


def test_the_configured_console_formatter_is_the_exchange_time_one() -> None:
    assert settings.LOGGING["formatters"]["plain"]["()"] == "mdhub_project.logtime.ExchangeTimeFormatter"
    # A real process with a US zone, configured by Django, prints China time.
    code = "import django, logging; django.setup(); logging.getLogger('mdhub.probe').warning('probe')"
    env = {**os.environ, "TZ": "America/New_York", "DJANGO_SETTINGS_MODULE": "mdhub_project.settings"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    line = next(line for line in result.stderr.splitlines() if "mdhub.probe" in line)
    assert "+08:00 WARNING mdhub.probe: probe" in line
