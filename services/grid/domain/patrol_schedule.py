"""Patrol windows as data (一日双巡逻) and which (grid, day, window) a timer must mark missed.

The windows are data (data/patrol-windows.json: morning and afternoon; read by
``context.load_schedule``). A patrol counts for the window its start falls in, in the node's
local time. ``missed_windows`` is
pure: given the grids, the patrols recorded and the time now, it lists every window that has
ended without a patrol and is not recorded yet. The timer records each one through
``PatrolRound``, whose fixed stream id makes ``PatrolMissed`` exactly once per grid and window.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Iterable, Mapping, Optional

from onegrid.domain import LOCAL_TZ


@dataclasses.dataclass(frozen=True)
class PatrolWindow:
    name: str
    start: dt.time  # inclusive, local time
    end: dt.time    # exclusive, local time


@dataclasses.dataclass(frozen=True)
class PatrolRecord:
    """The part of a ``PatrolStarted`` the missed-window check needs."""

    grid_code: str
    started_at: dt.datetime
    outside_grid: bool = False


@dataclasses.dataclass(frozen=True)
class PatrolSchedule:
    """The day's patrol windows in one node's local time."""

    windows: tuple[PatrolWindow, ...]
    timezone: dt.tzinfo = LOCAL_TZ
    flagged_patrols_count: bool = True
    version: int = 1

    def __post_init__(self):
        names = [w.name for w in self.windows]
        if len(set(names)) != len(names):
            raise ValueError(f"patrol window names must be unique, got {names}")
        ordered = sorted(self.windows, key=lambda w: w.start)
        for w in ordered:
            if not w.start < w.end:
                raise ValueError(f"patrol window {w.name} must start before it ends")
        for a, b in zip(ordered, ordered[1:]):
            if b.start < a.end:
                raise ValueError(f"patrol windows {a.name} and {b.name} overlap")

    @classmethod
    def from_dict(cls, data: Mapping) -> "PatrolSchedule":
        """Build a schedule from its JSON form (``utc_offset`` like ``+08:00``)."""
        sign = -1 if data.get("utc_offset", "+08:00").startswith("-") else 1
        hours, minutes = data.get("utc_offset", "+08:00").lstrip("+-").split(":")
        offset = dt.timezone(sign * dt.timedelta(hours=int(hours), minutes=int(minutes)))
        windows = tuple(PatrolWindow(w["name"], dt.time.fromisoformat(w["start"]),
                                     dt.time.fromisoformat(w["end"])) for w in data["windows"])
        return cls(windows, offset, bool(data.get("flagged_patrols_count", True)),
                   int(data.get("version", 1)))

    def window_at(self, at: dt.datetime) -> tuple[dt.date, Optional[str]]:
        """The local day of ``at`` and the window it falls in (None between windows)."""
        local = at.astimezone(self.timezone)
        for w in self.windows:
            if w.start <= local.time() < w.end:
                return local.date(), w.name
        return local.date(), None

    def ends_at(self, day: dt.date, window: PatrolWindow) -> dt.datetime:
        """When ``window`` of ``day`` closes, as an aware datetime."""
        return dt.datetime.combine(day, window.end, tzinfo=self.timezone)


def missed_windows(grid_codes: Iterable[str], patrols: Iterable[PatrolRecord],
                   schedule: PatrolSchedule, now: dt.datetime, *, since: dt.date,
                   already_recorded: Iterable[tuple[str, dt.date, str]] = ()
                   ) -> list[tuple[str, dt.date, str]]:
    """Every (grid, day, window) from ``since`` whose window closed by ``now`` with no patrol.

    Windows already in ``already_recorded`` are left out, so calling it again after the timer
    recorded them returns nothing new. The result is sorted by day, window start, grid.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    patrolled = set()
    for patrol in patrols:
        if patrol.outside_grid and not schedule.flagged_patrols_count:
            continue
        day, window = schedule.window_at(patrol.started_at)
        if window is not None:
            patrolled.add((patrol.grid_code, day, window))
    done = set(already_recorded) | patrolled
    grids = sorted(set(grid_codes))
    today = now.astimezone(schedule.timezone).date()
    missed = []
    day = since
    while day <= today:
        for window in sorted(schedule.windows, key=lambda w: w.start):
            if schedule.ends_at(day, window) > now:
                continue
            missed.extend((g, day, window.name) for g in grids
                          if (g, day, window.name) not in done)
        day += dt.timedelta(days=1)
    return missed
