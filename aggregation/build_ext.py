"""Build the compiled modules in place: the tick codec (``aggregation/_tick_codec.pyx``), the
worker's tick path (``aggregation/_emit_core.pyx``), the hub's tick path
(``aggregation/_hub_core.pyx``) and the journal's framing (``aggregation/_journal_core.pyx``).

    python -m aggregation.build_ext      # ./dev setup runs it; idempotent

The generated C and the object files go under ``run/build`` and the extension next to its
source (``aggregation/_tick_codec.*.so``, renamed into place), all git-ignored. The tick codec
and the emit core share their msgpack writers (``aggregation/_msgpack_write.pxd``, inline).
Without them the worker uses the pure-Python twin (``aggregation.tick_codec_py``),
byte-identical and slower, the hub its Python loop (``aggregation.hub_core``) and the journal
its Python framing (``aggregation.journal``).

The hub's core and the worker's emit core call libzmq directly: they link the libzmq pyzmq
loads (the wheel's bundled copy, else the system's ``-lzmq``); the journal's framing links
zlib (``crc32``, as Python's
``zlib.crc32``).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (
    "aggregation/_tick_codec.pyx",
    "aggregation/_hub_core.pyx",
    "aggregation/_journal_core.pyx",
    "aggregation/_emit_core.pyx",
)
# Files an extension includes besides its source (a change rebuilds it).
DEPENDS = {
    # The msgpack writers both encoders cimport (inline: compiled into each).
    "aggregation/_tick_codec.pyx": ("aggregation/_msgpack_write.pxd",),
    "aggregation/_emit_core.pyx": ("aggregation/_msgpack_write.pxd",),
    "aggregation/_journal_core.pyx": ("aggregation/_crc32_fold.h", "aggregation/_journal_core.pxd"),
    # The hub core pushes to the journal's hand-off with a C call (cimport).
    "aggregation/_hub_core.pyx": ("aggregation/_journal_core.pxd",),
}


def _link_args(source: str) -> dict[str, list[str]]:
    """What each extension links besides Python."""
    if source.endswith(("_hub_core.pyx", "_emit_core.pyx")):
        import zmq

        bundled = sorted((Path(zmq.__file__).parent.parent / "pyzmq.libs").glob("libzmq*.so*"))
        if bundled:
            # The very library pyzmq loaded (same soname): one libzmq in the process.
            return {"extra_objects": [str(bundled[0])], "runtime_library_dirs": [str(bundled[0].parent)]}
        return {"libraries": ["zmq"]}
    if source.endswith("_journal_core.pyx"):
        # zlib's crc32 (zlib.h: zlib1g-dev) and aggregation/_crc32_fold.h beside the source.
        return {"libraries": ["z"], "include_dirs": [str(ROOT / "aggregation")]}
    return {}


def built() -> bool:
    """Whether every extension is newer than its source."""
    for source in SOURCES:
        src = ROOT / source
        outputs = list(src.parent.glob(src.stem + ".*.so"))
        newest = max((ROOT / dep).stat().st_mtime for dep in (source, *DEPENDS.get(source, ())))
        if not outputs or min(p.stat().st_mtime for p in outputs) < newest:
            return False
    return True


def build() -> None:
    from Cython.Build import cythonize
    from setuptools import Extension  # type: ignore[import-untyped]
    from setuptools.dist import Distribution  # type: ignore[import-untyped]

    build_dir = ROOT / "run" / "build"
    extensions = [
        Extension(
            source.removesuffix(".pyx").replace("/", "."),
            [str(ROOT / source)],
            extra_compile_args=["-O2"],
            **_link_args(source),
        )
        for source in SOURCES
    ]
    modules = cythonize(  # type: ignore[no-untyped-call]
        extensions,
        build_dir=str(build_dir / "cython"),
        quiet=True,
        language_level=3,
        include_path=[str(ROOT)],
    )
    dist = Distribution({"ext_modules": modules})
    cmd = dist.get_command_obj("build_ext")
    # Built under run/build/lib, then renamed into place (_install): not setuptools' inplace
    # copy, which rewrites the .so under its name while other processes may be loading it.
    cmd.inplace = False
    cmd.build_temp = str(build_dir / "temp")
    cmd.build_lib = str(build_dir / "lib")
    dist.run_command("build_ext")
    for ext in modules:
        _install(Path(cmd.get_ext_fullpath(ext.name)))


def _install(built_so: Path) -> None:
    """Put a built extension beside its source by rename: a worker that has the old .so
    mapped keeps its (unlinked) file, one that imports now sees the old or the new one whole,
    never a half-written file."""
    target = ROOT / "aggregation" / built_so.name
    # Ends in .so, so a leftover is git-ignored (aggregation/*.so); no module imports by it.
    staging = target.with_name(f".tmp-{os.getpid()}-{target.name}")
    shutil.copyfile(built_so, staging)
    shutil.copymode(built_so, staging)
    os.replace(staging, target)


def main() -> int:
    if built() and "--force" not in sys.argv:
        print("compiled modules: up to date")
        return 0
    build()
    print("compiled modules: built")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
