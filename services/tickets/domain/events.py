"""The tickets service's events: frozen dataclasses named in the past tense.

Every event carries ``ticket_id`` and ``at`` (when it happened, timezone-aware). Actor ids
are the ids of the people who did it; the timer's ``TicketOverdue`` has no actor.
Reporter name and phone are private (see ``PRIVATE_FIELDS``): strip them with
``public_payload`` before an event leaves the node or reaches a dashboard.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from enum import StrEnum
from typing import Optional

from onegrid.domain import DomainEvent


class Channel(StrEnum):
    """Where a ticket came from."""

    HOTLINE_12345 = "hotline_12345"          # 12345诉求工单
    COMMUNITY_PROBLEM = "community_problem"  # 问题工单
    RESIDENT_COMPLAINT = "resident_complaint"  # 居民投诉
    PATROL = "patrol"                        # found by a grid worker on patrol
    WALK_IN = "walk_in"


class DeadlineClass(StrEnum):
    EMERGENCY = "emergency"
    CONSULTATION = "consultation"  # consultation or help: 3 working days
    COMPLAINT = "complaint"        # complaint, report or suggestion: 13 working days


class AssigneeKind(StrEnum):
    """Who a ticket is dispatched to: a grid worker, a department, or — when the grid service
    finds no grid or nobody on duty — the street office or the district itself."""

    WORKER = "worker"
    DEPARTMENT = "department"
    STREET = "street"        # the street office (街道) handles it
    DISTRICT = "district"    # the district handles it (no street found)


class Rating(StrEnum):
    """The resident's answer at the callback (回访)."""

    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    UNSATISFIED = "unsatisfied"


class Level(StrEnum):
    """Who is handling the ticket; escalation (上报) only goes up."""

    COMMUNITY = "community"
    STREET = "street"
    DISTRICT = "district"


@dataclasses.dataclass(frozen=True)
class TicketOpened(DomainEvent):
    ticket_id: str
    at: dt.datetime
    actor_id: str
    node_id: str
    channel: str
    category_code: str
    department: str
    deadline_class: str
    title: str
    description: str
    lat: Optional[float]
    lng: Optional[float]
    address: Optional[str]
    grid_code: Optional[str]
    street: str
    community: str
    reporter_name: Optional[str]
    reporter_phone: Optional[str]
    attachments: tuple[str, ...]
    deadline: dt.datetime


@dataclasses.dataclass(frozen=True)
class TicketDispatched(DomainEvent):
    ticket_id: str
    at: dt.datetime
    actor_id: str
    assignee_kind: str
    assignee_id: str
    grid_code: Optional[str]
    reason: Optional[str]


@dataclasses.dataclass(frozen=True)
class TicketAccepted(DomainEvent):
    """签收: the assignee has taken the ticket on."""

    ticket_id: str
    at: dt.datetime
    actor_id: str
    assignee_kind: str
    assignee_id: str


@dataclasses.dataclass(frozen=True)
class TicketReturned(DomainEvent):
    """退单: the assignee hands the ticket back, with a reason, for another dispatch."""

    ticket_id: str
    at: dt.datetime
    actor_id: str
    assignee_kind: str
    assignee_id: str
    reason: str


@dataclasses.dataclass(frozen=True)
class TicketResolved(DomainEvent):
    ticket_id: str
    at: dt.datetime
    actor_id: str
    resolution: str
    deadline: dt.datetime
    on_time: bool


@dataclasses.dataclass(frozen=True)
class CallbackRecorded(DomainEvent):
    """回访: the resident's rating of the resolution."""

    ticket_id: str
    at: dt.datetime
    actor_id: str
    rating: str
    comment: Optional[str]


@dataclasses.dataclass(frozen=True)
class TicketClosed(DomainEvent):
    ticket_id: str
    at: dt.datetime
    actor_id: str
    rating: str
    on_time: bool


@dataclasses.dataclass(frozen=True)
class TicketReopened(DomainEvent):
    """An unsatisfied callback sends the ticket back to its assignee for redo."""

    ticket_id: str
    at: dt.datetime
    actor_id: str
    reason: str
    assignee_kind: str
    assignee_id: str
    deadline: dt.datetime


@dataclasses.dataclass(frozen=True)
class ExtensionRequested(DomainEvent):
    """延期申请, made before the current deadline."""

    ticket_id: str
    at: dt.datetime
    actor_id: str
    reason: str
    current_deadline: dt.datetime
    requested_deadline: dt.datetime


@dataclasses.dataclass(frozen=True)
class ExtensionGranted(DomainEvent):
    ticket_id: str
    at: dt.datetime
    actor_id: str
    previous_deadline: dt.datetime
    new_deadline: dt.datetime


@dataclasses.dataclass(frozen=True)
class ExtensionDenied(DomainEvent):
    ticket_id: str
    at: dt.datetime
    actor_id: str
    reason: str


@dataclasses.dataclass(frozen=True)
class TicketOverdue(DomainEvent):
    """The deadline passed unresolved; recorded once per deadline, by the timer."""

    ticket_id: str
    at: dt.datetime
    deadline: dt.datetime
    assignee_kind: Optional[str]
    assignee_id: Optional[str]


@dataclasses.dataclass(frozen=True)
class TicketSupervised(DomainEvent):
    """督办: a supervisor's note and a new deadline."""

    ticket_id: str
    at: dt.datetime
    actor_id: str
    note: str
    previous_deadline: dt.datetime
    new_deadline: dt.datetime


@dataclasses.dataclass(frozen=True)
class TicketEscalated(DomainEvent):
    ticket_id: str
    at: dt.datetime
    actor_id: str
    level: str
    reason: str


@dataclasses.dataclass(frozen=True)
class TicketMerged(DomainEvent):
    """Merged into another ticket as a duplicate; this one is finished."""

    ticket_id: str
    at: dt.datetime
    actor_id: str
    into_ticket_id: str


@dataclasses.dataclass(frozen=True)
class TicketCancelled(DomainEvent):
    """Withdrawn by the reporter before dispatch."""

    ticket_id: str
    at: dt.datetime
    actor_id: str
    reason: Optional[str]


EVENT_TYPES: tuple[type[DomainEvent], ...] = (
    TicketOpened, TicketDispatched, TicketAccepted, TicketReturned, TicketResolved,
    CallbackRecorded, TicketClosed, TicketReopened, ExtensionRequested, ExtensionGranted,
    ExtensionDenied, TicketOverdue, TicketSupervised, TicketEscalated, TicketMerged,
    TicketCancelled,
)
EVENTS_BY_NAME: dict[str, type[DomainEvent]] = {cls.__name__: cls for cls in EVENT_TYPES}

# Fields that never leave the node and never reach a dashboard: event type -> field names.
PRIVATE_FIELDS: dict[str, frozenset[str]] = {
    "TicketOpened": frozenset({"reporter_name", "reporter_phone"}),
}


def public_payload(event: DomainEvent) -> dict:
    """Return the event's fields without its private ones (values keep their Python types)."""
    private = PRIVATE_FIELDS.get(event.event_type(), frozenset())
    return {name: value for name, value in event.fields().items() if name not in private}
