"""The grid's composition root: ``Context`` (tables, the district view, policy, clock).

``build_context(setup)`` runs once per container (``Store(context=build_context)``) and for
``onegrid replay grid``. The policy data lives in ``data/``: the dispatch rule
(``dispatch-rule.json``) and the patrol windows (``patrol-windows.json``). Config keys:
``GRID_PATROL_GRACE_SECONDS`` (60: a window counts as missed this long after it closed, so a
patrol started just before the close is projected first) and ``GRID_PATROL_LOOKBACK_DAYS`` (1).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Callable, Optional

from onegrid.runtime import Setup

from . import reads
from .domain import Geometry
from .domain.dispatch_rule import DispatchRule
from .domain.patrol_schedule import PatrolSchedule
from .geo import SHAPELY
from .tables import GridTables, make_tables

DATA = Path(__file__).parent / "data"
RULE_PATH = DATA / "dispatch-rule.json"
WINDOWS_PATH = DATA / "patrol-windows.json"


def load_rule(path: Path | str = RULE_PATH) -> DispatchRule:
    """Read a dispatch rule from a JSON file (the default: data/dispatch-rule.json)."""
    return DispatchRule.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def load_schedule(path: Path | str = WINDOWS_PATH) -> PatrolSchedule:
    """Read the patrol windows from a JSON file (the default: data/patrol-windows.json)."""
    return PatrolSchedule.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


class DistrictCache:
    """One in-memory ``MapSnapshot`` per read-model tables, reloaded when the map changes."""

    def __init__(self, tables: GridTables):
        self.t = tables
        self._snapshot: Optional[reads.MapSnapshot] = None
        self.loads = 0

    def snapshot(self, conn, today: Optional[dt.date] = None) -> reads.MapSnapshot:
        """The current snapshot, reloaded first if the map projection moved on."""
        version = reads.map_version(conn, self.t)
        current = self._snapshot
        if current is None or current.version != version:
            if version == 0:
                current = reads.EMPTY
            else:
                current = reads.load_snapshot(conn, self.t, version, today)
                self.loads += 1
            self._snapshot = current
        return current


@dataclasses.dataclass
class Context:
    """What the grid's handlers, reactions and reads are given."""

    tables: GridTables
    cache: DistrictCache
    schedule: PatrolSchedule
    rule: DispatchRule
    clock: Callable[[], dt.datetime]
    patrol_grace: dt.timedelta = dt.timedelta(seconds=60)
    patrol_lookback_days: int = 1
    geometry: Geometry = SHAPELY

    def local_day(self, at: dt.datetime) -> dt.date:
        """The node's local calendar day of ``at``."""
        return at.astimezone(self.schedule.timezone).date()

    def today(self) -> dt.date:
        return self.local_day(self.clock())


def build_context(setup: Setup) -> Context:
    """The grid's context for one container (or one command line)."""
    tables = make_tables(setup.prefix)
    config = setup.config
    return Context(
        tables=tables, cache=DistrictCache(tables), schedule=load_schedule(), rule=load_rule(),
        clock=setup.clock,
        patrol_grace=dt.timedelta(seconds=float(config.get("GRID_PATROL_GRACE_SECONDS", 60))),
        patrol_lookback_days=int(config.get("GRID_PATROL_LOOKBACK_DAYS", 1)))
