"""Imports point inward only, following DESIGN.md's layer table."""

from __future__ import annotations

import ast
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
