"""The dispatch record of one ticket: one ``DispatchDecided`` per opening or return.

Stream ``dispatch/<ticket_id>``. A redelivered ``TicketOpened`` or a second replica
deciding the same ticket version records nothing, so each opening is dispatched once.
"""
from __future__ import annotations

from typing import Optional

from onegrid.domain import DomainEvent

from .errors import InvalidDecision
from .events import ASSIGNEE_KINDS, DISPATCH_TRIGGERS, DispatchDecided
from .streams import Named


class TicketDispatch(Named):
    """Who handled each opening of one ticket, decided by ``domain.dispatch_rule``."""

    kind = "dispatch"

    def __init__(self, aggregate_id: str):
        super().__init__(aggregate_id)
        self.decisions: list[DispatchDecided] = []

    @property
    def last(self) -> Optional[DispatchDecided]:
        return self.decisions[-1] if self.decisions else None

    def has_decided(self, ticket_version: int) -> bool:
        """Whether this ticket version (or a later one) has already been dispatched."""
        return self.last is not None and self.last.ticket_version >= ticket_version

    def decide(self, *, ticket_id: str, ticket_version: int, assignee_kind: str,
               assignee_id: str, grid_code: Optional[str], community_code: Optional[str],
               street_code: Optional[str], step: str, reason: str, rule_version: int,
               trigger: str = "opened") -> bool:
        """Record the decision for ``ticket_version``; False (nothing recorded) if already decided."""
        if self.has_decided(ticket_version):
            return False
        self._record(self._checked(ticket_id, ticket_version, assignee_kind, assignee_id,
                                   grid_code, community_code, street_code, step, reason,
                                   rule_version, trigger))
        return True

    def reassign_from(self, worker_id: str, *, trigger: str, ticket_id: str, ticket_version: int,
                      assignee_kind: str, assignee_id: str, grid_code: Optional[str],
                      community_code: Optional[str], street_code: Optional[str], step: str,
                      reason: str, rule_version: int) -> bool:
        """Decide again because ``worker_id``, who holds the ticket, went on leave or left.

        Records nothing (False) unless the last decision gave the ticket to that worker, so a
        second replica or a repeated sweep changes nothing. The decision keeps the ticket
        version of the opening or return it replaces.
        """
        last = self.last
        if last is None or last.assignee_kind != "worker" or last.assignee_id != worker_id:
            return False
        if assignee_kind == "worker" and assignee_id == worker_id:
            raise InvalidDecision(f"a reassignment away from {worker_id} can't choose {worker_id}")
        self._record(self._checked(ticket_id, last.ticket_version, assignee_kind, assignee_id,
                                   grid_code, community_code, street_code, step, reason,
                                   rule_version, trigger))
        return True

    @staticmethod
    def _checked(ticket_id, ticket_version, assignee_kind, assignee_id, grid_code,
                 community_code, street_code, step, reason, rule_version, trigger):
        if assignee_kind not in ASSIGNEE_KINDS:
            raise InvalidDecision(f"assignee kind must be one of {', '.join(ASSIGNEE_KINDS)}, "
                                  f"got {assignee_kind!r}")
        if not assignee_id:
            raise InvalidDecision("a dispatch decision needs an assignee id")
        if ticket_version < 1:
            raise InvalidDecision(f"ticket version counts from 1, got {ticket_version}")
        if trigger not in DISPATCH_TRIGGERS:
            raise InvalidDecision(f"trigger must be one of {', '.join(DISPATCH_TRIGGERS)}, "
                                  f"got {trigger!r}")
        return DispatchDecided(ticket_id, ticket_version, assignee_kind, assignee_id,
                               grid_code, community_code, street_code, step, reason,
                               rule_version, trigger)

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, DispatchDecided):
            self.decisions.append(event)
