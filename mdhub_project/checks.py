"""System checks for the project's own settings (``mdhub.*``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from engine.states import FailoverMode


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
