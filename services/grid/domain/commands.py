"""The grid's commands: what a caller (or the service's own timer) asks it to do.

Frozen dataclasses, loaded from the caller's fields by ``schemas.COMMAND_SCHEMAS`` and run by
``handlers.COMMANDS``. Boundaries are closed rings of ``(lng, lat)``; days are local dates;
instants are aware datetimes.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Optional

from .events import Ring

# --- the map -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RegisterStreet:
    street_code: str
    name: str
    name_zh: str
    boundary: Ring


@dataclasses.dataclass(frozen=True)
class RegisterCommunity:
    community_code: str
    street_code: str
    name: str
    name_zh: str
    boundary: Ring


@dataclasses.dataclass(frozen=True)
class DrawGrid:
    grid_code: str
    community_code: str
    kind: str
    purpose: Optional[str]
    boundary: Ring


@dataclasses.dataclass(frozen=True)
class DesignateGrid:
    community_code: str
    grid_code: str


@dataclasses.dataclass(frozen=True)
class RegisterDepartment:
    department_code: str
    name: str
    name_zh: str


@dataclasses.dataclass(frozen=True)
class SetDepartmentCategories:
    department_code: str
    categories: tuple[str, ...]


# --- the people ----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class EnrollWorker:
    worker_id: str
    community_code: str
    name: str


@dataclasses.dataclass(frozen=True)
class PostWorker:
    worker_id: str
    community_code: str
    grid_code: str
    post: str


@dataclasses.dataclass(frozen=True)
class MoveWorker:
    worker_id: str
    community_code: str
    from_grid: str
    to_grid: str
    to_post: str


@dataclasses.dataclass(frozen=True)
class GrantLeave:
    worker_id: str
    community_code: str
    day: dt.date


@dataclasses.dataclass(frozen=True)
class RecordWorkerLeft:
    worker_id: str
    community_code: str
    day: dt.date
    reason: str


@dataclasses.dataclass(frozen=True)
class ReassignTickets:
    """Dispatch again every open ticket ``worker_id`` holds (on leave or gone on ``day``)."""

    worker_id: str
    day: dt.date
    trigger: str  # worker_on_leave | worker_left


# --- patrols ---------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class StartPatrol:
    patrol_id: str
    grid_code: str
    worker_id: str
    at: dt.datetime
    lat: float
    lng: float


@dataclasses.dataclass(frozen=True)
class FinishPatrol:
    patrol_id: str
    at: dt.datetime
    lat: float
    lng: float


@dataclasses.dataclass(frozen=True)
class ReportProblem:
    patrol_id: str
    problem_id: str
    at: dt.datetime
    category_code: str
    description: str
    lat: float
    lng: float


@dataclasses.dataclass(frozen=True)
class RecordMissedPatrols:
    """Record ``PatrolMissed`` on each (grid, day, window) round not recorded yet."""

    rounds: tuple[tuple[str, dt.date, str], ...]
