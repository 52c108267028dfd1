"""The map and the people: street offices, communities with their grids and workers, departments.

A community is the consistency boundary of the grid's people: its grids, the A and B posts
(AB岗) of each grid, its workers and their leave roster all live in one stream, so the rule
"A and B of one grid are never away on the same day" is checked against one consistent state.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Iterable, Mapping, Optional

from onegrid.domain import DomainEvent

from .errors import (AlreadyRegistered, InvalidGridKind, InvalidPost, LeaveClash, NotPosted,
                     NotRegistered, PostTaken, UnknownGrid, UnknownWorker, WorkerHasLeft)
from .events import (DEDICATED, GRID_KINDS, POST_A, POST_B, POSTS, CommunityGridDesignated,
                     CommunityRegistered, DepartmentCategoriesSet, DepartmentRegistered,
                     GridDrawn, LeaveGranted, Ring, StreetRegistered, WorkerEnrolled,
                     WorkerLeft, WorkerMoved, WorkerPosted)
from .rings import BoundaryInput, Geometry, as_ring
from .streams import Named


def other_post(post: str) -> str:
    """The partner post: A for B and B for A."""
    return POST_B if post == POST_A else POST_A


class Street(Named):
    """A street office (街道). Stream ``street/<code>``, e.g. ``street/shazhou``."""

    kind = "street"

    def __init__(self, aggregate_id: str):
        super().__init__(aggregate_id)
        self.name: Optional[str] = None
        self.name_zh = ""
        self.boundary: Ring = ()

    @property
    def registered(self) -> bool:
        return self.name is not None

    def register(self, name: str, name_zh: str, boundary: BoundaryInput, *,
                 geometry: Geometry, siblings: Mapping[str, Ring] = {}) -> None:
        """Register the street office with its area; ``siblings`` are the other streets' areas."""
        if self.registered:
            raise AlreadyRegistered(f"street {self.code!r} is already registered")
        ring = as_ring(boundary, what=f"street {self.code} boundary")
        geometry.check_area(ring, what=f"street {self.code}", siblings=siblings)
        self._record(StreetRegistered(self.code, name, name_zh, ring))

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, StreetRegistered):
            self.name, self.name_zh, self.boundary = event.name, event.name_zh, event.boundary


@dataclasses.dataclass
class GridState:
    code: str
    kind: str
    purpose: Optional[str]
    boundary: Ring
    posts: dict[str, str] = dataclasses.field(default_factory=dict)  # post -> worker id


@dataclasses.dataclass
class WorkerState:
    id: str
    name: str
    left_on: Optional[dt.date] = None
    leave_days: set[dt.date] = dataclasses.field(default_factory=set)

    @property
    def active(self) -> bool:
        return self.left_on is None


