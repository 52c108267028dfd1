"""Every service's domain stays pure: the standard library and the kernel's pure core only."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE_KERNEL = {"onegrid.domain", "onegrid.errors"}
DOMAIN_FILES = sorted(ROOT.glob("services/*/domain/**/*.py"))


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
    return names


def test_every_service_has_a_domain_package():
    services = {p.name for p in (ROOT / "services").iterdir()
                if (p / "service.py").exists()}
    with_domain = {p.parts[-3] for p in ROOT.glob("services/*/domain/__init__.py")}
    assert services and services <= with_domain, services - with_domain


@pytest.mark.parametrize("path", DOMAIN_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_a_domain_module_imports_only_the_standard_library_and_the_pure_kernel(path):
    for name in imported(path):
        assert name.split(".")[0] in sys.stdlib_module_names or name in PURE_KERNEL, (
            f"{path.relative_to(ROOT)} imports {name}")


def test_the_kernel_core_that_domains_import_is_pure_itself():
    for module in PURE_KERNEL:
        path = ROOT / (module.replace(".", "/") + ".py")
        for name in imported(path):
            assert name.split(".")[0] in sys.stdlib_module_names or name in PURE_KERNEL, (
                f"{module} imports {name}")


MONEY_DOMAINS = ["performance"]  # pay in fen and Decimal: a float would round money


@pytest.mark.parametrize("service", MONEY_DOMAINS)
def test_no_float_appears_in_a_domain_that_counts_money(service):
    for path in sorted(ROOT.glob(f"services/{service}/domain/**/*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        floats = [n.value for n in ast.walk(tree)
                  if isinstance(n, ast.Constant) and isinstance(n.value, float)]
        calls = [n for n in ast.walk(tree)
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "float"]
        assert not floats and not calls, path.name
