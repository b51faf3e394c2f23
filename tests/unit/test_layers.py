"""Imports point inward only, following DESIGN.md's layer table.

Two rules: a package imports only packages on earlier lines of the table, and
no module of `callout.api`, `callout.web` or `callout.engine` reaches a database
library, directly or through any chain of callout modules it imports ("The
engine and the API run against the store protocols and import no SQLAlchemy").
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).parents[2] / "src" / "callout"

# Inner first; a package may import only packages on earlier lines (and itself).
LAYERS = [
    {"model"},
    {"templates"},
    {"signing"},
    {"http"},
    {"steps"},
    {"receiver"},
    {"store"},
    {"engine"},
    {"api", "web"},
    {"cli"},
]

DATABASE_LIBRARIES = frozenset({"sqlalchemy", "alembic", "psycopg"})
"""Top-level names only `callout.store` may import (it alone speaks SQL)."""

STORE_FREE_PACKAGES = ("api", "web", "engine")
"""Packages whose every module must run without a database library loaded."""


def layer_of(package: str) -> int:
    for index, layer in enumerate(LAYERS):
        if package in layer:
            return index
    raise AssertionError(
        f"package callout.{package} is in no layer: add it to DESIGN.md and LAYERS"
    )


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "callout" and len(parts) > 1 and (SRC / parts[1]).is_dir():
                found.add(parts[1])
    return found


MODULES = sorted(p for p in SRC.rglob("*.py") if p.parent != SRC)


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_module_imports_only_inner_layers(module: Path) -> None:
    own = module.relative_to(SRC).parts[0]
    for package in imported_packages(module):
        assert layer_of(package) <= layer_of(own), (
            f"callout.{own} must not import callout.{package} (an outer layer)"
        )


def test_the_check_finds_an_outward_import(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("from callout.engine.local_run import LocalRunner\n")
    assert imported_packages(sample) == {"engine"}
    assert layer_of("engine") > layer_of("steps")


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Yield the import statements that run (those under `if TYPE_CHECKING:` never do).

    Imports inside functions count: they run when the function is called.
    """
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for branch in node.orelse:
                yield from _runtime_imports(ast.Module(body=[branch], type_ignores=[]))
        else:
            yield from _runtime_imports(node)