class Community(Named):
    """A community (社区): its area, its grids, their A/B posts, its workers and their leave.

    Stream ``community/<code>``, e.g. ``community/shazhou-zhongcheng``.
    """

    kind = "community"

    def __init__(self, aggregate_id: str):
        super().__init__(aggregate_id)
        self.street_code: Optional[str] = None
        self.name = ""
        self.name_zh = ""
        self.boundary: Ring = ()
        self.grids: dict[str, GridState] = {}
        self.designated_grid: Optional[str] = None
        self.workers: dict[str, WorkerState] = {}

    # --- reads -------------------------------------------------------------------------------

    @property
    def registered(self) -> bool:
        return self.street_code is not None

    def holder(self, grid_code: str, post: str) -> Optional[str]:
        """The worker holding ``post`` of ``grid_code``, or None if it is vacant."""
        return self._grid(grid_code).posts.get(post)

    def posts_of(self, worker_id: str) -> list[tuple[str, str]]:
        """Every (grid code, post) the worker holds, in grid-code order."""
        return sorted((g.code, p) for g in self.grids.values()
                      for p, w in g.posts.items() if w == worker_id)

    def is_on_duty(self, worker_id: str, day: dt.date) -> bool:
        """Whether the worker works on ``day``: enrolled, not left, not on leave."""
        worker = self.workers.get(worker_id)
        return (worker is not None and day not in worker.leave_days
                and (worker.left_on is None or day < worker.left_on))

    def on_duty_workers(self, day: dt.date) -> list[str]:
        """The ids of the community's workers on duty on ``day``, sorted."""
        return sorted(w for w in self.workers if self.is_on_duty(w, day))

    # --- commands ----------------------------------------------------------------------------

    def register(self, street_code: str, name: str, name_zh: str, boundary: BoundaryInput, *,
                 geometry: Geometry, street_boundary: Ring | None = None,
                 siblings: Mapping[str, Ring] = {}) -> None:
        """Register the community inside its street; ``siblings`` are the street's other communities."""
        if self.registered:
            raise AlreadyRegistered(f"community {self.code!r} is already registered")
        ring = as_ring(boundary, what=f"community {self.code} boundary")
        geometry.check_area(ring, what=f"community {self.code}", parent=street_boundary,
                            parent_name=f"street {street_code}", siblings=siblings)
        self._record(CommunityRegistered(self.code, street_code, name, name_zh, ring))

    def draw_grid(self, grid_code: str, kind: str, boundary: BoundaryInput, *,
                  geometry: Geometry, purpose: Optional[str] = None) -> None:
        """Draw a grid inside the community; it may not overlap the community's other grids."""
        self._require_registered()
        if grid_code in self.grids:
            raise AlreadyRegistered(f"grid {grid_code!r} is already drawn in community {self.code}")
        if kind not in GRID_KINDS:
            raise InvalidGridKind(f"grid kind must be one of {', '.join(GRID_KINDS)}, got {kind!r}")
        if kind == DEDICATED and not purpose:
            raise InvalidGridKind(f"dedicated grid {grid_code} needs a purpose "
                                  f"(school, market, hospital, park...)")
        ring = as_ring(boundary, what=f"grid {grid_code} boundary")
        geometry.check_area(ring, what=f"grid {grid_code}", parent=self.boundary,
                            parent_name=f"community {self.code}",
                            siblings={c: g.boundary for c, g in self.grids.items()})
        self._record(GridDrawn(grid_code, self.code, self.street_code, kind, purpose or None, ring))

    def designate_grid(self, grid_code: str) -> None:
        """Name the grid that takes tickets known only by their community."""
        self._grid(grid_code)
        if self.designated_grid != grid_code:
            self._record(CommunityGridDesignated(self.code, grid_code))

    def enroll(self, worker_id: str, name: str) -> None:
        """Enroll a community social worker as a grid worker."""
        self._require_registered()
        if worker_id in self.workers:
            raise AlreadyRegistered(f"worker {worker_id!r} is already enrolled in community {self.code}")
        self._record(WorkerEnrolled(worker_id, self.code, name))

    def post(self, worker_id: str, grid_code: str, post: str, *,
             today: Optional[dt.date] = None) -> None:
        """Give a worker the A or B post of a grid (a grid has at most one of each)."""
        worker = self._active_worker(worker_id)
        grid = self._grid(grid_code)
        self._check_post_free(grid, post, worker_id)
        self._check_no_leave_clash(worker, grid, post, today)
        self._record(WorkerPosted(worker_id, grid_code, post))

    def move(self, worker_id: str, from_grid: str, to_grid: str, to_post: str, *,
             today: Optional[dt.date] = None) -> None:
        """Move a worker from their post in ``from_grid`` to ``to_post`` of ``to_grid``."""
        worker = self._active_worker(worker_id)
        source = self._grid(from_grid)
        held = [p for p, w in source.posts.items() if w == worker_id]
        if not held:
            raise NotPosted(f"worker {worker_id} holds no post in grid {from_grid}; "
                            f"post them instead of moving them")
        target = self._grid(to_grid)
        from_post = held[0]
        if (from_grid, from_post) == (to_grid, to_post):
            raise InvalidPost(f"worker {worker_id} already holds post {to_post} of grid {to_grid}")
        self._check_post_free(target, to_post, worker_id, moving_from=(from_grid, from_post))
        self._check_no_leave_clash(worker, target, to_post, today)
        self._record(WorkerMoved(worker_id, from_grid, from_post, to_grid, to_post))

    def grant_leave(self, worker_id: str, day: dt.date) -> None:
        """Put a worker on leave for ``day``; refused if their partner post is already away."""
        worker = self._active_worker(worker_id)
        if day in worker.leave_days:
            return  # the same leave asked twice changes nothing
        for grid_code, post in self.posts_of(worker_id):
            partner = self.grids[grid_code].posts.get(other_post(post))
            if partner is not None and partner != worker_id and day in self.workers[partner].leave_days:
                raise LeaveClash(
                    f"worker {worker_id} can't be on leave on {day.isoformat()}: "
                    f"{partner}, post {other_post(post)} of grid {grid_code}, is already on leave "
                    f"that day and A and B of one grid can't both be away; pick another day "
                    f"or move a worker to the post first")
        self._record(LeaveGranted(worker_id, day))

    def leave(self, worker_id: str, day: dt.date, reason: str) -> None:
        """Record that a worker leaves the job on ``day``; their posts fall vacant."""
        self._active_worker(worker_id)
        self._record(WorkerLeft(worker_id, day, reason))

    # --- rules -------------------------------------------------------------------------------

    def _require_registered(self) -> None:
        if not self.registered:
            raise NotRegistered(f"community {self.code!r} is not registered; register it first")

    def _grid(self, grid_code: str) -> GridState:
        try:
            return self.grids[grid_code]
        except KeyError:
            raise UnknownGrid(f"community {self.code} has no grid {grid_code!r}") from None

    def _active_worker(self, worker_id: str) -> WorkerState:
        self._require_registered()
        worker = self.workers.get(worker_id)
        if worker is None:
            raise UnknownWorker(f"worker {worker_id!r} is not enrolled in community {self.code}; "
                                f"enroll them first")
        if not worker.active:
            raise WorkerHasLeft(f"worker {worker_id} left on {worker.left_on.isoformat()}")
        return worker

    @staticmethod
    def _check_post_free(grid: GridState, post: str, worker_id: str,
                         moving_from: Optional[tuple[str, str]] = None) -> None:
        if post not in POSTS:
            raise InvalidPost(f"post must be A or B, got {post!r}")
        holder = grid.posts.get(post)
        if holder == worker_id:
            raise PostTaken(f"worker {worker_id} already holds post {post} of grid {grid.code}")
        if holder is not None:
            raise PostTaken(f"post {post} of grid {grid.code} is already held by {holder}; "
                            f"move {holder} to another post first")
        partner = grid.posts.get(other_post(post))
        if partner == worker_id and moving_from != (grid.code, other_post(post)):
            raise InvalidPost(f"worker {worker_id} already holds post {other_post(post)} of grid "
                              f"{grid.code}; one worker can't be both A and B of a grid")

    def _check_no_leave_clash(self, worker: WorkerState, grid: GridState, post: str,
                              today: Optional[dt.date]) -> None:
        partner = grid.posts.get(other_post(post))
        if partner is None or partner == worker.id:
            return
        clash = sorted(d for d in worker.leave_days & self.workers[partner].leave_days
                       if today is None or d >= today)
        if clash:
            raise LeaveClash(f"worker {worker.id} and {partner} are both on leave on "
                             f"{clash[0].isoformat()}, so they can't be A and B of grid {grid.code}")

    # --- state ---------------------------------------------------------------------------------

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, CommunityRegistered):
            self.street_code, self.name, self.name_zh = event.street_code, event.name, event.name_zh
            self.boundary = event.boundary
        elif isinstance(event, GridDrawn):
            self.grids[event.grid_code] = GridState(event.grid_code, event.kind, event.purpose,
                                                    event.boundary)
        elif isinstance(event, CommunityGridDesignated):
            self.designated_grid = event.grid_code
        elif isinstance(event, WorkerEnrolled):
            self.workers[event.worker_id] = WorkerState(event.worker_id, event.name)
        elif isinstance(event, WorkerPosted):
            self.grids[event.grid_code].posts[event.post] = event.worker_id
        elif isinstance(event, WorkerMoved):
            del self.grids[event.from_grid].posts[event.from_post]
            self.grids[event.to_grid].posts[event.to_post] = event.worker_id
        elif isinstance(event, LeaveGranted):
            self.workers[event.worker_id].leave_days.add(event.day)
        elif isinstance(event, WorkerLeft):
            self.workers[event.worker_id].left_on = event.day
            for grid in self.grids.values():
                for post in [p for p, w in grid.posts.items() if w == event.worker_id]:
                    del grid.posts[post]


class Department(Named):
    """One of the 14 departments folded into the grid. Stream ``department/<code>``."""

    kind = "department"

    def __init__(self, aggregate_id: str):
        super().__init__(aggregate_id)
        self.name: Optional[str] = None
        self.name_zh = ""
        self.categories: tuple[str, ...] = ()

    @property
    def registered(self) -> bool:
        return self.name is not None

    def register(self, name: str, name_zh: str) -> None:
        """Register the department."""
        if self.registered:
            raise AlreadyRegistered(f"department {self.code!r} is already registered")
        self._record(DepartmentRegistered(self.code, name, name_zh))

    def set_categories(self, categories: Iterable[str]) -> None:
        """Set the ticket categories the department keeps (the whole set; same set is a no-op)."""
        if not self.registered:
            raise NotRegistered(f"department {self.code!r} is not registered; register it first")
        wanted = tuple(sorted(set(categories)))
        if wanted != self.categories:
            self._record(DepartmentCategoriesSet(self.code, wanted))

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, DepartmentRegistered):
            self.name, self.name_zh = event.name, event.name_zh
        elif isinstance(event, DepartmentCategoriesSet):
            self.categories = event.categories
