"""The grid's aggregates: rules of the map, the A/B posts, leave, patrols and dispatch records."""
from __future__ import annotations

import datetime as dt

import pytest

from services.grid.domain import (AlreadyRegistered, BoundaryOutsideParent, Community,
                                  Department, DepartmentCategoriesSet, GridError,
                                  InvalidBoundary, InvalidDecision, InvalidGridKind,
                                  InvalidLocation, InvalidPost, LeaveClash, LeaveGranted,
                                  NotPosted, NotRegistered, OverlappingGrid, Patrol,
                                  PatrolAlreadyFinished, PatrolMissed, PatrolNotStarted,
                                  PatrolRound, PostTaken, ProblemReported, Street,
                                  TicketDispatch, UnknownGrid, UnknownWorker, WorkerHasLeft,
                                  WorkerMoved, WorkerPosted)
from services.grid.geo import SHAPELY

from .helpers import CST, DAY, community_with_grids, square


def replayed(aggregate, events):
    return type(aggregate).rehydrate(aggregate.id, events)


# --- the map ---------------------------------------------------------------------------------

def test_a_street_registers_once():
    street = Street(Street.stream_id("shazhou"))
    street.register("Shazhou", "沙洲", square(118.7, 32.0, 0.05), geometry=SHAPELY)
    with pytest.raises(AlreadyRegistered):
        street.register("Shazhou", "沙洲", square(118.7, 32.0, 0.05), geometry=SHAPELY)


def test_a_street_overlapping_another_street_is_refused():
    street = Street(Street.stream_id("nanyuan"))
    with pytest.raises(OverlappingGrid, match="overlaps shazhou"):
        street.register("Nanyuan", "南苑", square(118.72, 32.0, 0.05), geometry=SHAPELY,
                        siblings={"shazhou": tuple(map(tuple, square(118.7, 32.0, 0.05)))})


def test_a_grid_is_drawn_inside_its_community():
    community = community_with_grids(1)
    community.draw_grid("g9", "dedicated", square(118.73, 32.03), geometry=SHAPELY, purpose="school")
    assert community.grids["g9"].purpose == "school"
    assert community.collect()[0].street_code == "shazhou"


def test_a_grid_sticking_out_of_its_community_is_refused():
    community = community_with_grids(0)
    with pytest.raises(BoundaryOutsideParent, match="outside community shazhou-zhongcheng"):
        community.draw_grid("g1", "comprehensive", square(118.735, 32.0), geometry=SHAPELY)


def test_a_grid_overlapping_another_grid_of_the_community_is_refused():
    community = community_with_grids(1)
    with pytest.raises(OverlappingGrid, match="overlaps g1"):
        community.draw_grid("g2", "comprehensive", square(118.705, 32.0), geometry=SHAPELY)
    assert community.pending == ()


def test_a_grid_touching_its_neighbour_along_an_edge_is_accepted():
    community = community_with_grids(1)
    community.draw_grid("g2", "comprehensive", square(118.71, 32.0), geometry=SHAPELY)
    assert set(community.grids) == {"g1", "g2"}


@pytest.mark.parametrize("boundary, error, words", [
    ([[118.70, 32.00], [118.71, 32.00], [118.71, 32.01], [118.70, 32.01]], InvalidBoundary, "does not close"),
    ([[118.70, 32.00], [118.71, 32.00], [118.70, 32.00]], InvalidBoundary, "at least 4 points"),
    ([[118.70, 32.00], [118.71, 32.01], [118.71, 32.00], [118.70, 32.01], [118.70, 32.00]],
     InvalidBoundary, "not a valid polygon"),
    ([[32.00, 118.70], [32.01, 118.70], [32.01, 118.71], [32.00, 118.70]], InvalidBoundary, "off the globe"),
    ("POLYGON ((118.70 32.00, 118.71 32.00, 118.71 32.01))", InvalidBoundary, "does not close"),
    ("LINESTRING (0 0, 1 1)", InvalidBoundary, "WKT POLYGON"),
], ids=["a ring that does not close", "a ring with too few points", "a ring that crosses itself",
        "a ring with lat and lng swapped", "a WKT ring that does not close", "WKT that is not a polygon"])
