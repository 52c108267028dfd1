"""The domain stays pure: standard library and onegrid.domain only."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parents[3] / "services" / "tickets"
PURE = [*sorted((SERVICE / "domain").glob("*.py")), SERVICE / "commands.py",
        SERVICE / "handlers.py", SERVICE / "rates.py", SERVICE / "policy.py"]


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            roots.add(node.module)
    return roots


@pytest.mark.parametrize("path", PURE, ids=lambda p: p.relative_to(SERVICE).as_posix())
def test_a_pure_module_imports_only_the_standard_library_and_the_kernel_domain(path):
    for name in imported_roots(path):
        root = name.split(".")[0]
        assert root in sys.stdlib_module_names or name == "onegrid.domain", (
            f"{path.name} imports {name}")
