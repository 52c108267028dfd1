"""The performance service's typed errors: each says what went wrong and what to do.

Each derives from the kernel base that says what kind of refusal it is (``onegrid.errors``):
a value the rules refuse is an ``InvalidInput`` naming its field, a clash with what is
recorded a ``Conflict``, something not there a ``NotFound``.
"""
from __future__ import annotations

from onegrid.errors import Conflict, DomainError, InvalidInput, NotFound


class PerformanceError(DomainError):
    """Base of every performance error."""

    code = "performance_error"


class InvalidValue(PerformanceError, InvalidInput):
    """One value refused by a rule of the domain; ``field`` names where it came from."""

    code = "invalid_value"
    field = "_schema"

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__({self.field: [reason]})


class InvalidPolicy(InvalidValue):
    """A pay policy that cannot be used as given."""

    code = "invalid_policy"


class WeightsDoNotSumToHundred(InvalidPolicy):
    code = "weights_do_not_sum_to_100"
    field = "weights"


class BandsOutOfOrder(InvalidPolicy):
    code = "bands_out_of_order"
    field = "bands"


class InvalidShare(InvalidPolicy):
    code = "invalid_share"
    field = "annual_share"


class InvalidPeriod(InvalidValue):
    code = "invalid_period"
    field = "period"


class InvalidScore(InvalidValue):
    code = "invalid_score"
    field = "score"


class CorrectionNeedsReason(InvalidValue):
    code = "correction_needs_reason"
    field = "reason"


class PolicyMissing(PerformanceError, Conflict):
    code = "policy_missing"


class PolicyVersionConflict(PerformanceError, Conflict):
    code = "policy_version_conflict"


class PolicyForClosedPeriod(PerformanceError, Conflict):
    code = "policy_for_closed_period"


class UnknownPostLevel(PerformanceError, Conflict):
    """The policy in force has no pay standard for a worker's post level."""

    code = "unknown_post_level"


class PeriodNotEnded(PerformanceError, Conflict):
    code = "period_not_ended"


class PeriodNotClosed(PerformanceError, Conflict):
    code = "period_not_closed"


class YearNotReady(PerformanceError, Conflict):
    code = "year_not_ready"


class AssessmentAlreadyRecorded(PerformanceError, Conflict):
    code = "assessment_already_recorded"


class AssessmentNotFound(PerformanceError, NotFound):
    code = "assessment_not_found"


class WorkerNotInPeriod(PerformanceError, NotFound):
    code = "worker_not_in_period"


class UnknownWorker(PerformanceError, NotFound):
    """No worker of this id was enrolled by the grid service (grid's error has the same code)."""

    code = "unknown_worker"


class UnknownGrid(PerformanceError, NotFound):
    """A grid's GridDrawn has not reached this service yet."""

    code = "unknown_grid"
