"""Patrols (一日双巡逻): one patrol's check-in, check-out and problems; missed windows.

``Patrol`` is one patrol, on ``patrol/<patrol id>``. ``PatrolRound`` is one grid's window on
one day, on ``missed/<grid>/<day>/<window>``: because that stream is fixed by (grid, day,
window), the store's expected-version check lets only one replica's ``PatrolMissed`` in.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from onegrid.domain import DomainEvent

from .errors import (InvalidLocation, PatrolAlreadyFinished, PatrolAlreadyStarted,
                     PatrolNotStarted)
from .events import PatrolFinished, PatrolMissed, PatrolStarted, ProblemReported
from .streams import Named


def check_location(lat: float, lng: float) -> None:
    """Refuse a point off the globe (lat within ±90, lng within ±180)."""
    if not (-90.0 <= lat <= 90.0):
        raise InvalidLocation(f"lat must lie within -90..90, got {lat}")
    if not (-180.0 <= lng <= 180.0):
        raise InvalidLocation(f"lng must lie within -180..180, got {lng}")


def _check_aware(at: dt.datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidLocation(f"patrol times must be timezone-aware, got naive {at.isoformat()}")


class Patrol(Named):
    """One patrol of one grid by one worker: start, report problems, finish."""

    kind = "patrol"

    def __init__(self, aggregate_id: str):
        super().__init__(aggregate_id)
        self.grid_code: Optional[str] = None
        self.worker_id: Optional[str] = None
        self.started_at: Optional[dt.datetime] = None
        self.finished_at: Optional[dt.datetime] = None
        self.outside_grid = False
        self.problems: list[str] = []

    @property
    def started(self) -> bool:
        return self.started_at is not None

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    def start(self, grid_code: str, worker_id: str, at: dt.datetime, lat: float, lng: float, *,
              outside_grid: bool) -> None:
        """Check in; a start outside the grid is recorded but flagged (``outside_grid``)."""
        if self.started:
            raise PatrolAlreadyStarted(f"patrol {self.code} already started at {self.started_at.isoformat()}")
        _check_aware(at)
        check_location(lat, lng)
        self._record(PatrolStarted(self.code, grid_code, worker_id, at, lat, lng, bool(outside_grid)))

    def finish(self, at: dt.datetime, lat: float, lng: float, *, outside_grid: bool) -> None:
        """Check out of the patrol."""
        self._require_running()
        _check_aware(at)
        check_location(lat, lng)
        if at < self.started_at:
            raise InvalidLocation(f"patrol {self.code} can't finish at {at.isoformat()}, before it "
                                  f"started at {self.started_at.isoformat()}")
        self._record(PatrolFinished(self.code, self.grid_code, self.worker_id, at, lat, lng,
                                    bool(outside_grid)))

    def report_problem(self, problem_id: str, at: dt.datetime, category_code: str,
                       description: str, lat: float, lng: float, *,
                       community_code: Optional[str] = None,
                       street_code: Optional[str] = None) -> None:
        """Report a problem found on this patrol (a ticket with channel ``patrol`` follows)."""
        self._require_running()
        _check_aware(at)
        check_location(lat, lng)
        if problem_id in self.problems:
            return  # the same report sent twice changes nothing
        self._record(ProblemReported(problem_id, self.code, self.grid_code, self.worker_id, at,
                                     category_code, description, lat, lng, community_code,
                                     street_code))

    def _require_running(self) -> None:
        if not self.started:
            raise PatrolNotStarted(f"patrol {self.code} has not started; start it first")
        if self.finished:
            raise PatrolAlreadyFinished(f"patrol {self.code} finished at {self.finished_at.isoformat()}")

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, PatrolStarted):
            self.grid_code, self.worker_id = event.grid_code, event.worker_id
            self.started_at, self.outside_grid = event.at, event.outside_grid
        elif isinstance(event, PatrolFinished):
            self.finished_at = event.at
        elif isinstance(event, ProblemReported):
            self.problems.append(event.problem_id)


class PatrolRound(Named):
    """One grid's patrol window on one day; holds at most one ``PatrolMissed``."""

    kind = "missed"

    def __init__(self, aggregate_id: str):
        super().__init__(aggregate_id)
        self.missed: Optional[PatrolMissed] = None

    @classmethod
    def stream_id(cls, grid_code: str, day: dt.date, window: str) -> str:
        """The stream of one grid's window on one day, e.g. ``missed/JY-01/2024-05-01/morning``."""
        return super().stream_id(f"{grid_code}/{day.isoformat()}/{window}")

    def record_missed(self, grid_code: str, day: dt.date, window: str) -> bool:
        """Record ``PatrolMissed`` once; returns False (and records nothing) if already recorded."""
        if self.missed is not None:
            return False
        self._record(PatrolMissed(grid_code, day, window))
        return True

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, PatrolMissed):
            self.missed = event
