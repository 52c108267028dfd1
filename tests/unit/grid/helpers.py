"""Small builders shared by the grid's unit tests."""
from __future__ import annotations

import datetime as dt
import uuid

from onegrid.testing import CST  # noqa: F401
from services.grid.domain import Community
from services.grid.geo import SHAPELY

DAY = dt.date(2024, 5, 6)


def square(x0: float, y0: float, size: float = 0.01) -> list[list[float]]:
    """A closed square ring of (lng, lat) pairs with its lower-left corner at (x0, y0)."""
    return [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]


def ref(prefix: str) -> str:
    """A random id per test, so tests never collide."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def community_with_grids(n_grids: int = 2, workers: tuple[str, ...] = ("wa", "wb", "wc")) -> Community:
    """A registered community 0.04° wide with ``n_grids`` side-by-side grids and enrolled workers."""
    community = Community(Community.stream_id("shazhou-zhongcheng"))
    community.register("shazhou", "Zhongcheng", "中城", square(118.70, 32.00, 0.04),
                       geometry=SHAPELY)
    for i in range(n_grids):
        community.draw_grid(f"g{i + 1}", "comprehensive", square(118.70 + 0.01 * i, 32.00),
                            geometry=SHAPELY)
    for worker in workers:
        community.enroll(worker, worker.upper())
    community.collect()
    return community
