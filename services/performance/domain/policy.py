"""The pay policy as data: one validated, immutable record per street office and version.

A policy takes effect from a quarter and stays in force until a later version takes effect,
so a closed quarter can always be recomputed under the policy it was closed with.
Percentages and coefficients are Decimal, money is integer fen (分); floats are refused.
"""
from __future__ import annotations

import dataclasses
import enum
from decimal import Decimal
from typing import Iterable, Mapping

from .errors import (
    BandsOutOfOrder,
    InvalidPolicy,
    InvalidShare,
    PolicyMissing,
    UnknownPostLevel,
    WeightsDoNotSumToHundred,
)
from .periods import Quarter

HUNDRED = Decimal(100)

#: The components of the quarterly composite score, in the order they are shown.
COMPONENTS = ("third_party", "closure", "on_time", "satisfaction", "patrol", "workload")

#: Example annual pay standards per post level, in fen (96,000 / 84,000 / 72,000 yuan).
DEFAULT_PAY_STANDARDS = {"senior": 9_600_000, "standard": 8_400_000, "junior": 7_200_000}


class Mode(str, enum.Enum):
    """How pay is worked out from pools and coefficients."""

    STANDARD = "standard"  # pay = pool × coefficient
    BUDGET_NEUTRAL = "budget_neutral"  # the street's pools shared by pool × coefficient


def _decimal(name: str, value) -> Decimal:
    if isinstance(value, float) or isinstance(value, bool):
        raise InvalidPolicy(f"{name} must be a Decimal, an int or a string, not {value!r}")
    try:
        result = Decimal(value)
    except Exception:
        raise InvalidPolicy(f"{name} is not a number: {value!r}") from None
    if not result.is_finite():
        raise InvalidPolicy(f"{name} must be a finite number, got {value!r}")
    return result


@dataclasses.dataclass(frozen=True)
class Weights:
    """Weights of the composite's components, in percent; they must sum to 100."""

    third_party: Decimal = Decimal(50)
    closure: Decimal = Decimal(10)
    on_time: Decimal = Decimal(10)
    satisfaction: Decimal = Decimal(10)
    patrol: Decimal = Decimal(10)
    workload: Decimal = Decimal(10)

    def __post_init__(self):
        for name in COMPONENTS:
            value = _decimal(f"weight {name}", getattr(self, name))
            if value < 0:
                raise InvalidPolicy(f"weight {name} must not be negative, got {value}")
            object.__setattr__(self, name, value)
        if self.total != HUNDRED:
            raise WeightsDoNotSumToHundred(
                f"the weights must sum to 100, they sum to {self.total}: "
                + ", ".join(f"{n}={getattr(self, n)}" for n in COMPONENTS)
            )

    @property
    def total(self) -> Decimal:
        return sum((getattr(self, n) for n in COMPONENTS), Decimal(0))

    def as_dict(self) -> dict[str, Decimal]:
        return {n: getattr(self, n) for n in COMPONENTS}


@dataclasses.dataclass(frozen=True)
class Band:
    """A grade band: a composite of at least ``min_score`` earns ``coefficient``."""

    grade: str
    min_score: Decimal
    coefficient: Decimal

    def __post_init__(self):
        object.__setattr__(self, "min_score", _decimal(f"{self.grade} min_score", self.min_score))
        object.__setattr__(self, "coefficient", _decimal(f"{self.grade} coefficient", self.coefficient))
        if not self.grade:
            raise InvalidPolicy("a band needs a grade name")
        if not 0 <= self.min_score <= HUNDRED:
            raise InvalidPolicy(f"band {self.grade}: min_score must be 0–100, got {self.min_score}")
        if self.coefficient < 0:
            raise InvalidPolicy(f"band {self.grade}: coefficient must not be negative")


#: excellent 优秀 ≥ 90 → 1.2; good 良好 ≥ 80 → 1.0; pass 合格 ≥ 60 → 0.8; fail 不合格 < 60 → 0.
DEFAULT_BANDS = (
    Band("excellent", Decimal(90), Decimal("1.2")),
    Band("good", Decimal(80), Decimal("1.0")),
    Band("pass", Decimal(60), Decimal("0.8")),
    Band("fail", Decimal(0), Decimal(0)),
)