def test_a_bad_boundary_is_refused_with_a_reason(boundary, error, words):
    community = community_with_grids(0)
    with pytest.raises(error, match=words):
        community.draw_grid("g1", "comprehensive", boundary, geometry=SHAPELY)


def test_a_grid_needs_a_known_kind_and_a_dedicated_grid_a_purpose():
    community = community_with_grids(0)
    with pytest.raises(InvalidGridKind):
        community.draw_grid("g1", "special", square(118.70, 32.0), geometry=SHAPELY)
    with pytest.raises(InvalidGridKind, match="purpose"):
        community.draw_grid("g1", "dedicated", square(118.70, 32.0), geometry=SHAPELY)


def test_a_community_must_be_registered_before_it_draws_grids():
    with pytest.raises(NotRegistered):
        Community(Community.stream_id("nowhere")).draw_grid("g1", "comprehensive", square(0, 0), geometry=SHAPELY)


def test_the_designated_grid_must_be_a_grid_of_the_community():
    community = community_with_grids(1)
    with pytest.raises(UnknownGrid):
        community.designate_grid("g7")
    community.designate_grid("g1")
    community.designate_grid("g1")
    assert len(community.collect()) == 1


# --- posts -----------------------------------------------------------------------------------

def test_a_grid_takes_one_a_post_and_one_b_post():
    community = community_with_grids(1)
    community.post("wa", "g1", "A")
    community.post("wb", "g1", "B")
    assert (community.holder("g1", "A"), community.holder("g1", "B")) == ("wa", "wb")
    with pytest.raises(PostTaken, match="post B of grid g1 is already held by wb"):
        community.post("wc", "g1", "B")


def test_one_worker_can_be_a_of_one_grid_and_b_of_the_next():
    community = community_with_grids(2)
    community.post("wa", "g1", "A")
    community.post("wa", "g2", "B")
    assert community.posts_of("wa") == [("g1", "A"), ("g2", "B")]


@pytest.mark.parametrize("worker, grid, post, error", [
    ("wz", "g1", "A", UnknownWorker),
    ("wa", "g9", "A", UnknownGrid),
    ("wa", "g1", "C", InvalidPost),
    ("wa", "g1", "B", InvalidPost),    # already A of g1: can't also be its B
    ("wa", "g1", "A", PostTaken),      # already holds it
])
def test_a_bad_posting_is_refused_and_records_nothing(worker, grid, post, error):
    community = community_with_grids(1)
    community.post("wa", "g1", "A")
    community.collect()
    with pytest.raises(error):
        community.post(worker, grid, post)
    assert community.pending == ()


def test_a_worker_moves_to_another_grid_and_frees_the_old_post():
    community = community_with_grids(2)
    community.post("wa", "g1", "A")
    community.move("wa", "g1", "g2", "A")
    assert community.holder("g1", "A") is None and community.holder("g2", "A") == "wa"
    assert community.collect()[-1] == WorkerMoved("wa", "g1", "A", "g2", "A")


def test_a_worker_moves_from_a_to_b_of_the_same_grid():
    community = community_with_grids(1)
    community.post("wa", "g1", "A")
    community.move("wa", "g1", "g1", "B")
    assert community.posts_of("wa") == [("g1", "B")]


def test_a_move_onto_a_taken_post_or_from_no_post_is_refused():
    community = community_with_grids(2)
    community.post("wa", "g1", "A")
    community.post("wb", "g2", "A")
    with pytest.raises(PostTaken):
        community.move("wa", "g1", "g2", "A")
    with pytest.raises(NotPosted):
        community.move("wc", "g1", "g2", "B")


