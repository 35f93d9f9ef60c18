"""Imports point one way: widgets → app → drivers. app and drivers never load Qt."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QT = ("PySide6", "pyqtgraph", "shiboken6", "PyQt5", "PyQt6")
# What each layer must not import.
FORBIDDEN = {
    "drivers": ("app", "widgets", "tests", *QT),
    "app": ("widgets", "tests", *QT),
    "widgets": ("tests",),
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.append((node.lineno, "<relative import>"))
            elif node.module:
                found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layer_imports_only_downwards(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no modules in {package}"
    violations = []
    for path in files:
        for line, module in imported_modules(path):
            top = module.split(".")[0]
            if module == "<relative import>" or top in FORBIDDEN[package]:
                violations.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not violations, "\n".join(violations)


def test_the_checker_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from PySide6 import QtCore\nfrom .x import y\nimport widgets.theme\n")
    modules = [m for _, m in imported_modules(bad)]
    assert modules == ["PySide6", "<relative import>", "widgets.theme"]


def test_the_headless_path_never_loads_qt() -> None:
    code = (
        "import sys, main, app.simulate, app.demo_ward, app.replay_ward, app.station, drivers.sim;"
        f"loaded = [m for m in {QT!r} if m in sys.modules];"
        "print(','.join(loaded))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_top_level_is_exactly_as_designed() -> None:
    allowed = {
        "app", "widgets", "drivers", "resources", "tests", "main.py", "pyproject.toml",
        "README.md", "Makefile", ".ci",
        "training",  # the beat classifier's training pipeline: the optional `train` extra
    }  # fmt: skip
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    top = {name.split("/")[0] for name in tracked} - {".gitignore"}
    assert top <= allowed, f"unexpected top-level entries: {sorted(top - allowed)}"
