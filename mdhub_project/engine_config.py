"""Reads what the engine needs from the database, once, before its loop starts."""

from __future__ import annotations

from django.conf import settings

from accounts.models import MarketDataAccount
from aggregation.models import Contract
from mdhub_project.engine import AccountConfig, EngineConfig
from monitoring.calendar_store import load_calendar


def calendar_spec() -> dict[str, object]:
    calendar = load_calendar()
    rules = []
    for rule in calendar.rules:
        rules.append(
            {
                "exchange": rule.exchange,
                "product": rule.product,
                "start": rule.window.start.isoformat(),
                "end": rule.window.end.isoformat(),
                "kind": rule.window.kind,
                "is_night": rule.is_night,
            }
        )
    return {"rules": rules, "holidays": sorted(d.isoformat() for d in calendar.holidays)}


def account_config(account: MarketDataAccount) -> AccountConfig:
    return AccountConfig(
        id=account.id,
        gateway_type=account.gateway_type,
        settings=dict(account.settings or {}),
        priority=account.priority,
        canaries=list(account.canaries or []),
    )


def load_engine_config() -> EngineConfig:
    contracts = list(Contract.objects.filter(is_subscribed=True))
    return EngineConfig(
        run_dir=settings.MDHUB_RUN_DIR,
        pub_addr=settings.MDHUB_PUB_ADDR,
        snapshot_addr=settings.MDHUB_SNAPSHOT_ADDR,
        accounts=[account_config(a) for a in MarketDataAccount.objects.filter(is_enabled=True)],
        subscriptions=[c.vt_symbol for c in contracts],
        contracts=[c.as_spec() for c in Contract.objects.all()],
        calendar=calendar_spec(),
        sim_addr=settings.MDHUB_SIM_ADDR,
        sim_contracts=settings.MDHUB_SIM_CONTRACTS,
        sim_rate=settings.MDHUB_SIM_RATE,
        max_skew=settings.MDHUB_MAX_CLOCK_SKEW,
    )
