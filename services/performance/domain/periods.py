"""Quarters and years: the periods performance pay is graded and paid for."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re

from .errors import InvalidPeriod

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


@dataclasses.dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter, written ``2026Q3``."""

    year: int
    number: int

    def __post_init__(self):
        if not 1 <= self.number <= 4 or not 1900 <= self.year <= 9999:
            raise InvalidPeriod(f"no such quarter: {self.year}Q{self.number}")

    @classmethod
    def parse(cls, text: "str | Quarter") -> "Quarter":
        """Read ``2026Q3``; raise InvalidPeriod for anything else."""
        if isinstance(text, Quarter):
            return text
        match = _QUARTER.match(str(text).strip())
        if not match:
            raise InvalidPeriod(f"a quarter is written like 2026Q3, got {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: dt.date) -> "Quarter":
        """The quarter a calendar day falls in."""
        return cls(day.year, (day.month - 1) // 3 + 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, 3 * self.number - 2, 1)

    @property
    def last_day(self) -> dt.date:
        return self.next().first_day - dt.timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def next(self) -> "Quarter":
        if self.number == 4:
            return Quarter(self.year + 1, 1)
        return Quarter(self.year, self.number + 1)


def quarters_of(year: int) -> tuple[Quarter, ...]:
    """The four quarters of a year, in order."""
    return tuple(Quarter(year, n) for n in (1, 2, 3, 4))


def days_in_year(year: int) -> int:
    return (dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days


def parse_period(text: str) -> "Quarter | int":
    """Read a period: ``2026Q3`` is a quarter, ``2026`` a year."""
    text = str(text).strip()
    if re.fullmatch(r"\d{4}", text):
        return int(text)
    return Quarter.parse(text)
