"""The performance service's typed errors: each says what went wrong and what to do."""
from __future__ import annotations

from onegrid.domain import DomainError


class PerformanceError(DomainError):
    """Base of every performance error."""

    code = "performance_error"


class InvalidPolicy(PerformanceError):
    """A pay policy that cannot be used as given."""

    code = "invalid_policy"


class WeightsDoNotSumToHundred(InvalidPolicy):
    code = "weights_do_not_sum_to_100"


class BandsOutOfOrder(InvalidPolicy):
    code = "bands_out_of_order"


class InvalidShare(InvalidPolicy):
    code = "invalid_share"


class PolicyMissing(PerformanceError):
    code = "policy_missing"


class PolicyVersionConflict(PerformanceError):
    code = "policy_version_conflict"


class PolicyForClosedPeriod(PerformanceError):
    code = "policy_for_closed_period"


class UnknownPostLevel(PerformanceError):
    code = "unknown_post_level"


class InvalidPeriod(PerformanceError):
    code = "invalid_period"


class PeriodNotEnded(PerformanceError):
    code = "period_not_ended"


class PeriodNotClosed(PerformanceError):
    code = "period_not_closed"


class YearNotReady(PerformanceError):
    code = "year_not_ready"


class InvalidScore(PerformanceError):
    code = "invalid_score"


class InvalidInput(PerformanceError):
    code = "invalid_input"


class AssessmentAlreadyRecorded(PerformanceError):
    code = "assessment_already_recorded"


class AssessmentNotFound(PerformanceError):
    code = "assessment_not_found"


class CorrectionNeedsReason(PerformanceError):
    code = "correction_needs_reason"


class WorkerNotInPeriod(PerformanceError):
    code = "worker_not_in_period"
