"""Commands: what a caller asks the tickets service to do (plain frozen dataclasses).

``schemas.COMMAND_SCHEMAS`` validates raw input into these; ``handlers.COMMANDS`` runs each.
Times are not part of a command: the handler takes ``now`` from the service's clock.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Optional


@dataclasses.dataclass(frozen=True)
class OpenTicket:
    ticket_id: str
    actor_id: str
    channel: str
    category_code: str
    title: str
    description: str
    street: str
    community: str
    lat: Optional[float] = None
    lng: Optional[float] = None
    address: Optional[str] = None
    grid_code: Optional[str] = None
    reporter_name: Optional[str] = None
    reporter_phone: Optional[str] = None
    attachments: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class DispatchTicket:
    ticket_id: str
    actor_id: str
    assignee_kind: str
    assignee_id: str
    grid_code: Optional[str] = None
    reason: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class AcceptTicket:
    ticket_id: str
    actor_id: str


@dataclasses.dataclass(frozen=True)
class ReturnTicket:
    ticket_id: str
    actor_id: str
    reason: str


@dataclasses.dataclass(frozen=True)
class ResolveTicket:
    ticket_id: str
    actor_id: str
    resolution: str


@dataclasses.dataclass(frozen=True)
class RecordCallback:
    ticket_id: str
    actor_id: str
    rating: str
    comment: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class CloseTicket:
    ticket_id: str
    actor_id: str


@dataclasses.dataclass(frozen=True)
class ReopenTicket:
    ticket_id: str
    actor_id: str
    reason: str


@dataclasses.dataclass(frozen=True)
class RequestExtension:
    ticket_id: str
    actor_id: str
    reason: str
    requested_deadline: dt.datetime


@dataclasses.dataclass(frozen=True)
class GrantExtension:
    ticket_id: str
    actor_id: str
    new_deadline: Optional[dt.datetime] = None


@dataclasses.dataclass(frozen=True)
class DenyExtension:
    ticket_id: str
    actor_id: str
    reason: str


@dataclasses.dataclass(frozen=True)
class MarkOverdue:
    """Sent by the overdue timer for a batch of due tickets; not exposed to people."""

    ticket_ids: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class SuperviseTicket:
    ticket_id: str
    actor_id: str
    note: str
    new_deadline: dt.datetime


@dataclasses.dataclass(frozen=True)
class EscalateTicket:
    ticket_id: str
    actor_id: str
    level: str
    reason: str


@dataclasses.dataclass(frozen=True)
class MergeTicket:
    ticket_id: str
    actor_id: str
    into_ticket_id: str


@dataclasses.dataclass(frozen=True)
class CancelTicket:
    ticket_id: str
    actor_id: str
    reason: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class RecordDispatchDecision:
    """The grid service's ``DispatchDecided``, as the tickets service reads it (a reaction).

    ``ticket_version`` is the version of the TicketOpened or TicketReturned it answers;
    ``trigger`` is opened | returned (a first dispatch) or worker_on_leave | worker_left (a
    reassignment of a ticket already dispatched).
    """

    ticket_id: str
    ticket_version: int
    assignee_kind: str
    assignee_id: str
    grid_code: Optional[str]
    reason: str
    trigger: str = "opened"
    actor_id: str = "grid"


COMMAND_TYPES = (
    OpenTicket, DispatchTicket, AcceptTicket, ReturnTicket, ResolveTicket, RecordCallback,
    CloseTicket, ReopenTicket, RequestExtension, GrantExtension, DenyExtension, MarkOverdue,
    SuperviseTicket, EscalateTicket, MergeTicket, CancelTicket, RecordDispatchDecision,
)
