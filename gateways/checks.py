"""System checks for the gateway packages (``gateways.E001``).

The check must stay cheap because Django runs it before every command: it does not
import vn.py (half a second of numpy, pandas and TA-Lib) but asks the dynamic loader to
open each compiled gateway module, which is exactly what fails after a source build.
"""

from __future__ import annotations

import ctypes
import importlib.util
from pathlib import Path
from typing import Any

from django.core import checks

REPAIR_HINT = "Run `python -m gateways.vnpy_repair` in the project's virtualenv (./dev setup does)."
INSTALL_HINT = (
    "Install the pinned packages: pip install -r requirements.txt, then python -m gateways.vnpy_repair."
)

# package → the extra pure-Python modules it needs at import time.
GATEWAY_PACKAGES: dict[str, tuple[str, ...]] = {
    "vnpy_ctp": ("vnpy",),
    # vnpy_sopt 3.7.1.0 imports importlib_metadata, which it does not declare.
    "vnpy_sopt": ("vnpy", "importlib_metadata"),
}


def gateway_import_problem(package: str) -> tuple[str, str] | None:
    """``(message, hint)`` when ``package`` will not import, else ``None``."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return f"{package} is not installed.", INSTALL_HINT
    for extra in GATEWAY_PACKAGES.get(package, ()):
        if importlib.util.find_spec(extra) is None:
            return f"{package} needs {extra}, which is not installed.", f"pip install {extra}"
    api_dir = Path(next(iter(spec.submodule_search_locations))) / "api"
    modules = sorted(api_dir.glob("vn*.so"))
    if not modules:
        return f"{package} has no compiled modules in {api_dir}.", INSTALL_HINT
    for module in modules:
        try:
            ctypes.CDLL(str(module))
        except OSError as exc:
            return f"{package} does not import: {exc}", REPAIR_HINT
    return None


@checks.register("gateways")
def check_gateway_packages(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    for package in GATEWAY_PACKAGES:
        problem = gateway_import_problem(package)
        if problem:
            message, hint = problem
            messages.append(checks.Error(message, hint=hint, id="gateways.E001"))
    return messages
