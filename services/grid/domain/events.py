"""The grid service's events: frozen dataclasses named in the past tense.

Boundaries are closed rings of ``(lng, lat)`` pairs in WGS84 (GeoJSON's x, y order), the
first pair repeated as the last. Days are ``datetime.date`` in the node's local calendar;
instants (``at``) are timezone-aware datetimes.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Optional

from onegrid.domain import DomainEvent

Ring = tuple[tuple[float, float], ...]

COMPREHENSIVE = "comprehensive"
DEDICATED = "dedicated"
GRID_KINDS = (COMPREHENSIVE, DEDICATED)

POST_A = "A"
POST_B = "B"
POSTS = (POST_A, POST_B)

ASSIGNEE_KINDS = ("worker", "department", "street", "district")


# --- the map -----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class StreetRegistered(DomainEvent):
    """A street office (街道) and its area."""

    street_code: str
    name: str
    name_zh: str
    boundary: Ring


@dataclasses.dataclass(frozen=True)
class CommunityRegistered(DomainEvent):
    """A community (社区) of a street office, and its area."""

    community_code: str
    street_code: str
    name: str
    name_zh: str
    boundary: Ring


@dataclasses.dataclass(frozen=True)
class GridDrawn(DomainEvent):
    """A grid (网格) inside its community: comprehensive, or dedicated to a school, market..."""

    grid_code: str
    community_code: str
    street_code: str
    kind: str
    purpose: Optional[str]
    boundary: Ring


@dataclasses.dataclass(frozen=True)
class CommunityGridDesignated(DomainEvent):
    """The grid that takes a community's tickets that carry no grid code and no location."""

    community_code: str
    grid_code: str


# --- departments ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class DepartmentRegistered(DomainEvent):
    """One of the 14 departments whose functions were folded into the grid."""

    department_code: str
    name: str
    name_zh: str


@dataclasses.dataclass(frozen=True)
class DepartmentCategoriesSet(DomainEvent):
    """The ticket categories a department keeps for itself (the whole set, replacing the last)."""

    department_code: str
    categories: tuple[str, ...]


# --- the people ------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class WorkerEnrolled(DomainEvent):
    """A community social worker enrolled as an all-round grid worker (全科网格员)."""

    worker_id: str
    community_code: str
    name: str


@dataclasses.dataclass(frozen=True)
class WorkerPosted(DomainEvent):
    """A worker takes the A or B post (AB岗) of a grid."""

    worker_id: str
    grid_code: str
    post: str


@dataclasses.dataclass(frozen=True)
class WorkerMoved(DomainEvent):
    """A worker leaves one post for another (another grid, or the other post of the same grid)."""

    worker_id: str
    from_grid: str
    from_post: str
    to_grid: str
    to_post: str


@dataclasses.dataclass(frozen=True)
class LeaveGranted(DomainEvent):
    """A worker is off duty for one day."""

    worker_id: str
    day: dt.date


@dataclasses.dataclass(frozen=True)
class WorkerLeft(DomainEvent):
    """A worker leaves the job; every post they held falls vacant."""

    worker_id: str
    day: dt.date
    reason: str


# --- patrols (一日双巡逻) ------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class PatrolStarted(DomainEvent):
    """A worker checks in for a patrol; ``outside_grid`` flags a start outside the grid."""

    patrol_id: str
    grid_code: str
    worker_id: str
    at: dt.datetime
    lat: float
    lng: float
    outside_grid: bool


@dataclasses.dataclass(frozen=True)
class PatrolFinished(DomainEvent):
    """A worker checks out of a patrol."""

    patrol_id: str
    grid_code: str
    worker_id: str
    at: dt.datetime
    lat: float
    lng: float
    outside_grid: bool


@dataclasses.dataclass(frozen=True)
class PatrolMissed(DomainEvent):
    """Nobody patrolled a grid in one of the day's windows (recorded once per grid and window)."""

    grid_code: str
    day: dt.date
    window: str


@dataclasses.dataclass(frozen=True)
class ProblemReported(DomainEvent):
    """A problem found on patrol; the tickets service opens a ticket with channel ``patrol``."""

    problem_id: str
    patrol_id: str
    grid_code: str
    worker_id: str
    at: dt.datetime
    category_code: str
    description: str
    lat: float
    lng: float
    community_code: Optional[str] = None  # the grid's community and street, so the tickets
    street_code: Optional[str] = None     # service can open the ticket from this event alone


# --- dispatch ----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class DispatchDecided(DomainEvent):
    """Who handles a ticket, and why; one per ticket opening or return.

    ``ticket_version`` is the version, in the ticket's stream, of the ``TicketOpened`` or
    ``TicketReturned`` that asked for this dispatch: it makes the decision idempotent.
    """

    ticket_id: str
    ticket_version: int
    assignee_kind: str
    assignee_id: str
    grid_code: Optional[str]
    community_code: Optional[str]
    street_code: Optional[str]
    step: str
    reason: str
    rule_version: int
    #: what asked for it: opened, returned, worker_on_leave or worker_left
    trigger: str = "opened"


DISPATCH_TRIGGERS = ("opened", "returned", "worker_on_leave", "worker_left")

ALL_EVENTS = (
    StreetRegistered, CommunityRegistered, GridDrawn, CommunityGridDesignated,
    DepartmentRegistered, DepartmentCategoriesSet,
    WorkerEnrolled, WorkerPosted, WorkerMoved, LeaveGranted, WorkerLeft,
    PatrolStarted, PatrolFinished, PatrolMissed, ProblemReported,
    DispatchDecided,
)