@dataclasses.dataclass(frozen=True)
class PayPolicy:
    """One version of a street office's pay policy, in force from ``effective_from``."""

    street: str
    version: int
    effective_from: Quarter
    pay_standards: tuple[tuple[str, int], ...] = tuple(DEFAULT_PAY_STANDARDS.items())
    performance_share: Decimal = Decimal("0.40")
    quarterly_share: Decimal = Decimal("0.70")
    annual_share: Decimal = Decimal("0.30")
    weights: Weights = Weights()
    bands: tuple[Band, ...] = DEFAULT_BANDS
    mode: Mode = Mode.STANDARD
    #: a year with a failed quarter is graded no better than this band
    annual_cap_on_fail: str = "pass"

    def __post_init__(self):
        if not self.street:
            raise InvalidPolicy("a policy needs a street office")
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise InvalidPolicy(f"policy version must be a positive integer, got {self.version!r}")
        object.__setattr__(self, "effective_from", Quarter.parse(self.effective_from))
        object.__setattr__(self, "mode", Mode(self.mode))
        standards = self.pay_standards
        if isinstance(standards, Mapping):
            standards = standards.items()
        standards = tuple(sorted((str(k), v) for k, v in standards))
        if not standards:
            raise InvalidPolicy("a policy needs the annual pay standard of at least one post level")
        for level, fen in standards:
            if isinstance(fen, bool) or not isinstance(fen, int) or fen <= 0:
                raise InvalidPolicy(f"pay standard of {level!r} must be a positive integer of fen, got {fen!r}")
        if len({level for level, _ in standards}) != len(standards):
            raise InvalidPolicy("each post level may have only one pay standard")
        object.__setattr__(self, "pay_standards", standards)
        for name in ("performance_share", "quarterly_share", "annual_share"):
            value = _decimal(name, getattr(self, name))
            if not 0 <= value <= 1:
                raise InvalidShare(f"{name} must be between 0 and 1, got {value}")
            object.__setattr__(self, name, value)
        if self.quarterly_share + self.annual_share != 1:
            raise InvalidShare(
                f"quarterly_share + annual_share must be 1, got {self.quarterly_share} + {self.annual_share}"
            )
        if isinstance(self.weights, Mapping):
            object.__setattr__(self, "weights", Weights(**self.weights))
        bands = tuple(b if isinstance(b, Band) else Band(*b) for b in self.bands)
        object.__setattr__(self, "bands", bands)
        self._check_bands()

    def _check_bands(self) -> None:
        bands = self.bands
        if not bands:
            raise BandsOutOfOrder("a policy needs at least one grade band")
        if len({b.grade for b in bands}) != len(bands):
            raise BandsOutOfOrder("grade names must be unique")
        for higher, lower in zip(bands, bands[1:]):
            if not higher.min_score > lower.min_score:
                raise BandsOutOfOrder(
                    f"bands go from best to worst with falling thresholds: "
                    f"{higher.grade} ≥ {higher.min_score} must be above {lower.grade} ≥ {lower.min_score}"
                )
            if higher.coefficient < lower.coefficient:
                raise BandsOutOfOrder(
                    f"a better grade may not pay less: {higher.grade} {higher.coefficient} < "
                    f"{lower.grade} {lower.coefficient}"
                )
        if bands[-1].min_score != 0:
            raise BandsOutOfOrder(f"the lowest band must start at 0 so every score has a grade, "
                                  f"{bands[-1].grade} starts at {bands[-1].min_score}")
        if self.annual_cap_on_fail not in {b.grade for b in bands}:
            raise BandsOutOfOrder(f"annual_cap_on_fail names no band: {self.annual_cap_on_fail!r}")

    # -- reading the policy -------------------------------------------------------------

    def standard_for(self, post_level: str) -> int:
        """The annual pay standard of a post level, in fen."""
        for level, fen in self.pay_standards:
            if level == post_level:
                return fen
        raise UnknownPostLevel(
            f"policy v{self.version} of {self.street} has no pay standard for post level "
            f"{post_level!r}; known levels: {', '.join(l for l, _ in self.pay_standards)}"
        )

    @property
    def quarterly_pool_share(self) -> Decimal:
        """Share of the annual standard in one quarter's pool: 40% × 70% ÷ 4 = 0.07."""
        return self.performance_share * self.quarterly_share / 4

    @property
    def annual_pool_share(self) -> Decimal:
        """Share of the annual standard in the annual part: 40% × 30% = 0.12."""
        return self.performance_share * self.annual_share

    @property
    def fail_band(self) -> Band:
        """The lowest band ("fail" by default)."""
        return self.bands[-1]

    def band_for(self, score: Decimal | None) -> Band:
        """The band a composite score falls in (no score at all is the lowest band)."""
        if score is None:
            return self.fail_band
        for band in self.bands:
            if score >= band.min_score:
                return band
        return self.fail_band

    def band_named(self, grade: str) -> Band:
        for band in self.bands:
            if band.grade == grade:
                return band
        raise InvalidPolicy(f"policy v{self.version} of {self.street} has no grade {grade!r}")

    def rank(self, grade: str) -> int:
        """0 for the best band, larger for worse ones."""
        return [b.grade for b in self.bands].index(grade)


def default_policy(street: str, effective_from: Quarter | str, version: int = 1, **changes) -> PayPolicy:
    """The issue's default policy for a street office, with any field changed."""
    return PayPolicy(street=street, version=version, effective_from=Quarter.parse(effective_from), **changes)


def policy_in_force(policies: Iterable[PayPolicy], quarter: Quarter) -> PayPolicy:
    """The policy in force in a quarter: the newest version effective on or before it.

    A new version governs every quarter from its ``effective_from`` on, so the newest
    version wins even over an older one that took effect later.
    """
    candidates = [p for p in policies if p.effective_from <= quarter]
    if not candidates:
        raise PolicyMissing(f"no pay policy is in force in {quarter}; set one with set_policy first")
    return max(candidates, key=lambda p: p.version)
