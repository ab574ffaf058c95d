"""The contract table kept in step with the contract universe (Django side).

``refresh_contracts`` writes a day's ``Universe`` (a broker's instrument query, or the
listing rules without a trading login) into ``Contract``: listed instruments are added
(not subscribed: a universe has thousands of contracts; subscribe them by name,
``ProductSubscription``, or tick them in the admin) and updated; rows past their last
trading day are deleted, admin entries included (their expiry comes from their code when
the rules know the product). Rows with no known expiry (an admin entry of a product the
rules do not know) stay: the admin-editable list as today. ``manage.py refresh_universe``
runs it (``./dev run`` every start; in production, before the daily start in crontab.txt).
The running engine rolls its own copy each exchange day (``engine.universe_roll``).

``universe_for_refresh`` chooses the source: the broker's instrument query
(``gateways.instrument_query``, a one-shot process per login) of every enabled ctp/sopt
account with a trading login (``tdAddress``), one per kind; the exchanges no broker
answered for keep the listing rules. Without a trading login, or when every query fails
(the failure is reported, the table is still refreshed), the listing rules as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from django.db import transaction

from aggregation.contract_codes import parse_contract
from aggregation.models import Contract
from aggregation.sessions import DEFAULT_HOLIDAYS
from aggregation.universe import Instrument, Universe


class BrokerAnswer(Protocol):
    """One broker's instrument query (``gateways.instrument_query.QueryResult``: the layers
    keep ``aggregation`` from importing it)."""

    @property
    def account(self) -> str: ...
    @property
    def instruments(self) -> list[Instrument]: ...


@dataclass(frozen=True)
class RefreshResult:
    added: int
    updated: int
    expired: int


@dataclass(frozen=True)
class UniverseChoice:
    """The day's universe and where it came from, for the command's report."""

    universe: Universe
    brokers: Sequence[BrokerAnswer] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def source(self) -> str:
        if not self.brokers:
            return "listing rules"
        names = ", ".join(f"{r.account} ({len(r.instruments)})" for r in self.brokers)
        return f"broker instrument query: {names}"


def combine(today: date, rules: Universe, answers: Sequence[BrokerAnswer]) -> Universe:
    """The brokers' instruments, plus the rules' for the exchanges no broker listed."""
    listed: list[Instrument] = [i for answer in answers for i in answer.instruments]
    covered = {i.exchange for i in listed}
    kept = [i for i in rules.instruments.values() if i.exchange not in covered]
    return Universe.of(today, [*listed, *kept])


def universe_for_refresh[Login](
    today: date,
    rules: Universe,
    logins: Sequence[Login],
    query: Callable[[Login], BrokerAnswer],
) -> UniverseChoice:
    """Ask ``query`` for each login (it raises ``RuntimeError`` with a message saying what
    failed); a failed query leaves its market to the rules and is reported."""
    answers: list[BrokerAnswer] = []
    failures: list[str] = []
    for login in logins:
        try:
            answers.append(query(login))
        except RuntimeError as exc:
            failures.append(str(exc))
    return UniverseChoice(combine(today, rules, answers), answers, failures)


def _expiry(row: Contract, today: date) -> date | None:
    if row.expiry is not None:
        return row.expiry
    parsed = parse_contract(row.symbol, row.exchange, today, DEFAULT_HOLIDAYS)
    return parsed[1] if parsed else None


@transaction.atomic
def refresh_contracts(universe: Universe) -> RefreshResult:
    today = universe.day
    expired = [row.vt_symbol for row in Contract.objects.all() if (e := _expiry(row, today)) and e < today]
    Contract.objects.filter(vt_symbol__in=expired).delete()
    existing = {
        row.vt_symbol: row for row in Contract.objects.filter(vt_symbol__in=list(universe.instruments))
    }
    added = updated = 0
    for instrument in universe.instruments.values():
        values = {
            "symbol": instrument.symbol,
            "exchange": instrument.exchange,
            "name": instrument.name,
            "product": "期权" if instrument.is_option else "期货",
            "size": instrument.size,
            "pricetick": instrument.pricetick,
            "product_code": instrument.product,
            "expiry": instrument.expiry,
            "option_underlying": instrument.option_underlying,
            "option_strike": instrument.option_strike,
            "option_type": instrument.option_type,
        }
        row = existing.get(instrument.vt_symbol)
        if row is None:
            Contract.objects.create(
                vt_symbol=instrument.vt_symbol, is_subscribed=False, from_universe=True, **values
            )
            added += 1
        elif any(getattr(row, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(row, key, value)
            row.save()
            updated += 1
    return RefreshResult(added, updated, len(expired))