class ImportGraph:
    """The callout modules under `root` (the `callout` package folder) and what each imports."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._edges: dict[str, tuple[str, ...]] = {}

    def file_of(self, module: str) -> Path | None:
        """Return the file a dotted `callout...` name runs (a package's `__init__.py`)."""
        parts = module.split(".")
        if parts[0] != "callout":
            return None
        base = self.root.joinpath(*parts[1:])
        for candidate in (base / "__init__.py", base.with_suffix(".py")):
            if candidate.is_file():
                return candidate
        return None

    def name_of(self, path: Path) -> str:
        """Return the dotted name of a module file under the root."""
        parts = path.relative_to(self.root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        return ".".join(("callout", *parts))

    def _with_parents(self, module: str) -> list[str]:
        """Return `module` and the packages Python runs first to import it (inner last)."""
        parts = module.split(".")
        names = [".".join(parts[:end]) for end in range(1, len(parts) + 1)]
        return [name for name in names if self.file_of(name) is not None]

    def _targets(self, module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        base = node.module or ""
        if node.level:
            package = module.split(".")
            if self.file_of(module) != self.root.joinpath(*package[1:], "__init__.py"):
                package = package[:-1]  # a plain module's own package
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, base] if base else package)
        # `from package import name`: name is a submodule when a file says so.
        submodules = [f"{base}.{alias.name}" for alias in node.names]
        return [base, *(name for name in submodules if self.file_of(name) is not None)]

    def imports_of(self, module: str) -> tuple[str, ...]:
        """Return what `module` imports when it runs: callout modules and top-level libraries."""
        if module not in self._edges:
            path = self.file_of(module)
            found: list[str] = []
            if path is not None:
                tree = ast.parse(path.read_text(encoding="utf-8"))
                for node in _runtime_imports(tree):
                    for target in self._targets(module, node):
                        if target.split(".")[0] == "callout":
                            found.extend(self._with_parents(target))
                        else:
                            found.append(target.split(".")[0])
            self._edges[module] = tuple(dict.fromkeys(name for name in found if name != module))
        return self._edges[module]

    def chain_to(self, module: str, libraries: frozenset[str]) -> list[str] | None:
        """Return the shortest import chain from `module` to one of `libraries`, or None."""
        came_from: dict[str, str | None] = {module: None}
        queue = deque(self._with_parents(module))
        for start in queue:
            came_from.setdefault(start, None if start == module else module)
        while queue:
            current = queue.popleft()
            for target in self.imports_of(current):
                if target in came_from:
                    continue
                came_from[target] = current
                if target in libraries:
                    chain = [target]
                    while (step := came_from[chain[-1]]) is not None:
                        chain.append(step)
                    return chain[::-1]
                if target.startswith("callout"):
                    queue.append(target)
        return None


GRAPH = ImportGraph(SRC)

STORE_FREE_MODULES = sorted(
    GRAPH.name_of(path) for package in STORE_FREE_PACKAGES for path in (SRC / package).rglob("*.py")
)


@pytest.mark.parametrize("module", STORE_FREE_MODULES)
def test_module_reaches_no_database_library(module: str) -> None:
    chain = GRAPH.chain_to(module, DATABASE_LIBRARIES)
    assert chain is None, (
        f"{module} imports a database library (only callout.store speaks SQL): "
        + " -> ".join(chain)
    )


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_check_finds_a_database_library_through_a_chain(tmp_path: Path) -> None:
    _write(
        tmp_path / "callout",
        {
            "__init__.py": "",
            "api/__init__.py": "",
            "api/routes/__init__.py": "",
            "api/routes/triggers.py": "from callout.store import trigger_calls\n",
            "store/__init__.py": "",
            "store/trigger_calls.py": "from callout.store.tables import runs\n",
            "store/tables.py": "def f():\n    import sqlalchemy.orm\n",
        },
    )
    graph = ImportGraph(tmp_path / "callout")
    assert graph.chain_to("callout.api.routes.triggers", DATABASE_LIBRARIES) == [
        "callout.api.routes.triggers",
        "callout.store.trigger_calls",
        "callout.store.tables",
        "sqlalchemy",
    ]


def test_a_package_init_on_the_way_counts(tmp_path: Path) -> None:
    # Importing callout.store.protocol runs callout/store/__init__.py first.
    _write(
        tmp_path / "callout",
        {
            "__init__.py": "",
            "engine/__init__.py": "",
            "engine/worker.py": "from callout.store.protocol import Store\n",
            "store/__init__.py": "from callout.store.sql import SqlStore\n",
            "store/protocol.py": "",
            "store/sql.py": "import sqlalchemy as sa\n",
        },
    )
    graph = ImportGraph(tmp_path / "callout")
    assert graph.chain_to("callout.engine.worker", DATABASE_LIBRARIES) == [
        "callout.engine.worker",
        "callout.store",
        "callout.store.sql",
        "sqlalchemy",
    ]


def test_imports_for_type_checking_only_do_not_count(tmp_path: Path) -> None:
    _write(
        tmp_path / "callout",
        {
            "__init__.py": "",
            "engine/__init__.py": "",
            "engine/worker.py": (
                "import typing\n"
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n"
                "    import sqlalchemy\n"
                "if typing.TYPE_CHECKING:\n"
                "    from callout.store.sql import SqlStore\n"
                "else:\n"
                "    from callout.store.protocol import Store\n"
            ),
            "store/__init__.py": "",
            "store/protocol.py": "import json\n",
            "store/sql.py": "import sqlalchemy\n",
        },
    )
    graph = ImportGraph(tmp_path / "callout")
    assert graph.chain_to("callout.engine.worker", DATABASE_LIBRARIES) is None
    assert "callout.store.protocol" in graph.imports_of("callout.engine.worker")


def test_relative_imports_are_followed(tmp_path: Path) -> None:
    _write(
        tmp_path / "callout",
        {
            "__init__.py": "",
            "web/__init__.py": "from . import dashboard\n",
            "web/dashboard.py": "from ..store.sql import SqlStore\n",
            "store/__init__.py": "",
            "store/sql.py": "from psycopg import sql\n",
        },
    )
    graph = ImportGraph(tmp_path / "callout")
    assert graph.chain_to("callout.web", DATABASE_LIBRARIES) == [
        "callout.web",
        "callout.web.dashboard",
        "callout.store.sql",
        "psycopg",
    ]
