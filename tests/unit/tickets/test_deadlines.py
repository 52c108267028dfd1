"""Deadlines from the category's class and the working-day calendar (data files)."""
from __future__ import annotations

import datetime as dt

import pytest

from onegrid.testing import CST
from services.tickets.domain import Calendar, DeadlineClass, UnknownCategory, deadline_for
from services.tickets.policy import load_calendar, load_catalogue

CAL = load_calendar()
CATALOGUE = load_catalogue()


def shanghai(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CST)


def due(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T23:59:59+08:00")


def test_the_catalogue_is_realistic_and_every_department_is_one_of_the_fourteen():
    assert 30 <= len(CATALOGUE) <= 50
    assert {category.deadline_class for category in CATALOGUE.values()} == set(DeadlineClass)
    assert len({category.department for category in CATALOGUE.values()}) == 14


def test_an_unknown_category_code_is_a_typed_error():
    with pytest.raises(UnknownCategory, match="no category 'karaoke'"):
        CATALOGUE["karaoke"]


def test_the_2026_calendar_knows_the_spring_festival_and_its_make_up_saturdays():
    assert not CAL.is_working_day(dt.date(2026, 2, 17))   # lunar new year's day
    assert CAL.is_working_day(dt.date(2026, 2, 14))       # Saturday worked (调休)
    assert CAL.is_working_day(dt.date(2026, 3, 2))        # an ordinary Monday
    assert not CAL.is_working_day(dt.date(2026, 3, 7))    # an ordinary Saturday


def test_a_year_without_data_falls_back_to_plain_weekends():
    assert 2030 not in CAL.years
    assert CAL.is_working_day(dt.date(2030, 1, 1))        # a Tuesday, holiday unknown
    assert not CAL.is_working_day(dt.date(2030, 1, 5))    # a Saturday


@pytest.mark.parametrize("category, opened, deadline", [
    # emergency: the end of the same day, even on a Sunday or a holiday
    ("gas_leak", shanghai(2026, 3, 8, 22, 30), due("2026-03-08")),
    ("gas_leak", shanghai(2026, 10, 1, 0, 5), due("2026-10-01")),
    # consultation: 3 working days after the opening day, which never counts
    ("legal_advice", shanghai(2026, 3, 2, 9), due("2026-03-05")),
    ("legal_advice", shanghai(2026, 3, 2, 23, 59), due("2026-03-05")),
    ("legal_advice", shanghai(2026, 3, 6, 9), due("2026-03-11")),       # over a weekend
    ("legal_advice", shanghai(2026, 3, 7, 9), due("2026-03-11")),       # opened on Saturday
    ("legal_advice", shanghai(2026, 9, 30, 10), due("2026-10-10")),     # National Day + 调休
    ("legal_advice", shanghai(2026, 2, 12, 10), due("2026-02-24")),     # Spring Festival
    # complaint: 13 working days
    ("noise_nuisance", shanghai(2026, 3, 3, 14), due("2026-03-20")),
    ("noise_nuisance", shanghai(2026, 4, 28, 9), due("2026-05-19")),    # Labour Day + 调休
])
def test_the_deadline_follows_the_class_and_the_calendar(category, opened, deadline):
    assert deadline_for(CATALOGUE[category], opened, CAL) == deadline


def test_the_day_is_counted_in_shanghai_whatever_the_offset_of_the_input():
    # 17:00 UTC on 1 March is 01:00 on 2 March in Nanjing
    opened = dt.datetime(2026, 3, 1, 17, tzinfo=dt.timezone.utc)
    assert deadline_for(DeadlineClass.EMERGENCY, opened, CAL) == due("2026-03-02")


def test_a_plain_calendar_counts_weekdays():
    assert Calendar().add_working_days(dt.date(2026, 1, 1), 1) == dt.date(2026, 1, 2)
    assert CAL.add_working_days(dt.date(2026, 1, 1), 1) == dt.date(2026, 1, 4)  # Sunday worked
