"""Deadlines from a category's deadline class and a working-day calendar — both data.

Rules (days counted in Asia/Shanghai): an emergency is due by the end of the day it was
opened; consultation or help by the end of the 3rd working day after the opening day;
complaint, report or suggestion by the end of the 13th. "End of day" is 23:59:59.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Iterable, Mapping

from onegrid.domain import LOCAL_TZ

from .errors import InvalidTicketCommand, UnknownCategory
from .events import DeadlineClass

END_OF_DAY = dt.time(23, 59, 59)

# Working days granted per deadline class (0: the same calendar day, working or not).
WORKING_DAYS: Mapping[DeadlineClass, int] = {
    DeadlineClass.EMERGENCY: 0,
    DeadlineClass.CONSULTATION: 3,
    DeadlineClass.COMPLAINT: 13,
}


@dataclasses.dataclass(frozen=True)
class Category:
    """One entry of the category catalogue (services/tickets/data/categories.json)."""

    code: str
    name: str
    department: str
    deadline_class: DeadlineClass

    @classmethod
    def from_dict(cls, data: Mapping) -> "Category":
        return cls(code=data["code"], name=data["name"], department=data["department"],
                   deadline_class=DeadlineClass(data["deadline_class"]))


class Catalogue(dict):
    """Categories by code; ``catalogue[code]`` raises UnknownCategory for a missing code."""

    @classmethod
    def of(cls, categories: Iterable[Category]) -> "Catalogue":
        return cls((category.code, category) for category in categories)

    def __missing__(self, code: str):
        raise UnknownCategory(code)


@dataclasses.dataclass(frozen=True)
class Calendar:
    """Working days: Monday–Friday, minus public holidays, plus make-up working days (调休).

    A date in a year the data does not cover falls back to the plain weekday rule.
    """

    holidays: frozenset[dt.date] = frozenset()
    makeup_workdays: frozenset[dt.date] = frozenset()
    years: frozenset[int] = frozenset()

    @classmethod
    def from_dicts(cls, *documents: Mapping) -> "Calendar":
        """Merge calendar documents ({"year", "holidays": [{"date"...}], "makeup_workdays"})."""
        holidays, makeups, years = set(), set(), set()
        for document in documents:
            years.add(int(document["year"]))
            holidays.update(dt.date.fromisoformat(day["date"]) for day in document["holidays"])
            makeups.update(
                dt.date.fromisoformat(day["date"]) for day in document["makeup_workdays"])
        return cls(frozenset(holidays), frozenset(makeups), frozenset(years))

    def is_working_day(self, day: dt.date) -> bool:
        """Tell whether ``day`` is a working day."""
        if day in self.makeup_workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add_working_days(self, day: dt.date, count: int) -> dt.date:
        """Return the ``count``-th working day after ``day`` (``day`` itself never counts)."""
        while count > 0:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                count -= 1
        return day


def local_date(moment: dt.datetime) -> dt.date:
    """Return the Asia/Shanghai calendar date of an aware datetime."""
    require_aware("at", moment)
    return moment.astimezone(LOCAL_TZ).date()


def end_of_day(day: dt.date) -> dt.datetime:
    """Return 23:59:59 Asia/Shanghai on ``day``."""
    return dt.datetime.combine(day, END_OF_DAY, tzinfo=LOCAL_TZ)


def deadline_for(category: Category | DeadlineClass | str, opened_at: dt.datetime,
                 calendar: Calendar) -> dt.datetime:
    """Return the deadline of a ticket of ``category`` (or a deadline class) opened then."""
    deadline_class = DeadlineClass(
        category.deadline_class if isinstance(category, Category) else category)
    day = calendar.add_working_days(local_date(opened_at), WORKING_DAYS[deadline_class])
    return end_of_day(day)


def require_aware(name: str, value: dt.datetime) -> None:
    """Refuse a naive datetime (every time in this domain is timezone-aware)."""
    if not isinstance(value, dt.datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidTicketCommand(f"{name} must be a timezone-aware datetime, got {value!r}")
