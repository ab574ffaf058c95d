"""``manage.py refresh_universe``: the contract table in step with today's universe."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from aggregation.contract_codes import exchange_today
from aggregation.universe_store import refresh_contracts
from engine.universe_roll import rules_source


class Command(BaseCommand):
    help = (
        "Add today's listed contracts to the contract table (unsubscribed), update them, and "
        "delete those past their last trading day. Source: the listing rules (no trading login)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--today",
            type=date.fromisoformat,
            default=None,
            help="the exchange date (YYYY-MM-DD; default: today in Asia/Shanghai)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        today: date = options["today"] or exchange_today()
        result = refresh_contracts(rules_source(today))
        self.stdout.write(
            f"Contracts on {today} (exchange date): {result.added} listed, {result.updated} updated, "
            f"{result.expired} expired removed"
        )
