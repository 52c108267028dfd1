"""Ticket rates for a scope and period: closure, on-time, satisfaction, counts, average times.

Pure: folds ``TicketSummary`` rows (one per ticket, as the tickets projection keeps them).
Definitions and worked examples: docs/ticket-rates.md. Rates are exact fractions; the
percentage shown is rounded half-up to 2 decimal places; an empty denominator gives no figure.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Iterable, Optional

from .events import Rating
from .lifecycle import TicketState
from .ticket import Ticket

RESOLVED_STATES = frozenset({TicketState.RESOLVED, TicketState.CALLBACK_RECORDED,
                             TicketState.CLOSED})
EXCLUDED_STATES = frozenset({TicketState.MERGED, TicketState.CANCELLED})
SATISFIED = frozenset({Rating.SATISFIED, Rating.BASICALLY_SATISFIED})
SCOPE_LEVELS = ("grid", "community", "street", "district")
TWO_PLACES = Decimal("0.01")


@dataclasses.dataclass(frozen=True)
class TicketSummary:
    """What the rates need to know about one ticket, as it stands now."""

    ticket_id: str
    channel: str
    category_code: str
    street: str
    community: str
    grid_code: Optional[str]
    state: str
    opened_at: dt.datetime
    deadline: dt.datetime
    accepted_at: Optional[dt.datetime] = None   # the first acceptance (签收)
    resolved_at: Optional[dt.datetime] = None   # the latest resolution, None once reopened
    on_time: Optional[bool] = None              # of the latest resolution
    rating: Optional[str] = None                # the latest callback's rating
    closed_at: Optional[dt.datetime] = None

    @classmethod
    def of(cls, ticket: Ticket) -> "TicketSummary":
        """Summarise an opened ticket aggregate."""
        opened = ticket.opened
        return cls(
            ticket_id=ticket.id, channel=opened.channel, category_code=opened.category_code,
            street=opened.street, community=opened.community, grid_code=ticket.grid_code,
            state=ticket.state.value, opened_at=ticket.opened_at, deadline=ticket.deadline,
            accepted_at=ticket.first_accepted_at, resolved_at=ticket.resolved_at,
            on_time=ticket.on_time, rating=ticket.rating, closed_at=ticket.closed_at)


@dataclasses.dataclass(frozen=True)
class Scope:
    """A grid, community or street by its code, or the whole district."""

    level: str
    code: Optional[str] = None

    def __post_init__(self):
        if self.level not in SCOPE_LEVELS:
            raise ValueError(f"scope level must be one of {', '.join(SCOPE_LEVELS)}")
        if self.level != "district" and not self.code:
            raise ValueError(f"a {self.level} scope needs a code")

    def contains(self, summary: TicketSummary) -> bool:
        if self.level == "district":
            return True
        attribute = "grid_code" if self.level == "grid" else self.level
        return getattr(summary, attribute) == self.code


@dataclasses.dataclass(frozen=True)
class Rate:
    """numerator / denominator, kept exact; ``percent`` rounds half-up to 2 places."""

    numerator: int
    denominator: int

    @property
    def fraction(self) -> Optional[Fraction]:
        return Fraction(self.numerator, self.denominator) if self.denominator else None

    @property
    def percent(self) -> Optional[Decimal]:
        if not self.denominator:
            return None
        exact = Decimal(100 * self.numerator) / Decimal(self.denominator)
        return exact.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)

    def to_dict(self) -> dict:
        percent = self.percent
        return {"numerator": self.numerator, "denominator": self.denominator,
                "percent": None if percent is None else str(percent)}


@dataclasses.dataclass(frozen=True)
class Rates:
    scope: Scope
    period_start: dt.datetime
    period_end: dt.datetime
    received: int
    counted: int
    closure_rate: Rate
    on_time_rate: Rate
    satisfaction_rate: Rate
    by_channel: dict[str, int]
    by_category: dict[str, int]
    average_hours_to_accept: Optional[Decimal]
    average_hours_to_resolve: Optional[Decimal]

    def to_dict(self) -> dict:
        """Describe the figures in JSON-safe types (decimals as strings)."""
        hours = lambda value: None if value is None else str(value)  # noqa: E731
        return {
            "scope": {"level": self.scope.level, "code": self.scope.code},
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "received": self.received, "counted": self.counted,
            "closure_rate": self.closure_rate.to_dict(),
            "on_time_rate": self.on_time_rate.to_dict(),
            "satisfaction_rate": self.satisfaction_rate.to_dict(),
            "by_channel": dict(self.by_channel), "by_category": dict(self.by_category),
            "average_hours_to_accept": hours(self.average_hours_to_accept),
            "average_hours_to_resolve": hours(self.average_hours_to_resolve),
        }


def average_hours(spans: list[dt.timedelta]) -> Optional[Decimal]:
    """Return the mean of ``spans`` in hours, rounded half-up to 2 places (None if empty)."""
    if not spans:
        return None
    seconds = sum(int(span.total_seconds()) for span in spans)
    exact = Decimal(seconds) / Decimal(3600 * len(spans))
    return exact.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def compute_rates(summaries: Iterable[TicketSummary], scope: Scope, period_start: dt.datetime,
                  period_end: dt.datetime, now: dt.datetime) -> Rates:
    """Compute the rates of the tickets opened in [period_start, period_end) within ``scope``."""
    received = [s for s in summaries
                if scope.contains(s) and period_start <= s.opened_at < period_end]
    counted = [s for s in received if s.state not in EXCLUDED_STATES]
    resolved = [s for s in counted if s.state in RESOLVED_STATES]
    late_unresolved = [s for s in counted
                       if s.state not in RESOLVED_STATES and s.deadline < now]
    rated = [s for s in counted if s.rating is not None]
    return Rates(
        scope=scope, period_start=period_start, period_end=period_end,
        received=len(received), counted=len(counted),
        closure_rate=Rate(sum(s.state == TicketState.CLOSED for s in counted), len(counted)),
        on_time_rate=Rate(sum(bool(s.on_time) for s in resolved),
                          len(resolved) + len(late_unresolved)),
        satisfaction_rate=Rate(sum(s.rating in SATISFIED for s in rated), len(rated)),
        by_channel=dict(sorted(Counter(s.channel for s in received).items())),
        by_category=dict(sorted(Counter(s.category_code for s in received).items())),
        average_hours_to_accept=average_hours(
            [s.accepted_at - s.opened_at for s in counted if s.accepted_at]),
        average_hours_to_resolve=average_hours(
            [s.resolved_at - s.opened_at for s in resolved if s.resolved_at]),
    )