def test_a_worker_who_left_frees_every_post_and_takes_no_new_one():
    community = community_with_grids(2)
    community.post("wa", "g1", "A")
    community.post("wa", "g2", "B")
    community.leave("wa", DAY, "retired")
    assert community.posts_of("wa") == []
    assert not community.is_on_duty("wa", DAY)
    assert community.is_on_duty("wa", DAY - dt.timedelta(days=1))
    with pytest.raises(WorkerHasLeft):
        community.post("wa", "g1", "A")


# --- leave -------------------------------------------------------------------------------------

def test_a_and_b_of_one_grid_cannot_be_on_leave_the_same_day():
    community = community_with_grids(1)
    community.post("wa", "g1", "A")
    community.post("wb", "g1", "B")
    community.grant_leave("wa", DAY)
    with pytest.raises(LeaveClash, match="wa, post A of grid g1, is already on leave"):
        community.grant_leave("wb", DAY)
    community.grant_leave("wb", DAY + dt.timedelta(days=1))
    assert community.on_duty_workers(DAY) == ["wb", "wc"]


def test_leave_asked_twice_is_granted_once():
    community = community_with_grids(1)
    community.grant_leave("wa", DAY)
    community.grant_leave("wa", DAY)
    assert community.collect() == [LeaveGranted("wa", DAY)]


def test_a_worker_on_leave_cannot_be_posted_opposite_a_partner_on_leave_that_day():
    community = community_with_grids(1)
    community.post("wa", "g1", "A")
    community.grant_leave("wa", DAY)
    community.grant_leave("wb", DAY)
    with pytest.raises(LeaveClash):
        community.post("wb", "g1", "B")
    community.post("wb", "g1", "B", today=DAY + dt.timedelta(days=1))


def test_a_replayed_community_equals_the_live_one():
    community = community_with_grids(2)
    community.post("wa", "g1", "A")
    community.post("wb", "g1", "B")
    community.move("wb", "g1", "g2", "A")
    community.grant_leave("wa", DAY)
    community.leave("wc", DAY, "moved away")
    history = [*community_with_grids_events(), *community.collect()]
    again = replayed(community, history)
    assert again.version == len(history)
    assert again.grids == community.grids and again.workers == community.workers


def community_with_grids_events():
    fresh = Community(Community.stream_id("shazhou-zhongcheng"))
    template = community_with_grids(2)
    # rebuild the setup events by running the same commands again
    fresh.register("shazhou", "Zhongcheng", "中城", template.boundary, geometry=SHAPELY)
    for code in template.grids:
        fresh.draw_grid(code, "comprehensive", template.grids[code].boundary, geometry=SHAPELY)
    for worker in template.workers:
        fresh.enroll(worker, worker.upper())
    return fresh.collect()


def test_every_grid_error_is_a_grid_error_with_a_code():
    with pytest.raises(GridError) as caught:
        community_with_grids(1).post("wa", "g1", "Z")
    assert caught.value.to_dict()["error"] == "invalid_post"


# --- departments -------------------------------------------------------------------------------

def test_a_department_sets_its_kept_categories_once_per_change():
    department = Department(Department.stream_id("fire_protection"))
    department.register("Fire protection", "消防")
    department.set_categories(["fire_hazard", "blocked_fire_escape", "fire_hazard"])
    department.set_categories(["blocked_fire_escape", "fire_hazard"])
    events = department.collect()
    assert events[-1] == DepartmentCategoriesSet("fire_protection", ("blocked_fire_escape", "fire_hazard"))
    assert len(events) == 2


# --- patrols -------------------------------------------------------------------------------------

AT = dt.datetime(2024, 5, 6, 9, 0, tzinfo=CST)


