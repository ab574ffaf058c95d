"""``manage.py refresh_universe``: the contract table in step with today's universe."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import MarketDataAccount
from aggregation.contract_codes import exchange_today
from aggregation.universe_store import refresh_contracts, universe_for_refresh
from engine.universe_roll import rules_source
from gateways.instrument_query import DEFAULT_TIMEOUT, query_instruments, trading_logins


class Command(BaseCommand):
    help = (
        "Add today's listed contracts to the contract table (unsubscribed), update them, and "
        "delete those past their last trading day. Source: the broker's instrument query of the "
        "enabled ctp/sopt accounts with a trading login (tdAddress), one per kind; the listing "
        "rules for the exchanges no broker answered for, and when there is no trading login."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--today",
            type=date.fromisoformat,
            default=None,
            help="the exchange date (YYYY-MM-DD; default: today in Asia/Shanghai)",
        )
        parser.add_argument(
            "--from-broker",
            metavar="ACCOUNT",
            action="append",
            default=None,
            help="query this account's trading login only (repeatable; it need not be enabled); "
            "fails when the query fails",
        )
        parser.add_argument(
            "--rules-only", action="store_true", help="the listing rules only, no broker query"
        )
        parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per query")

    def handle(self, *args: Any, **options: Any) -> None:
        today: date = options["today"] or exchange_today()
        named: list[str] | None = options["from_broker"]
        if options["rules_only"]:
            rows: list[MarketDataAccount] = []
        elif named:
            rows = list(MarketDataAccount.objects.filter(id__in=named))
            missing = sorted(set(named) - {row.id for row in rows})
            if missing:
                raise CommandError(f"no account {', '.join(missing)}: see `manage.py` admin's Accounts")
        else:
            rows = list(MarketDataAccount.objects.filter(is_enabled=True).order_by("priority", "id"))
        logins = trading_logins((row.id, row.gateway_type, row.settings) for row in rows)
        if named and len(logins) < len(set(named)):
            raise CommandError(
                "--from-broker needs ctp or sopt accounts with a trading login (settings.tdAddress, "
                f"appID, authCode); found {len(logins)} among {', '.join(named)}"
            )
        timeout: float = options["timeout"]
        choice = universe_for_refresh(
            today, rules_source(today), logins, lambda login: query_instruments(login, timeout)
        )
        for failure in choice.failures:
            self.stderr.write(f"instrument query failed: {failure}")
        if named and choice.failures:
            raise CommandError("the broker's instrument query failed; the contract table is unchanged")
        result = refresh_contracts(choice.universe)
        self.stdout.write(
            f"Contracts on {today} (exchange date) from the {choice.source}: {result.added} listed, "
            f"{result.updated} updated, {result.expired} expired removed"
        )
