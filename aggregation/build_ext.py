"""Build the compiled tick codec (``aggregation/_tick_codec.pyx``) in place.

    python -m aggregation.build_ext      # ./dev setup runs it; idempotent

The generated C and the object files go under ``run/build`` and the extension next to its
source (``aggregation/_tick_codec.*.so``), all git-ignored. Without it the worker uses the
pure-Python twin (``aggregation.tick_codec_py``), byte-identical and slower.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("aggregation/_tick_codec.pyx",)


def built() -> bool:
    """Whether every extension is newer than its source."""
    for source in SOURCES:
        src = ROOT / source
        outputs = list(src.parent.glob(src.stem + ".*.so"))
        if not outputs or min(p.stat().st_mtime for p in outputs) < src.stat().st_mtime:
            return False
    return True


def build() -> None:
    from Cython.Build import cythonize
    from setuptools import Extension  # type: ignore[import-untyped]
    from setuptools.dist import Distribution  # type: ignore[import-untyped]

    build_dir = ROOT / "run" / "build"
    extensions = [
        Extension(
            source.removesuffix(".pyx").replace("/", "."), [str(ROOT / source)], extra_compile_args=["-O2"]
        )
        for source in SOURCES
    ]
    modules = cythonize(  # type: ignore[no-untyped-call]
        extensions, build_dir=str(build_dir / "cython"), quiet=True, language_level=3
    )
    dist = Distribution({"ext_modules": modules})
    cmd = dist.get_command_obj("build_ext")
    cmd.inplace = True
    cmd.build_temp = str(build_dir / "temp")
    cmd.build_lib = str(build_dir / "lib")
    dist.run_command("build_ext")


def main() -> int:
    if built() and "--force" not in sys.argv:
        print("tick codec: up to date")
        return 0
    build()
    print("tick codec: built")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
