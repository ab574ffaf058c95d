"""Build the depth tee (``depth_tee.cpp``) and its compiled record handlers, for CTP and SOPT.

    python -m gateways.depthtee.build      # gateways.loopback.build's main runs it (./dev setup)

The C++ library goes to ``run/depthtee/<flavour>/libmdhub_depth_tee.so`` with the vendor's
SONAME (``libthostmduserapi_se.so`` / ``libsoptthostmduserapi_se.so``), compiled against the
vendor headers the loopback build extracts from the pinned packages' source distributions
(so the classes' and the record's layouts are the ones the wrappers were built with). The
Cython handlers (``_depth_tee_ctp``, ``_depth_tee_sopt``) are built in place next to their
sources (git-ignored); their generated C++ goes under ``run/build``. Idempotent. No Django.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gateways.loopback.build import FLAVOURS, PROJECT_DIR, Flavour, fetch_headers

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "depth_tee.cpp"
EXPORTS = HERE / "exports.map"
HANDLER_SOURCES = ("_depth_handler.pxi", "depth_record.h")
OUT_DIR = PROJECT_DIR / "run" / "depthtee"
LIBRARY_NAME = "libmdhub_depth_tee.so"


def tee_library_path(flavour: str) -> Path:
    return OUT_DIR / flavour / LIBRARY_NAME


def _newer(target: Path, inputs: list[Path]) -> bool:
    return target.exists() and target.stat().st_mtime >= max(p.stat().st_mtime for p in inputs)


def build_library(flavour: Flavour) -> bool:
    """The C++ tee of ``flavour``; False when it was already up to date."""
    target = tee_library_path(flavour.name)
    if _newer(target, [SOURCE, EXPORTS, Path(__file__)]):
        return False
    fetch_headers(flavour)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".so.partial")
    defines = ["-DDEPTH_TEE_SOPT"] if flavour.name == "sopt" else []
    subprocess.run(
        [
            "g++",
            "-std=c++17",
            "-O2",
            "-fPIC",
            "-shared",
            "-Wall",
            "-Wextra",
            "-Wno-unused-parameter",
            *defines,
            f"-I{flavour.headers}",
            f"-Wl,-soname,{flavour.soname}",
            f"-Wl,--version-script={EXPORTS}",
            "-o",
            str(partial),
            str(SOURCE),
            "-ldl",
        ],
        check=True,
    )
    # Renamed into place: a worker loading the library never sees half a file.
    partial.replace(target)
    return True


def build_handler(flavour: Flavour) -> bool:
    """The Cython handler of ``flavour`` (``gateways/depthtee/_depth_tee_<flavour>.pyx``)."""
    source = HERE / f"_depth_tee_{flavour.name}.pyx"
    inputs = [source, Path(__file__), *(HERE / name for name in HANDLER_SOURCES)]
    outputs = list(HERE.glob(f"_depth_tee_{flavour.name}.*.so"))
    if outputs and all(_newer(p, inputs) for p in outputs):
        return False
    fetch_headers(flavour)
    from Cython.Build import cythonize
    from setuptools import Extension  # type: ignore[import-untyped]
    from setuptools.dist import Distribution  # type: ignore[import-untyped]

    build_dir = PROJECT_DIR / "run" / "build" / "depthtee" / flavour.name
    extension = Extension(
        f"gateways.depthtee._depth_tee_{flavour.name}",
        [str(source)],
        language="c++",
        include_dirs=[str(HERE), str(flavour.headers)],
        extra_compile_args=["-O2", "-std=c++17"],
    )
    modules = cythonize(  # type: ignore[no-untyped-call]
        [extension], build_dir=str(build_dir / "cython"), quiet=True, language_level=3
    )
    dist = Distribution({"ext_modules": modules})
    command = dist.get_command_obj("build_ext")
    command.inplace = True
    command.build_temp = str(build_dir / "temp")
    command.build_lib = str(build_dir / "lib")
    dist.run_command("build_ext")
    # The in-place copy keeps the build's time stamp: mark it as new, or every run rebuilds.
    for output in HERE.glob(f"_depth_tee_{flavour.name}.*.so"):
        output.touch()
    return True


def main() -> int:
    for flavour in FLAVOURS:
        built = build_library(flavour)
        state = "built" if built else "up to date"
        print(f"depth tee {flavour.name}: {tee_library_path(flavour.name)} ({state})")
        built = build_handler(flavour)
        print(f"depth tee {flavour.name}: handler ({'built' if built else 'up to date'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
