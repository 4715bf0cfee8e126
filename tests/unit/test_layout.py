"""The house's one-way dependencies: isogate, api → gateway → rules → devices."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What each package must never import (directly or under a function).
FORBIDDEN = {
    "devices": {"rules", "gateway", "api", "isogate", "simulators"},
    "rules": {"gateway", "api", "isogate", "simulators"},
    "gateway": {"api", "isogate", "simulators"},
}


def imported_packages(path: Path) -> set[tuple[int, str]]:
    """(line, top-level package) of every import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: set[tuple[int, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {(node.lineno, a.name.split(".")[0]) for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add((node.lineno, node.module.split(".")[0]))
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_never_import_upper_ones(package: str):
    """No module of gateway/, rules/ or devices/ imports a package above it."""
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {top}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, top in imported_packages(path)
        if top in FORBIDDEN[package]
    ]
    assert wrong == []


def test_the_check_sees_an_upward_import(tmp_path: Path):
    """The checker itself finds an import of api, also one hidden in a function."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from api.app import create_app\n    return create_app\n")
    assert (2, "api") in imported_packages(bad)
