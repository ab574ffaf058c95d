"""System checks for the project's own settings (``mdhub.*``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


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
