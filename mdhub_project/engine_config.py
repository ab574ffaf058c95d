"""Reads what the engine needs from the database: the whole configuration once before its
loop starts, and the accounts again whenever they change (``load_accounts_fresh``, the
publisher's ``AccountsLoader``). The wiring of ``runhub``: the engine itself is Django-free."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import close_old_connections

from accounts.models import MarketDataAccount
from aggregation.access import ClientIdentity
from aggregation.curve import CurveKeys, internal_key_file, write_internal_keys
from aggregation.models import Contract, ProductSubscription
from clients_access.models import load_identities
from engine.config import AccountConfig, EngineConfig
from engine.health import HealthConfig
from engine.restart_policy import RestartConfig
from engine.services import ServiceConfig
from engine.states import FailoverMode
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
        enabled=account.is_enabled,
    )


def load_accounts() -> list[AccountConfig]:
    """Every account, enabled or not: disabled ones are listed as ``stopped``."""
    return [account_config(a) for a in MarketDataAccount.objects.order_by("priority", "id")]


def load_accounts_fresh() -> list[AccountConfig]:
    """``load_accounts`` from the publisher's worker thread: a connection the database has
    since closed (MySQL's wait_timeout) is replaced first."""
    close_old_connections()
    return load_accounts()


def health_config() -> HealthConfig:
    return HealthConfig(
        heartbeat_timeout=settings.MDHUB_HEARTBEAT_TIMEOUT,
        login_timeout=settings.MDHUB_LOGIN_TIMEOUT,
        disconnected_timeout=settings.MDHUB_DISCONNECTED_TIMEOUT,
        canary_stale_after=settings.MDHUB_CANARY_STALE_AFTER,
        stale_timeout=settings.MDHUB_STALE_TIMEOUT,
        storm_reconnects=settings.MDHUB_STORM_RECONNECTS,
        storm_window=settings.MDHUB_STORM_WINDOW,
    )


def restart_config() -> RestartConfig:
    return RestartConfig(
        cooldown=settings.MDHUB_RESTART_COOLDOWN,
        grace=settings.MDHUB_RESTART_GRACE,
        backoff_max=settings.MDHUB_RESTART_BACKOFF_MAX,
        budget=settings.MDHUB_RESTART_BUDGET,
        budget_window=settings.MDHUB_RESTART_BUDGET_WINDOW,
        failed_retry=settings.MDHUB_FAILED_RETRY,
    )


def service_args(name: str) -> tuple[str, ...]:
    """A service's own settings as ``services.runner`` flags (checked by ``mdhub.E007``–``E011``)."""
    common = (
        f"--priority={settings.MDHUB_SERVICES_PRIORITY}",
        f"--cadence-ms={settings.MDHUB_SERVICES_CADENCE_MS:g}",
        f"--input={settings.MDHUB_SERVICES_INPUT}",
        f"--tape-from={settings.MDHUB_SERVICES_TAPE_FROM}",
        # The tape the services read (MDHUB_SERVICES_INPUT auto/tape); "" without a journal.
        f"--journal-dir={settings.MDHUB_JOURNAL_DIR if settings.MDHUB_JOURNAL else ''}",
    )
    return (*common, *_own_args(name))


def _own_args(name: str) -> tuple[str, ...]:
    if name == "bars":
        topics = (f"--topics={settings.MDHUB_BARS_TOPICS}",) if settings.MDHUB_BARS_TOPICS else ()
        return (
            *topics,
            f"--intervals={','.join(settings.MDHUB_BARS_INTERVALS)}",
            f"--grace-ms={settings.MDHUB_BARS_GRACE_MS:g}",
            "--flat" if settings.MDHUB_BARS_FLAT else "--no-flat",
        )
    if name == "greeks":
        args = [
            f"--throttle-ms={settings.MDHUB_GREEKS_THROTTLE_MS:g}",
            f"--rate={settings.MDHUB_GREEKS_RATE:g}",
            f"--dividend={settings.MDHUB_GREEKS_DIVIDEND:g}",
        ]
        if settings.MDHUB_OPTION_CONTRACTS:
            args.append(f"--contracts={settings.MDHUB_OPTION_CONTRACTS}")
        if settings.MDHUB_GREEKS_TOPICS:
            args.append(f"--topics={settings.MDHUB_GREEKS_TOPICS}")
        return tuple(args)
    return ()


def services_config() -> list[ServiceConfig]:
    # dict.fromkeys: "bars,bars" runs one bar service (one account, one process).
    return [ServiceConfig(name, service_args(name)) for name in dict.fromkeys(settings.MDHUB_SERVICES)]


def stream_keys() -> CurveKeys | None:
    """The hub's CURVE key pair when ``MDHUB_CURVE`` is on: read from ``MDHUB_CURVE_KEY_FILE``,
    or made there (owner-only) on the first run; clients need its public half."""
    if not settings.MDHUB_CURVE:
        return None
    path = settings.MDHUB_CURVE_KEY_FILE
    if not path.exists():
        CurveKeys.generate().write(path)
    return CurveKeys.read(path)


def internal_keys(server: CurveKeys | None) -> tuple[CurveKeys | None, Path | None]:
    """With CURVE on, the hub's own readers' key pair, kept beside the server key with the
    server's public key in it (services and the bridge read that one file)."""
    if server is None:
        return None, None
    path = internal_key_file(settings.MDHUB_CURVE_KEY_FILE)
    return write_internal_keys(path, server.public), path


def load_clients_fresh() -> list[ClientIdentity]:
    """The stream clients from the publisher's worker thread (``clients.changed``)."""
    close_old_connections()
    return load_identities()


def load_engine_config() -> EngineConfig:
    contracts = list(Contract.objects.filter(is_subscribed=True))
    server = stream_keys()
    internal, internal_file = internal_keys(server)
    return EngineConfig(
        run_dir=settings.MDHUB_RUN_DIR,
        pub_addr=settings.MDHUB_PUB_ADDR,
        snapshot_addr=settings.MDHUB_SNAPSHOT_ADDR,
        journal_dir=settings.MDHUB_JOURNAL_DIR if settings.MDHUB_JOURNAL else None,
        recovery_addr=settings.MDHUB_RECOVERY_ADDR,
        accounts=load_accounts(),
        # Contracts by code, and products by name (rb, rb.main: engine.universe_roll).
        subscriptions=[c.vt_symbol for c in contracts]
        + [p.name for p in ProductSubscription.objects.filter(is_enabled=True)],
        contracts=[c.as_spec() for c in Contract.objects.all()],
        calendar=calendar_spec(),
        sim_addr=settings.MDHUB_SIM_ADDR,
        sim_contracts=settings.MDHUB_SIM_CONTRACTS,
        sim_rate=settings.MDHUB_SIM_RATE,
        max_skew=settings.MDHUB_MAX_CLOCK_SKEW,
        mode=FailoverMode(settings.MDHUB_FAILOVER_MODE),
        warm_sources=settings.MDHUB_WARM_SOURCES,
        subscribe_batch=settings.MDHUB_SUBSCRIBE_BATCH,
        health=health_config(),
        restart=restart_config(),
        services=services_config(),
        stream_keys=server,
        clients=load_identities(),
        internal_keys=internal,
        internal_key_file=internal_file,
        conflate_addr=settings.MDHUB_CONFLATE_ADDR,
    )
