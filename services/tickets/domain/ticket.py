"""The Ticket aggregate (工单): decides on commands, records events, applies them.

Every command method takes ``at`` (an aware datetime: when it happens) and, where a person
acts, ``actor_id``. A move the current state does not allow raises InvalidTransition and
records nothing; other broken rules raise the TicketError subclasses in ``errors``.
Deadlines come in as arguments (the handlers compute them from the catalogue and calendar).
A ticket's stream is ``Ticket.stream_id(ticket_id)`` (``ticket/<ticket id>``): the aggregate's
``id`` is that stream id, ``ticket_id`` the ticket's own.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional, Sequence

from onegrid.domain import Aggregate, DomainEvent

from .deadlines import require_aware
from .errors import (AlreadyOverdue, DeadlineNotPassed, DeadlinePassed, InvalidTicketCommand,
                     InvalidTransition, NotReopenable)
from .events import (AssigneeKind, CallbackRecorded, Channel, DeadlineClass,
                     ExtensionDenied, ExtensionGranted, ExtensionRequested, Level, Rating,
                     TicketAccepted, TicketCancelled, TicketClosed, TicketDispatched,
                     TicketEscalated, TicketMerged, TicketOpened, TicketOverdue,
                     TicketReopened, TicketResolved, TicketReturned, TicketSupervised)
from .lifecycle import TRANSITIONS, UNRESOLVED_STATES, TicketState, allowed_commands

_LEVEL_RANK = {Level.COMMUNITY: 0, Level.STREET: 1, Level.DISTRICT: 2}


def _member(enum, name: str, value) -> str:
    try:
        return enum(value).value
    except ValueError:
        choices = ", ".join(member.value for member in enum)
        raise InvalidTicketCommand(f"{name} must be one of {choices}; got {value!r}") from None


def _text(name: str, value, *, required: bool = True) -> Optional[str]:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidTicketCommand(f"{name} is required and must not be blank")
        return None
    return str(value)


class Ticket(Aggregate):
    """One ticket's life, from intake to close."""

    kind = "ticket"

    def __init__(self, aggregate_id: str):
        super().__init__(aggregate_id)
        self.state = TicketState.NEW
        self.opened: Optional[TicketOpened] = None
        self.deadline: Optional[dt.datetime] = None
        self.level = Level.COMMUNITY.value
        self.assignee_kind: Optional[str] = None
        self.assignee_id: Optional[str] = None
        self.grid_code: Optional[str] = None
        self.opened_at: Optional[dt.datetime] = None
        self.first_accepted_at: Optional[dt.datetime] = None
        self.resolved_at: Optional[dt.datetime] = None
        self.on_time: Optional[bool] = None
        self.rating: Optional[str] = None
        self.closed_at: Optional[dt.datetime] = None
        self.requested_deadline: Optional[dt.datetime] = None
        self.overdue_deadlines: set[dt.datetime] = set()
        self.merged_into: Optional[str] = None
        self.reopen_count = 0
        # stream version of the latest TicketOpened/TicketReturned: the request a dispatch
        # decision from the grid service answers (its ``ticket_version``)
        self.dispatch_requested_version = 0

    # -- reading ---------------------------------------------------------------------------

    @property
    def ticket_id(self) -> str:
        return self.key

    @property
    def allowed(self) -> tuple[str, ...]:
        """The commands the current state allows."""
        return allowed_commands(self.state)

    @property
    def is_overdue(self) -> bool:
        """True while the current deadline has been recorded as passed unresolved."""
        return self.state in UNRESOLVED_STATES and self.deadline in self.overdue_deadlines

    # -- commands --------------------------------------------------------------------------

    def open(self, *, at: dt.datetime, actor_id: str, node_id: str, channel: str,
             category_code: str, department: str, deadline_class: str, title: str,
             description: str, street: str, community: str, deadline: dt.datetime,
             lat: Optional[float] = None, lng: Optional[float] = None,
             address: Optional[str] = None, grid_code: Optional[str] = None,
             reporter_name: Optional[str] = None, reporter_phone: Optional[str] = None,
             attachments: Sequence[str] = ()) -> None:
        """Open the ticket (intake from any channel)."""
        self._check("open", at)
        require_aware("deadline", deadline)
        if (lat is None) != (lng is None):
            raise InvalidTicketCommand("give both lat and lng, or neither")
        if lat is not None and not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise InvalidTicketCommand(f"lat/lng out of range: {lat}, {lng}")
        if lat is None and not address and not grid_code:
            raise InvalidTicketCommand("give a location: lat/lng, an address or a grid code")
        self._record(TicketOpened(
            ticket_id=self.ticket_id, at=at, actor_id=_text("actor_id", actor_id),
            node_id=_text("node_id", node_id), channel=_member(Channel, "channel", channel),
            category_code=_text("category_code", category_code),
            department=_text("department", department),
            deadline_class=_member(DeadlineClass, "deadline_class", deadline_class),
            title=_text("title", title), description=_text("description", description),
            lat=None if lat is None else float(lat), lng=None if lng is None else float(lng),
            address=_text("address", address, required=False),
            grid_code=_text("grid_code", grid_code, required=False),
            street=_text("street", street), community=_text("community", community),
            reporter_name=_text("reporter_name", reporter_name, required=False),
            reporter_phone=_text("reporter_phone", reporter_phone, required=False),
            attachments=tuple(attachments), deadline=deadline,
        ))

    def dispatch(self, *, at: dt.datetime, actor_id: str, assignee_kind: str,
                 assignee_id: str, grid_code: Optional[str] = None,
                 reason: Optional[str] = None) -> None:
        """Dispatch (or reassign) the ticket to a grid worker or a department."""
        self._check("dispatch", at)
        self._record(TicketDispatched(
            ticket_id=self.ticket_id, at=at, actor_id=_text("actor_id", actor_id),
            assignee_kind=_member(AssigneeKind, "assignee_kind", assignee_kind),
            assignee_id=_text("assignee_id", assignee_id),
            grid_code=_text("grid_code", grid_code, required=False) or self.grid_code,
            reason=_text("reason", reason, required=False),
        ))

    def accept(self, *, at: dt.datetime, actor_id: str) -> None:
        """Accept the ticket (签收) on behalf of its assignee."""
        self._check("accept", at)
        self._record(TicketAccepted(
            ticket_id=self.ticket_id, at=at, actor_id=_text("actor_id", actor_id),
            assignee_kind=self.assignee_kind, assignee_id=self.assignee_id))

    def return_ticket(self, *, at: dt.datetime, actor_id: str, reason: str) -> None:
        """Hand the ticket back (退单) with a reason, for another dispatch."""
        self._check("return_ticket", at)
        self._record(TicketReturned(
            ticket_id=self.ticket_id, at=at, actor_id=_text("actor_id", actor_id),
            assignee_kind=self.assignee_kind, assignee_id=self.assignee_id,
            reason=_text("reason", reason)))

    def resolve(self, *, at: dt.datetime, actor_id: str, resolution: str) -> None:
        """Record the ticket as resolved, on time or not against the current deadline."""
        self._check("resolve", at)
        self._record(TicketResolved(
            ticket_id=self.ticket_id, at=at, actor_id=_text("actor_id", actor_id),
            resolution=_text("resolution", resolution), deadline=self.deadline,
            on_time=at <= self.deadline))

    def record_callback(self, *, at: dt.datetime, actor_id: str, rating: str,
                        comment: Optional[str] = None) -> None:
        """Record the resident's rating at the callback (回访)."""
        self._check("record_callback", at)
        self._record(CallbackRecorded(
            ticket_id=self.ticket_id, at=at, actor_id=_text("actor_id", actor_id),
            rating=_member(Rating, "rating", rating),
            comment=_text("comment", comment, required=False)))

    def close(self, *, at: dt.datetime, actor_id: str) -> None:
        """Close the ticket after its callback."""
        self._check("close", at)
        self._record(TicketClosed(
            ticket_id=self.ticket_id, at=at, actor_id=_text("actor_id", actor_id),
            rating=self.rating, on_time=self.on_time))

    def reopen(self, *, at: dt.datetime, actor_id: str, reason: str,
               deadline: dt.datetime) -> None:
        """Send an unsatisfied ticket back to its assignee for redo, with a new deadline."""
        self._check("reopen", at)
        require_aware("deadline", deadline)
        if self.rating != Rating.UNSATISFIED:
            raise NotReopenable(
                f"ticket {self.ticket_id!r} was rated {self.rating}; only an unsatisfied callback "
                "can reopen it — close it instead")
        self._record(TicketReopened(
            ticket_id=self.ticket_id, at=at, actor_id=_text("actor_id", actor_id),
            reason=_text("reason", reason), assignee_kind=self.assignee_kind,
            assignee_id=self.assignee_id, deadline=deadline))

    def request_extension(self, *, at: dt.datetime, actor_id: str, reason: str,
                          requested_deadline: dt.datetime) -> None:
        """Ask for a later deadline (延期), before the current one passes."""
        self._check("request_extension", at)
        require_aware("requested_deadline", requested_deadline)
        if at > self.deadline:
            raise DeadlinePassed(
                f"ticket {self.ticket_id!r} was due {self.deadline.isoformat()}; an extension must be "
                "asked before the deadline — ask a supervisor to supervise with a new deadline")
        if requested_deadline <= self.deadline:
            raise InvalidTicketCommand(
                f"requested_deadline must be after the current deadline "
                f"{self.deadline.isoformat()}")
        self._record(ExtensionRequested(
            ticket_id=self.ticket_id, at=at, actor_id=_text("actor_id", actor_id),
            reason=_text("reason", reason), current_deadline=self.deadline,
            requested_deadline=requested_deadline))

    def grant_extension(self, *, at: dt.datetime, actor_id: str,
                        new_deadline: Optional[dt.datetime] = None) -> None:
        """Grant the pending extension: the deadline moves (to the requested one by default)."""
        self._check("grant_extension", at)
        new_deadline = new_deadline or self.requested_deadline
        require_aware("new_deadline", new_deadline)
        if new_deadline <= self.deadline:
            raise InvalidTicketCommand(
                f"new_deadline must be after the current deadline {self.deadline.isoformat()}")
        self._record(ExtensionGranted(
            ticket_id=self.ticket_id, at=at, actor_id=_text("actor_id", actor_id),
            previous_deadline=self.deadline, new_deadline=new_deadline))

    def deny_extension(self, *, at: dt.datetime, actor_id: str, reason: str) -> None:
        """Deny the pending extension: the deadline stays."""
        self._check("deny_extension", at)
        self._record(ExtensionDenied(
            ticket_id=self.ticket_id, at=at, actor_id=_text("actor_id", actor_id),
            reason=_text("reason", reason)))

    def record_overdue(self, *, at: dt.datetime) -> None:
        """Record that the current deadline passed unresolved (once per deadline)."""
        self._check("record_overdue", at)
        if at <= self.deadline:
            raise DeadlineNotPassed(
                f"ticket {self.ticket_id!r} is due {self.deadline.isoformat()}, not yet passed")
        if self.deadline in self.overdue_deadlines:
            raise AlreadyOverdue(
                f"ticket {self.ticket_id!r} is already recorded overdue for deadline "
                f"{self.deadline.isoformat()}")
        self._record(TicketOverdue(
            ticket_id=self.ticket_id, at=at, deadline=self.deadline,
            assignee_kind=self.assignee_kind, assignee_id=self.assignee_id))

    def supervise(self, *, at: dt.datetime, actor_id: str, note: str,
                  new_deadline: dt.datetime) -> None:
        """Supervise the ticket (督办): a supervisor's note and a new deadline."""
        self._check("supervise", at)
        require_aware("new_deadline", new_deadline)
        self._record(TicketSupervised(
            ticket_id=self.ticket_id, at=at, actor_id=_text("actor_id", actor_id),
            note=_text("note", note), previous_deadline=self.deadline,
            new_deadline=new_deadline))

    def escalate(self, *, at: dt.datetime, actor_id: str, level: str, reason: str) -> None:
        """Escalate the ticket to the street office or the district, to be dispatched there."""
        self._check("escalate", at)
        level = _member(Level, "level", level)
        if _LEVEL_RANK[Level(level)] <= _LEVEL_RANK[Level(self.level)]:
            raise InvalidTicketCommand(
                f"ticket {self.ticket_id!r} is already handled at {self.level} level; "
                "escalate only to a higher level (street, then district)")
        self._record(TicketEscalated(
            ticket_id=self.ticket_id, at=at, actor_id=_text("actor_id", actor_id), level=level,
            reason=_text("reason", reason)))

    def merge(self, *, at: dt.datetime, actor_id: str, into_ticket_id: str) -> None:
        """Merge this ticket into another as a duplicate; this one is finished."""
        self._check("merge", at)
        into_ticket_id = _text("into_ticket_id", into_ticket_id)
        if into_ticket_id == self.ticket_id:
            raise InvalidTicketCommand("a ticket cannot be merged into itself")
        self._record(TicketMerged(
            ticket_id=self.ticket_id, at=at, actor_id=_text("actor_id", actor_id),
            into_ticket_id=into_ticket_id))

    def cancel(self, *, at: dt.datetime, actor_id: str, reason: Optional[str] = None) -> None:
        """Cancel the ticket at the reporter's request, before it is dispatched."""
        self._check("cancel", at)
        self._record(TicketCancelled(
            ticket_id=self.ticket_id, at=at, actor_id=_text("actor_id", actor_id),
            reason=_text("reason", reason, required=False)))

    def _check(self, command: str, at: dt.datetime) -> None:
        if command not in TRANSITIONS[self.state]:
            raise InvalidTransition(self.ticket_id, self.state, command, self.allowed)
        require_aware("at", at)

    # -- applying events -------------------------------------------------------------------

    def apply(self, event: DomainEvent) -> None:
        handler = getattr(self, f"_on_{type(event).__name__}")
        handler(event)

    def _on_TicketOpened(self, e: TicketOpened) -> None:
        self.state = TicketState.OPENED
        self.opened = e
        self.opened_at = e.at
        self.deadline = e.deadline
        self.grid_code = e.grid_code
        self.dispatch_requested_version = self.version + 1

    def _on_TicketDispatched(self, e: TicketDispatched) -> None:
        self.state = TicketState.DISPATCHED
        self.assignee_kind, self.assignee_id = e.assignee_kind, e.assignee_id
        self.grid_code = e.grid_code

    def _on_TicketAccepted(self, e: TicketAccepted) -> None:
        self.state = TicketState.ACCEPTED
        self.first_accepted_at = self.first_accepted_at or e.at

    def _on_TicketReturned(self, e: TicketReturned) -> None:
        self.state = TicketState.RETURNED
        self.assignee_kind = self.assignee_id = None
        self.dispatch_requested_version = self.version + 1

    def _on_TicketResolved(self, e: TicketResolved) -> None:
        self.state = TicketState.RESOLVED
        self.resolved_at, self.on_time = e.at, e.on_time
        self.requested_deadline = None

    def _on_CallbackRecorded(self, e: CallbackRecorded) -> None:
        self.state = TicketState.CALLBACK_RECORDED
        self.rating = e.rating

    def _on_TicketClosed(self, e: TicketClosed) -> None:
        self.state = TicketState.CLOSED
        self.closed_at = e.at

    def _on_TicketReopened(self, e: TicketReopened) -> None:
        self.state = TicketState.DISPATCHED
        self.deadline = e.deadline
        self.resolved_at = self.on_time = None
        self.reopen_count += 1

    def _on_ExtensionRequested(self, e: ExtensionRequested) -> None:
        self.state = TicketState.EXTENSION_REQUESTED
        self.requested_deadline = e.requested_deadline

    def _on_ExtensionGranted(self, e: ExtensionGranted) -> None:
        self.state = TicketState.ACCEPTED
        self.deadline = e.new_deadline
        self.requested_deadline = None

    def _on_ExtensionDenied(self, e: ExtensionDenied) -> None:
        self.state = TicketState.ACCEPTED
        self.requested_deadline = None

    def _on_TicketOverdue(self, e: TicketOverdue) -> None:
        self.overdue_deadlines.add(e.deadline)

    def _on_TicketSupervised(self, e: TicketSupervised) -> None:
        self.deadline = e.new_deadline

    def _on_TicketEscalated(self, e: TicketEscalated) -> None:
        self.state = TicketState.ESCALATED
        self.level = e.level
        self.assignee_kind = self.assignee_id = None

    def _on_TicketMerged(self, e: TicketMerged) -> None:
        self.state = TicketState.MERGED
        self.merged_into = e.into_ticket_id

    def _on_TicketCancelled(self, e: TicketCancelled) -> None:
        self.state = TicketState.CANCELLED


def overdue_due(ticket: Ticket, now: dt.datetime) -> bool:
    """Tell the timer whether to record TicketOverdue now: passed, unresolved, not yet marked."""
    return (ticket.state in UNRESOLVED_STATES and ticket.deadline is not None
            and now > ticket.deadline and ticket.deadline not in ticket.overdue_deadlines)
