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
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import transaction

from aggregation.contract_codes import parse_contract
from aggregation.models import Contract
from aggregation.sessions import DEFAULT_HOLIDAYS
from aggregation.universe import Universe


@dataclass(frozen=True)
class RefreshResult:
    added: int
    updated: int
    expired: int


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
