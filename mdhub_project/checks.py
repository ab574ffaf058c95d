"""System checks for the project's own settings (``mdhub.*``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from engine.states import FailoverMode
from services.bars import DAILY, interval_step
from services.inputs import INPUTS, TAPE
from services.priority import PRIORITIES
from services.runner import SERVICES
from services.tape import TAPE_FROM


@checks.register(checks.Tags.security, deploy=True)
def check_secret_key(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        return [
            checks.Warning(
                "SECRET_KEY is the built-in development key.",
                hint="Set SECRET_KEY (or SECRET_KEY_FILE) to a long random value in production.",
                id="mdhub.W001",
            )
        ]
    return []


@checks.register("mdhub")
def check_alert_recipients(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    bad = [address for address in settings.ALERT_EMAIL_TO if "@" not in address]
    if bad:
        return [
            checks.Error(
                f"ALERT_EMAIL_TO holds something that is not an e-mail address: {', '.join(bad)}",
                hint="Give a comma-separated list such as ops@example.com,desk@example.com.",
                id="mdhub.E002",
            )
        ]
    return []


@checks.register("mdhub")
def check_failover(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    if settings.MDHUB_FAILOVER_MODE not in tuple(FailoverMode):
        errors.append(
            checks.Error(
                f"MDHUB_FAILOVER_MODE is {settings.MDHUB_FAILOVER_MODE!r}.",
                hint='Use "hot" (every healthy source subscribes) or "warm" (the best N subscribe).',
                id="mdhub.E003",
            )
        )
    if settings.MDHUB_WARM_SOURCES < 1:
        errors.append(
            checks.Error(
                f"MDHUB_WARM_SOURCES is {settings.MDHUB_WARM_SOURCES}; warm mode needs one or more.",
                hint="Set MDHUB_WARM_SOURCES to 1 or more.",
                id="mdhub.E004",
            )
        )
    timings = {
        name: getattr(settings, name)
        for name in (
            "MDHUB_HEARTBEAT_TIMEOUT",
            "MDHUB_LOGIN_TIMEOUT",
            "MDHUB_DISCONNECTED_TIMEOUT",
            "MDHUB_CANARY_STALE_AFTER",
            "MDHUB_STALE_TIMEOUT",
            "MDHUB_STORM_WINDOW",
            "MDHUB_RESTART_GRACE",
            "MDHUB_RESTART_BACKOFF_MAX",
            "MDHUB_RESTART_BUDGET_WINDOW",
            "MDHUB_FAILED_RETRY",
        )
    }
    for name, value in timings.items():
        if value <= 0:
            errors.append(
                checks.Error(f"{name} is {value}; it must be a positive number of seconds.", id="mdhub.E005")
            )
    if settings.MDHUB_HEARTBEAT_TIMEOUT <= 0.5:
        errors.append(
            checks.Error(
                f"MDHUB_HEARTBEAT_TIMEOUT is {settings.MDHUB_HEARTBEAT_TIMEOUT} s; workers send a heartbeat "
                "every 0.5 s, so every worker would look hung.",
                hint="Use 2 s or more.",
                id="mdhub.E006",
            )
        )
    return errors


@checks.register("mdhub")
def check_services(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The data services' settings (docs/services.md): runhub passes them to each service."""
    errors: list[checks.CheckMessage] = []
    unknown = [name for name in settings.MDHUB_SERVICES if name not in SERVICES]
    if unknown:
        errors.append(
            checks.Error(
                f"MDHUB_SERVICES names unknown services: {', '.join(unknown)}.",
                hint=f"Choose from {', '.join(SERVICES)} (comma-separated), or leave it empty for none.",
                id="mdhub.E007",
            )
        )
    bad = [i for i in settings.MDHUB_BARS_INTERVALS if i != DAILY and interval_step(i) is None]
    if bad or not settings.MDHUB_BARS_INTERVALS:
        what = f"holds unknown intervals: {', '.join(bad)}" if bad else "is empty"
        errors.append(
            checks.Error(
                f"MDHUB_BARS_INTERVALS {what}.",
                hint="Use 1m, 5m, 15m, 30m, 1h, d or whole seconds such as 5s, comma-separated.",
                id="mdhub.E008",
            )
        )
    for name in ("MDHUB_BARS_GRACE_MS", "MDHUB_GREEKS_THROTTLE_MS"):
        value = getattr(settings, name)
        if value < 0:
            errors.append(
                checks.Error(
                    f"{name} is {value:g}; it must be 0 or more milliseconds.",
                    hint=f"Unset {name} for its default (docs/services.md).",
                    id="mdhub.E009",
                )
            )
    if settings.MDHUB_SERVICES_PRIORITY not in PRIORITIES:
        errors.append(
            checks.Error(
                f"MDHUB_SERVICES_PRIORITY is {settings.MDHUB_SERVICES_PRIORITY!r}.",
                hint=f"Choose {', '.join(PRIORITIES)} (idle: the default, below the hub; docs/services.md).",
                id="mdhub.E010",
            )
        )
    if settings.MDHUB_SERVICES_CADENCE_MS < 0:
        errors.append(
            checks.Error(
                f"MDHUB_SERVICES_CADENCE_MS is {settings.MDHUB_SERVICES_CADENCE_MS:g}; it must be 0 or more.",
                hint="Unset it for the default 20 ms batches, or 0 to wake for every tick.",
                id="mdhub.E010",
            )
        )
    return errors + check_services_input()


def check_services_input() -> list[checks.CheckMessage]:
    """Where the services read their ticks (docs/services.md, "Input: the tape")."""
    errors: list[checks.CheckMessage] = []
    asked = settings.MDHUB_SERVICES_INPUT
    if asked not in INPUTS:
        errors.append(
            checks.Error(
                f"MDHUB_SERVICES_INPUT is {asked!r}.",
                hint=f"Choose {', '.join(INPUTS)} (auto: the journal file when MDHUB_JOURNAL is on, "
                "else the hub's stream).",
                id="mdhub.E011",
            )
        )
    elif asked == TAPE and not settings.MDHUB_JOURNAL:
        errors.append(
            checks.Error(
                "MDHUB_SERVICES_INPUT is 'tape' but MDHUB_JOURNAL is off: there is no tape to read.",
                hint="Turn MDHUB_JOURNAL on, or set MDHUB_SERVICES_INPUT to auto or hub.",
                id="mdhub.E011",
            )
        )
    if settings.MDHUB_SERVICES_TAPE_FROM not in TAPE_FROM:
        errors.append(
            checks.Error(
                f"MDHUB_SERVICES_TAPE_FROM is {settings.MDHUB_SERVICES_TAPE_FROM!r}.",
                hint="Choose start (a restarted service rebuilds the day from the tape) or end.",
                id="mdhub.E011",
            )
        )
    return errors
