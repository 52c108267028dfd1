"""Patrol windows as data, and which (grid, day, window) a timer must mark missed."""
from __future__ import annotations

import datetime as dt

import pytest

from onegrid.testing import CST
from services.grid.context import load_schedule
from services.grid.domain import PatrolRound
from services.grid.domain.patrol_schedule import PatrolRecord, PatrolSchedule, missed_windows

DAY = dt.date(2024, 5, 6)
SCHEDULE = load_schedule()


def at(hour, minute=0, day=DAY):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=CST)


def test_the_default_schedule_has_a_morning_and_an_afternoon_window():
    assert [w.name for w in SCHEDULE.windows] == ["morning", "afternoon"]
    assert SCHEDULE.window_at(at(9)) == (DAY, "morning")
    assert SCHEDULE.window_at(at(13)) == (DAY, None)
    assert SCHEDULE.window_at(at(12)) == (DAY, None)  # the end is exclusive


def test_a_patrol_time_in_utc_counts_in_local_time():
    assert SCHEDULE.window_at(dt.datetime(2024, 5, 6, 1, 30, tzinfo=dt.timezone.utc)) == (DAY, "morning")


@pytest.mark.parametrize("now, patrols, expected", [
    (at(11, 59), [], []),
    (at(12), [], [("g1", DAY, "morning"), ("g2", DAY, "morning")]),
    (at(12), [PatrolRecord("g1", at(9))], [("g2", DAY, "morning")]),
    (at(18), [PatrolRecord("g1", at(9)), PatrolRecord("g2", at(10)), PatrolRecord("g2", at(15))],
     [("g1", DAY, "afternoon")]),
    (at(18), [PatrolRecord("g1", at(13)), PatrolRecord("g2", at(13))],
     [("g1", DAY, "morning"), ("g2", DAY, "morning"), ("g1", DAY, "afternoon"),
      ("g2", DAY, "afternoon")]),
    (at(12), [PatrolRecord("g1", at(9), outside_grid=True), PatrolRecord("g2", at(9))], []),
], ids=["nothing is missed before the morning window closes",
        "both grids missed the morning when nobody patrolled",
        "a patrol in the window covers its grid",
        "each window needs its own patrol",
        "a patrol between windows counts for neither",
        "a flagged patrol outside its grid still counts by default"])
def test_missed_windows(now, patrols, expected):
    assert missed_windows(["g2", "g1"], patrols, SCHEDULE, now, since=DAY) == expected


def test_a_window_already_recorded_is_not_listed_again():
    first = missed_windows(["g1"], [], SCHEDULE, at(18), since=DAY)
    assert missed_windows(["g1"], [], SCHEDULE, at(18), since=DAY, already_recorded=first) == []


def test_missed_windows_cover_every_day_since_and_only_closed_windows():
    result = missed_windows(["g1"], [], SCHEDULE, at(13, day=DAY + dt.timedelta(days=1)), since=DAY)
    assert result == [("g1", DAY, "morning"), ("g1", DAY, "afternoon"),
                      ("g1", DAY + dt.timedelta(days=1), "morning")]


def test_windows_are_configurable_and_flagged_patrols_can_be_made_not_to_count():
    schedule = PatrolSchedule.from_dict({"utc_offset": "+08:00", "flagged_patrols_count": False,
                                         "windows": [{"name": "evening", "start": "19:00", "end": "21:00"}]})
    patrols = [PatrolRecord("g1", at(19, 30), outside_grid=True)]
    assert missed_windows(["g1"], patrols, schedule, at(21), since=DAY) == [("g1", DAY, "evening")]


def test_overlapping_windows_are_refused():
    with pytest.raises(ValueError, match="overlap"):
        PatrolSchedule.from_dict({"windows": [{"name": "a", "start": "08:00", "end": "12:00"},
                                              {"name": "b", "start": "11:00", "end": "13:00"}]})


def test_two_timer_replicas_record_patrol_missed_once():
    """Both replicas see the same missed window; the round stream lets only the first in."""
    store: dict[str, list] = {}
    for _replica in range(2):
        for grid, day, window in missed_windows(["g1"], [], SCHEDULE, at(12), since=DAY):
            stream = PatrolRound.stream_id(grid, day, window)
            patrol_round = PatrolRound.rehydrate(stream, store.get(stream, []))
            patrol_round.record_missed(grid, day, window)
            store.setdefault(stream, []).extend(patrol_round.collect())
    assert [len(events) for events in store.values()] == [1]
