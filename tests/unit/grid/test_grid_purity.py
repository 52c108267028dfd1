"""The grid's domain and dispatch rule import only the standard library and onegrid.domain."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

GRID = Path(__file__).resolve().parents[3] / "services" / "grid"
PURE = sorted([*GRID.joinpath("domain").glob("*.py"), GRID / "dispatch.py", GRID / "patrols.py"])


@pytest.mark.parametrize("path", PURE, ids=lambda p: p.name)
def test_pure_modules_import_only_the_standard_library_and_the_domain_kernel(path):
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module)
    foreign = {m for m in imported
               if m.split(".")[0] not in sys.stdlib_module_names and m != "onegrid.domain"}
    assert foreign == set()