def test_a_patrol_starts_reports_a_problem_and_finishes():
    patrol = Patrol(Patrol.stream_id("p1"))
    patrol.start("g1", "wa", AT, 32.005, 118.705, outside_grid=False)
    patrol.report_problem("pr1", AT + dt.timedelta(minutes=5), "road_damage", "pothole", 32.005, 118.705)
    patrol.report_problem("pr1", AT + dt.timedelta(minutes=5), "road_damage", "pothole", 32.005, 118.705)
    patrol.finish(AT + dt.timedelta(hours=1), 32.006, 118.706, outside_grid=False)
    events = patrol.collect()
    assert [type(e).__name__ for e in events] == ["PatrolStarted", "ProblemReported", "PatrolFinished"]
    assert isinstance(events[1], ProblemReported) and events[1].grid_code == "g1"


def test_a_patrol_started_outside_its_grid_is_recorded_but_flagged():
    patrol = Patrol(Patrol.stream_id("p1"))
    patrol.start("g1", "wa", AT, 31.0, 118.0, outside_grid=True)
    assert patrol.collect()[0].outside_grid is True


@pytest.mark.parametrize("action, error", [
    (lambda p: p.finish(AT, 32.0, 118.7, outside_grid=False), PatrolNotStarted),
    (lambda p: p.report_problem("x", AT, "noise", "loud", 32.0, 118.7), PatrolNotStarted),
], ids=["finishing a patrol that never started", "reporting on a patrol that never started"])
def test_a_patrol_out_of_order_is_refused(action, error):
    with pytest.raises(error):
        action(Patrol(Patrol.stream_id("p1")))


def test_a_finished_patrol_takes_no_more_reports_and_bad_points_are_refused():
    patrol = Patrol(Patrol.stream_id("p1"))
    with pytest.raises(InvalidLocation):
        patrol.start("g1", "wa", AT, 95.0, 118.7, outside_grid=False)
    with pytest.raises(InvalidLocation, match="timezone-aware"):
        patrol.start("g1", "wa", AT.replace(tzinfo=None), 32.0, 118.7, outside_grid=False)
    patrol.start("g1", "wa", AT, 32.0, 118.7, outside_grid=False)
    with pytest.raises(InvalidLocation, match="before it started"):
        patrol.finish(AT - dt.timedelta(minutes=1), 32.0, 118.7, outside_grid=False)
    patrol.finish(AT, 32.0, 118.7, outside_grid=False)
    with pytest.raises(PatrolAlreadyFinished):
        patrol.report_problem("x", AT, "noise", "loud", 32.0, 118.7)


def test_a_missed_patrol_is_recorded_once_per_grid_and_window():
    stream = PatrolRound.stream_id("g1", DAY, "morning")
    first = PatrolRound(stream)
    assert first.record_missed("g1", DAY, "morning") is True
    stored = first.collect()
    again = PatrolRound.rehydrate(stream, stored)
    assert again.record_missed("g1", DAY, "morning") is False
    assert again.pending == () and stored == [PatrolMissed("g1", DAY, "morning")]


# --- dispatch records ------------------------------------------------------------------------------

DECISION = dict(ticket_id="t1", assignee_kind="worker", assignee_id="wa", grid_code="g1",
                community_code="c1", street_code="s1", step="post_a", reason="A on duty",
                rule_version=1)


def test_each_opening_of_a_ticket_is_dispatched_once():
    record = TicketDispatch(TicketDispatch.stream_id("t1"))
    assert record.decide(ticket_version=1, **DECISION)
    assert not record.decide(ticket_version=1, **DECISION)  # redelivered TicketOpened
    assert record.decide(ticket_version=4, **DECISION)      # after a TicketReturned
    assert not record.decide(ticket_version=2, **DECISION)  # a stale, late delivery
    assert [e.ticket_version for e in record.collect()] == [1, 4]


def test_a_dispatch_decision_needs_a_known_assignee_kind():
    with pytest.raises(InvalidDecision):
        TicketDispatch(TicketDispatch.stream_id("t1")).decide(ticket_version=1, **{**DECISION, "assignee_kind": "robot"})
