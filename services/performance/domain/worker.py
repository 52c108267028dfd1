"""A worker's record: the posts one worker held, for days in post (stream ``worker/<id>``).

Every posting carries the id of the event it came from; a second delivery of the same id
records nothing, so redelivery is harmless.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Optional

from onegrid.domain import Aggregate, DomainEvent
from onegrid.errors import InvalidInput

from .events import WorkerLeftPost, WorkerPosted
from .periods import Quarter

@dataclasses.dataclass
class Stint:
    street: str
    grid: str
    post: str
    post_level: str
    start: dt.date
    end: Optional[dt.date] = None  # last day in post, inclusive; None while it lasts

    def days_within(self, first: dt.date, last: dt.date) -> int:
        start, end = max(self.start, first), min(self.end or last, last)
        return max(0, (end - start).days + 1)


class WorkerRecord(Aggregate):
    """The posts one worker held: where, which post (A/B), which pay level, from when."""

    kind = "worker"

    def __init__(self, aggregate_id: str):
        super().__init__(aggregate_id)
        self.stints: list[Stint] = []
        self.seen: set[str] = set()

    @property
    def worker_id(self) -> str:
        return self.key

    @property
    def is_known(self) -> bool:
        return bool(self.stints)

    def post(self, street: str, grid: str, post: str, post_level: str, on: dt.date,
             source_event_id: str) -> bool:
        """Record that the worker holds a post from ``on``; False for a redelivery."""
        if source_event_id in self.seen:
            return False
        if not (street and grid and post_level):
            raise InvalidInput({"post": ["a post needs a street, a grid and a post level"]})
        self._record(WorkerPosted(self.worker_id, street, grid, post, post_level, on, source_event_id))
        return True

    def leave_post(self, on: dt.date, source_event_id: str) -> bool:
        """Record that the worker holds no post from ``on``; False for a redelivery."""
        if source_event_id in self.seen:
            return False
        self._record(WorkerLeftPost(self.worker_id, on, source_event_id))
        return True

    def apply(self, event: DomainEvent) -> None:
        self.seen.add(event.source_event_id)
        current = self.current
        if current is not None:
            current.end = event.on - dt.timedelta(days=1)
        if isinstance(event, WorkerPosted):
            self.stints.append(Stint(event.street, event.grid, event.post, event.post_level, event.on))

    def days_in_post(self, quarter: Quarter, street: str) -> int:
        """Days of the quarter the worker held a post in this street office."""
        return sum(s.days_within(quarter.first_day, quarter.last_day)
                   for s in self.stints if s.street == street)

    def stint_in(self, quarter: Quarter, street: str) -> Optional[Stint]:
        """The worker's last post in this street office during the quarter."""
        held = [s for s in self.stints
                if s.street == street and s.days_within(quarter.first_day, quarter.last_day)]
        return held[-1] if held else None

    @property
    def current(self) -> Optional[Stint]:
        """The post the worker holds now (None when it holds none)."""
        return self.stints[-1] if self.stints and self.stints[-1].end is None else None

    def quarters_from(self, on: dt.date) -> set[Quarter]:
        """The quarters a posting from ``on`` may change: from its quarter to the last stint's."""
        first = Quarter.of(on)
        last = max([first] + [Quarter.of(s.end) for s in self.stints if s.end]
                   + [Quarter.of(s.start) for s in self.stints])
        quarters, quarter = set(), first
        while quarter <= last:
            quarters.add(quarter)
            quarter = quarter.next()
        return quarters
