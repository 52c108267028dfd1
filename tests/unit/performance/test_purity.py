"""The pure core imports only the standard library, onegrid.domain and its own package."""
from __future__ import annotations

import ast
import pathlib
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[3] / "services" / "performance"
PURE = ["periods", "errors", "policy", "scoring", "events", "domain", "explain"]


@pytest.mark.parametrize("module", PURE)
def test_the_pure_modules_import_nothing_from_outside(module):
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: our own package
                continue
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or name == "onegrid.domain", f"{module} imports {name}"


def test_no_float_appears_in_the_pure_modules():
    for module in PURE:
        tree = ast.parse((PACKAGE / f"{module}.py").read_text())
        floats = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, float)]
        calls = [n for n in ast.walk(tree)
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "float"]
        assert not floats and not calls, module
