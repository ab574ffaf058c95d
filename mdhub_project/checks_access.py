"""System checks for who may read the stream (docs/access.md): ``mdhub.E030`` — an endpoint
beyond loopback without CURVE; ``mdhub.E031`` — CURVE on but its server key file unusable."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

from aggregation.curve import CurveKeys

ENDPOINTS = ("MDHUB_PUB_ADDR", "MDHUB_SNAPSHOT_ADDR", "MDHUB_RECOVERY_ADDR", "MDHUB_CONFLATE_ADDR")
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]", "lo"}


def beyond_loopback(endpoint: str) -> bool:
    """Whether a bind endpoint can be reached from other machines (``tcp://*:5555``,
    ``tcp://eth0:5555``, ``tcp://10.0.0.5:5555``); ipc/inproc never can."""
    if not endpoint.startswith("tcp://"):
        return False
    host = urlsplit(endpoint).netloc.rpartition(":")[0]
    return not (host in LOOPBACK or host.startswith("127."))


@checks.register("mdhub")
def check_stream_access(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    if not settings.MDHUB_CURVE and not settings.MDHUB_STREAM_OPEN:
        open_ones = [
            f"{name}={getattr(settings, name)}"
            for name in ENDPOINTS
            if beyond_loopback(getattr(settings, name))
        ]
        if open_ones:
            errors.append(
                checks.Error(
                    f"The stream is bound beyond loopback without CURVE: {', '.join(open_ones)}. Anyone who "
                    "reaches these ports could read the market data.",
                    hint="Set MDHUB_CURVE=true (./dev run --lan does) and add stream clients in the admin "
                    "(docs/access.md); or bind to 127.0.0.1; or, on a trusted network only, "
                    "MDHUB_STREAM_OPEN=true.",
                    id="mdhub.E030",
                )
            )
    if settings.MDHUB_CURVE and settings.MDHUB_CURVE_KEY_FILE.exists():
        try:
            CurveKeys.read(settings.MDHUB_CURVE_KEY_FILE)
        except (OSError, ValueError) as exc:
            errors.append(
                checks.Error(
                    f"MDHUB_CURVE_KEY_FILE cannot be used: {exc}",
                    hint="Delete it to have runhub make a new server key pair (clients then need the new "
                    "public key), or point MDHUB_CURVE_KEY_FILE at a file of public = / secret = lines.",
                    id="mdhub.E031",
                )
            )
    return errors
