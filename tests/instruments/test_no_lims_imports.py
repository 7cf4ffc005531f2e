"""The dependency rule (design.md): `instruments/` and `reports/` never import lims, flask or sqlalchemy.

Checked on the source (AST) rather than by importing, so an import hidden in a function body or an
`if TYPE_CHECKING:` block is caught too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {"lims", "flask", "sqlalchemy"}
PACKAGES = [p for p in (ROOT / "instruments", ROOT / "reports") if p.is_dir()]
FILES = sorted(f for p in PACKAGES for f in p.rglob("*.py"))


def forbidden_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] if node.level == 0 else []
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            names = [str(node.args[0].value)]
        else:
            continue
        found += [f"{shown}:{node.lineno}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    return found


def test_there_are_files_to_check() -> None:
    assert (ROOT / "instruments") in PACKAGES
    assert any(f.name == "astm_link.py" for f in FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_forbidden_imports(path: Path) -> None:
    assert forbidden_imports(path) == []


def test_the_check_catches_violations(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nimport flask.json\nfrom sqlalchemy import select\n"
                   "def f():\n    from lims.extensions import db\n    importlib.import_module('lims.api')\n")
    assert len(forbidden_imports(bad)) == 4
