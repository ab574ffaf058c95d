"""System checks for the depth tee (``gateways.E002``, ``gateways.W002``).

The workers read ``MDHUB_DEPTH_TEE`` from the environment the hub passes on: a value that is
neither ``0`` nor ``1`` is a typo that would silently leave the default in force, and ``1``
without the built tee means the workers run the dict fast path while the operator thinks
otherwise. Cheap: file look-ups only, nothing loaded.
"""

from __future__ import annotations

import os
from typing import Any

from django.core import checks

BUILD_HINT = "Run `python -m gateways.depthtee.build` (./dev setup runs it through gateways.loopback.build)."


@checks.register("gateways")
def check_depth_tee(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    value = os.environ.get("MDHUB_DEPTH_TEE", "")
    if value not in ("", "0", "1"):
        return [
            checks.Error(
                f"MDHUB_DEPTH_TEE={value!r}: must be 0 (the dict fast path) or 1 (the depth tee).",
                hint="Unset it for the default (the tee when it is built).",
                id="gateways.E002",
            )
        ]
    if value == "1":
        from gateways.depthtee.tee import built

        missing = [flavour for flavour in ("ctp", "sopt") if not built(flavour)]
        if missing:
            return [
                checks.Warning(
                    f"MDHUB_DEPTH_TEE=1 but the depth tee is not built for {', '.join(missing)}: "
                    "those workers take the dict fast path.",
                    hint=BUILD_HINT,
                    id="gateways.W002",
                )
            ]
    return []
