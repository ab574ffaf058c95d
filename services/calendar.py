"""The one door from the services to the trading calendar.

The calendar's rules live in ``aggregation.sessions`` (plain Python, no Django), a layer
below ``services``; this module is the one place the services name it.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aggregation.sessions import TradingCalendar

_HOMES = ("aggregation.sessions",)


def sessions_module() -> Any:
    """The module that defines ``TradingCalendar`` (wherever the redesign put it)."""
    for name in _HOMES:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError(f"no trading calendar module: looked for {', '.join(_HOMES)}")


def default_calendar() -> TradingCalendar:
    calendar: TradingCalendar = sessions_module().default_calendar()
    return calendar


def load_calendar(path: str | Path | None = None) -> TradingCalendar:
    """The calendar from a JSON spec file (the hub's ``calendar_spec``: rules and holidays,
    as the admin edited them), or the built-in defaults without one."""
    if not path:
        return default_calendar()
    data = json.loads(Path(path).read_text())
    calendar: TradingCalendar | None = sessions_module().calendar_from_spec(data)
    return calendar or default_calendar()
