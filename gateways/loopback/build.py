"""Build the loopback CTP and SOPT market-data libraries under ``run/loopback/``.

    python -m gateways.loopback.build

The vendor headers come from the pinned packages' source distributions (``pip download``,
kept in ``run/loopback/sdist``); the headers are compiled against as they ship, so the
classes' layouts (vtables, record structs) are exactly the ones the vn.py wrappers were
built with. Idempotent: a library newer than its source and build script is kept. Output:

    run/loopback/ctp/libthostmduserapi_se.so       (SONAME as the vendor's)
    run/loopback/sopt/libsoptthostmduserapi_se.so

Nothing here touches the installed vendor files. No Django import.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent
SOURCE = Path(__file__).with_name("loopback_md.cpp")
# Only the API's own symbols leave the library (no inlined std:: templates to interpose).
EXPORTS = Path(__file__).with_name("exports.map")
OUT_DIR = PROJECT_DIR / "run" / "loopback"
SDIST_DIR = OUT_DIR / "sdist"


@dataclass(frozen=True)
class Flavour:
    name: str
    package: str
    version: str
    include: str  # the header directory inside the source distribution
    soname: str
    defines: tuple[str, ...]

    @property
    def library(self) -> Path:
        return OUT_DIR / self.name / self.soname

    @property
    def sdist(self) -> Path:
        return SDIST_DIR / f"{self.package}-{self.version}.tar.gz"

    @property
    def headers(self) -> Path:
        return SDIST_DIR / f"{self.package}-{self.version}" / self.include


FLAVOURS = (
    Flavour("ctp", "vnpy_ctp", "6.7.7.2", "vnpy_ctp/api/include/ctp", "libthostmduserapi_se.so", ()),
    Flavour(
        "sopt",
        "vnpy_sopt",
        "3.7.1.0",
        "vnpy_sopt/api/include/sopt",
        "libsoptthostmduserapi_se.so",
        ("-DLOOPBACK_SOPT",),
    ),
)


def library_path(flavour: str) -> Path:
    """Where the built library of ``flavour`` (``ctp`` or ``sopt``) is."""
    return next(f for f in FLAVOURS if f.name == flavour).library


def fetch_headers(flavour: Flavour) -> None:
    if (flavour.headers / "ThostFtdcMdApi.h").exists():
        return
    if not flavour.sdist.exists():
        # --no-binary for the package only: its build tools may come as wheels.
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                f"{flavour.package}=={flavour.version}",
                "--no-deps",
                "--no-binary",
                flavour.package,
                "-d",
                str(SDIST_DIR),
                "-q",
            ],
            check=True,
        )
    prefix = f"{flavour.package}-{flavour.version}/{flavour.include}/"
    with tarfile.open(flavour.sdist) as archive:
        members = [m for m in archive.getmembers() if m.name.startswith(prefix) and m.isfile()]
        archive.extractall(SDIST_DIR, members=members, filter="data")


def build(flavour: Flavour) -> bool:
    """Compile one library; False when it was already up to date."""
    target = flavour.library
    newest_input = max(p.stat().st_mtime for p in (SOURCE, EXPORTS, Path(__file__)))
    if target.exists() and target.stat().st_mtime >= newest_input:
        return False
    fetch_headers(flavour)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".so.partial")
    subprocess.run(
        [
            "g++",
            "-std=c++17",
            "-O2",
            "-fPIC",
            "-shared",
            "-pthread",
            "-Wall",
            "-Wextra",
            "-Wno-unused-parameter",
            *flavour.defines,
            f"-I{flavour.headers}",
            f"-Wl,-soname,{flavour.soname}",
            f"-Wl,--version-script={EXPORTS}",
            "-o",
            str(partial),
            str(SOURCE),
        ],
        check=True,
    )
    # Renamed into place: a worker loading the library never sees half a file.
    partial.replace(target)
    return True


def main() -> int:
    for flavour in FLAVOURS:
        built = build(flavour)
        print(f"loopback {flavour.name}: {flavour.library} ({'built' if built else 'up to date'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
