"""docs/architecture.md stays true: every module and kernel name it gives exists."""
from __future__ import annotations

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "architecture.md").read_text("utf-8")
SERVICES = sorted(p.parent.name for p in ROOT.glob("services/*/service.py"))


def test_every_module_of_the_shape_exists_in_every_service():
    modules = re.findall(r"^\| `([a-z_]+)(?:\.py|/)`", DOC, flags=re.M)
    assert "handlers" in modules and "domain" in modules
    for service in SERVICES:
        for module in modules:
            if module in ("cli", "data", "testing"):
                continue  # where needed
            here = ROOT / "services" / service
            assert (here / f"{module}.py").exists() or (here / module).is_dir(), (
                f"services/{service} has no {module}")


def test_every_kernel_module_the_picture_names_exists():
    for name in re.findall(r"(?<![/\w])([a-z_]+\.py)\b", DOC):
        if name in ("service.py", "handlers.py", "projections.py", "reads.py", "schemas.py",
                    "tables.py", "context.py", "cli.py", "testing.py"):
            continue  # service modules, checked above
        assert list(ROOT.glob(f"onegrid/**/{name}")), f"onegrid has no {name}"


def test_every_kernel_name_the_api_lists_can_be_imported():
    for module, name in re.findall(r"`(onegrid(?:\.[a-z_]+)+)\.([A-Z][A-Za-z]+|[a-z_]+)[`(]", DOC):
        assert hasattr(importlib.import_module(module), name), f"{module}.{name}"
