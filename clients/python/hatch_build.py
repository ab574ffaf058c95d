"""What goes into the mdhub-client wheel: ``mdhub_client/`` and every module of ours it imports,
found by following its imports, so a new import in the client cannot leave the wheel short.

The build fails when one of those modules imports the hub's web side (Django, DRF, Channels):
a strategy host has none of it. Imports are read from the source (``ast``), every one of them,
including those inside functions and ``TYPE_CHECKING`` blocks.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

# The repository root: the wheel is built from its files (clients/python/ has none).
REPOSITORY = Path(__file__).resolve().parent.parent.parent
OURS = ("mdhub_client", "aggregation")
WEB_SIDE = ("django", "rest_framework", "channels", "daphne")


def _module_file(module: str) -> Path | None:
    base = REPOSITORY.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, as absolute dotted names (``from a import b``: ``a.b``
    when that is a module of ours, else ``a``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def client_files() -> dict[str, str]:
    """Wheel path → source file, for ``mdhub_client`` and what it imports of ours."""
    todo = [f"mdhub_client.{p.stem}" for p in sorted((REPOSITORY / "mdhub_client").glob("*.py"))]
    files: dict[str, str] = {}
    seen: set[str] = set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = _module_file(module)
        if path is None:
            continue  # a name imported from a module, not a module
        # Its packages come too (their __init__ runs on import).
        parts = module.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        files[path.relative_to(REPOSITORY).as_posix()] = str(path)
        for imported in _imports(path):
            root = imported.split(".")[0]
            if root in WEB_SIDE:
                raise RuntimeError(
                    f"{path.relative_to(REPOSITORY)} imports {imported}: the client wheel must not "
                    "need the hub's web side; move that import out of the client's modules"
                )
            if root in OURS:
                todo.append(imported)
    return files


class ClientModulesHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        for target, source in client_files().items():
            build_data["force_include"][source] = target
