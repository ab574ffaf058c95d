"""Build the trading calendar from the database (the admin-edited session templates and
holidays), falling back to the built-in defaults for an empty table."""

from __future__ import annotations

from aggregation.sessions import DEFAULT_HOLIDAYS, DEFAULT_TEMPLATES, TradingCalendar
from monitoring.models import Holiday, SessionTemplate


def load_calendar() -> TradingCalendar:
    # An empty table means "never set up" (the data migration fills both), not "no sessions":
    # a calendar with no sessions would silently switch staleness alarms off.
    rules = [row.as_rule() for row in SessionTemplate.objects.all()] or list(DEFAULT_TEMPLATES)
    holidays = list(Holiday.objects.values_list("date", flat=True)) or list(DEFAULT_HOLIDAYS)
    return TradingCalendar(rules, holidays)
