"""The grid service's typed errors: each message says what was wrong and what to do."""
from __future__ import annotations

from onegrid.domain import DomainError


class GridError(DomainError):
    """Base of every error the grid service raises on a refused command."""

    code = "grid_error"


class AlreadyRegistered(GridError):
    """A street, community, grid, department or worker with this id already exists."""

    code = "already_registered"


class NotRegistered(GridError):
    """The aggregate has not been registered yet, so it cannot take this command."""

    code = "not_registered"


class UnknownGrid(GridError):
    code = "unknown_grid"


class UnknownWorker(GridError):
    code = "unknown_worker"


class WorkerHasLeft(GridError):
    code = "worker_has_left"


class InvalidPost(GridError):
    code = "invalid_post"


class PostTaken(GridError):
    code = "post_taken"


class NotPosted(GridError):
    code = "not_posted"


class LeaveClash(GridError):
    """A and B of one grid would both be on leave on the same day."""

    code = "leave_clash"


class InvalidGridKind(GridError):
    code = "invalid_grid_kind"


class InvalidBoundary(GridError):
    """A boundary ring is not a closed, valid polygon (or lies outside its parent)."""

    code = "invalid_boundary"


class BoundaryOutsideParent(InvalidBoundary):
    code = "boundary_outside_parent"


class OverlappingGrid(InvalidBoundary):
    code = "overlapping_grid"


class InvalidLocation(GridError):
    code = "invalid_location"


class PatrolNotStarted(GridError):
    code = "patrol_not_started"


class PatrolAlreadyStarted(GridError):
    code = "patrol_already_started"


class PatrolAlreadyFinished(GridError):
    code = "patrol_already_finished"


class InvalidDecision(GridError):
    code = "invalid_decision"


class InvalidInput(GridError):
    """A command's input failed its schema; ``errors`` maps each bad field to its reasons."""

    code = "invalid_input"

    def __init__(self, errors: dict):
        self.errors = errors
        parts = []
        for field, reasons in sorted(errors.items()):
            if isinstance(reasons, dict):
                reasons = [f"{k}: {v}" for k, v in reasons.items()]
            elif not isinstance(reasons, (list, tuple)):
                reasons = [reasons]
            parts.append(f"{field}: {' '.join(str(r) for r in reasons)}")
        super().__init__("invalid input: " + "; ".join(parts))
