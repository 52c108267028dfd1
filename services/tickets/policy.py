"""Load the tickets service's policy data: the category catalogue and the working-day calendar.

The files live in ``services/tickets/data``; a node may point at its own copies.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Optional

from .domain import Calendar, Catalogue, Category

DATA_DIR = Path(__file__).parent / "data"


def load_catalogue(path: Optional[Path] = None) -> Catalogue:
    """Read the category catalogue; refuse a category whose department is not listed."""
    document = json.loads(Path(path or DATA_DIR / "categories.json").read_text("utf-8"))
    departments = {department["code"] for department in document["departments"]}
    categories = [Category.from_dict(entry) for entry in document["categories"]]
    for category in categories:
        if category.department not in departments:
            raise ValueError(f"category {category.code!r} names unknown department "
                             f"{category.department!r}")
    return Catalogue.of(categories)


def load_calendar(paths: Optional[Iterable[Path]] = None) -> Calendar:
    """Read and merge the calendar files (every ``calendar-*.json`` in the data dir by default)."""
    paths = sorted(DATA_DIR.glob("calendar-*.json")) if paths is None else list(paths)
    return Calendar.from_dicts(*(json.loads(Path(p).read_text("utf-8")) for p in paths))
