"""The grid service's typed errors: each message says what was wrong and what to do.

Each derives from ``GridError`` and from the kernel's base that says what kind of refusal it
is (``NotFound``, ``Conflict``, ``InvalidInput``), so the gateway maps it without knowing it.
"""
from __future__ import annotations

from onegrid.errors import Conflict, DomainError, InvalidInput, NotFound


class GridError(DomainError):
    """Base of every error the grid service raises on a refused command."""

    code = "grid_error"


class GridInputError(GridError, InvalidInput):
    """Input the schema let through but the domain refuses (a polygon, a time, a kind)."""

    code = "invalid_input"

    def __init__(self, message: str):
        InvalidInput.__init__(self, {"_schema": [message]})


class AlreadyRegistered(GridError, Conflict):
    """A street, community, grid, department or worker with this id already exists."""

    code = "already_registered"


class NotRegistered(GridError, NotFound):
    """The aggregate has not been registered yet, so it cannot take this command."""

    code = "not_registered"


class UnknownGrid(GridError, NotFound):
    code = "unknown_grid"


class UnknownWorker(GridError, NotFound):
    code = "unknown_worker"


class WorkerHasLeft(GridError, Conflict):
    code = "worker_has_left"


class InvalidPost(GridError, Conflict):
    """A posting that clashes with the posts held (the schema already refuses unknown posts)."""

    code = "invalid_post"


class PostTaken(GridError, Conflict):
    code = "post_taken"


class NotPosted(GridError, Conflict):
    code = "not_posted"


class LeaveClash(GridError, Conflict):
    """A and B of one grid would both be on leave on the same day."""

    code = "leave_clash"


class InvalidGridKind(GridInputError):
    code = "invalid_grid_kind"


class InvalidBoundary(GridInputError):
    """A boundary ring is not a closed, valid polygon (or lies outside its parent)."""

    code = "invalid_boundary"


class BoundaryOutsideParent(InvalidBoundary):
    code = "boundary_outside_parent"


class OverlappingGrid(InvalidBoundary):
    code = "overlapping_grid"


class InvalidLocation(GridInputError):
    code = "invalid_location"


class PatrolNotStarted(GridError, Conflict):
    code = "patrol_not_started"


class PatrolAlreadyStarted(GridError, Conflict):
    code = "patrol_already_started"


class PatrolAlreadyFinished(GridError, Conflict):
    code = "patrol_already_finished"


class InvalidDecision(GridError, Conflict):
    """A dispatch decision that contradicts the ticket's dispatch record."""

    code = "invalid_decision"
