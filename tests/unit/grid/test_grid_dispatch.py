"""Who handles a ticket: the dispatch rule, one row per case, each named by a sentence."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from services.grid.context import RULE_PATH, load_rule
from services.grid.domain.dispatch_rule import (DispatchRule, GridFacts, Snapshot, TicketFacts,
                                                decide, kept_categories)
from services.grid.domain import TicketDispatch

DAY = dt.date(2024, 5, 6)
RULE = load_rule()

GRIDS = {
    "g1": GridFacts("g1", "c1", "s1", post_a="wa", post_b="wb"),
    "g2": GridFacts("g2", "c1", "s1", post_a="wc", post_b=None),
    "g3": GridFacts("g3", "c2", "s1", post_a=None, post_b=None),
}
POINTS = {(32.001, 118.701): "g1", (32.002, 118.712): "g2"}


def view(off=(), open_tickets=None, workers=("wa", "wb", "wc", "wd"), **overrides):
    base = dict(
        grids=GRIDS,
        designated_grids={"c1": "g2", "c2": "g3"},
        community_streets={"c1": "s1", "c2": "s1", "c9": "s9"},
        kept_categories=kept_categories({"fire_protection": ["fire_hazard"]}),
        workers_by_community={"c1": list(workers), "c2": []},
        off_duty={(w, DAY) for w in off},
        open_ticket_counts=open_tickets or {},
        locator=lambda lat, lng: POINTS.get((lat, lng)),
        street_locator=lambda lat, lng: "s7" if lng > 118.0 else None,
    )
    base.update(overrides)
    return Snapshot(**base)


def ticket(**kw):
    return TicketFacts(**{"ticket_id": "t1", "ticket_version": 1, "category_code": "noise",
                          "day": DAY, **kw})


@dataclasses.dataclass
class Case:
    sentence: str
    ticket: TicketFacts
    view: Snapshot
    kind: str
    assignee: str
    step: str
    grid: str | None = None
    words: str = ""


CASES = [
    Case("a_post_takes_the_ticket_of_its_grid_when_on_duty",
         ticket(grid_code="g1"), view(), "worker", "wa", "post_a", "g1", "A post wa of grid g1 is on duty"),
    Case("b_post_takes_the_ticket_when_a_post_is_on_leave",
         ticket(grid_code="g1"), view(off=["wa"]), "worker", "wb", "post_b", "g1", "wa is off duty"),
    Case("b_post_takes_the_ticket_when_a_post_returned_it",
         ticket(grid_code="g1", ticket_version=3, exclude_workers=frozenset({"wa"})), view(),
         "worker", "wb", "post_b", "g1", "wa is excluded"),
    Case("least_loaded_community_worker_takes_it_when_a_and_b_are_away",
         ticket(grid_code="g1"), view(off=["wa", "wb"], open_tickets={"wc": 5, "wd": 2}),
         "worker", "wd", "community_least_loaded", "g1", "fewest open tickets (2)"),
    Case("least_loaded_tie_goes_to_the_lowest_worker_id",
         ticket(grid_code="g1"), view(off=["wa", "wb"], open_tickets={"wc": 2, "wd": 2}),
         "worker", "wc", "community_least_loaded", "g1"),
    Case("least_loaded_step_is_used_when_the_grid_has_no_b_post",
         ticket(grid_code="g2"), view(off=["wc"], open_tickets={"wa": 1}),
         "worker", "wb", "community_least_loaded", "g2", "B post of grid g2: vacant"),
    Case("street_office_takes_it_when_nobody_in_the_community_is_on_duty",
         ticket(grid_code="g3"), view(), "street", "s1", "street_office_nobody_on_duty", "g3",
         "no worker of community c2 is on duty"),
    Case("location_finds_the_grid_when_the_ticket_names_none",
         ticket(lat=32.002, lng=118.712), view(), "worker", "wc", "post_a", "g2",
         "location (32.002, 118.712) lies in grid g2"),
    Case("grid_code_wins_over_location",
         ticket(grid_code="g1", lat=32.002, lng=118.712), view(), "worker", "wa", "post_a", "g1"),
    Case("an_unknown_grid_code_falls_back_to_the_location",
         ticket(grid_code="g404", lat=32.001, lng=118.701), view(), "worker", "wa", "post_a", "g1",
         "grid g404 is unknown"),
    Case("community_designated_grid_takes_a_ticket_without_code_or_location",
         ticket(community_code="c1"), view(), "worker", "wc", "post_a", "g2",
         "community c1, whose designated grid is g2"),
    Case("a_location_outside_every_grid_falls_back_to_the_community_designated_grid",
         ticket(lat=31.5, lng=118.5, community_code="c1"), view(), "worker", "wc", "post_a", "g2",
         "lies in no grid"),
    Case("street_office_takes_a_ticket_outside_every_grid",
         ticket(lat=31.5, lng=118.5, street_code="s1"), view(), "street", "s1", "street_office", None,
         "outside every grid"),
    Case("street_office_is_found_from_the_community_when_the_ticket_names_no_street",
         ticket(community_code="c9"), view(), "street", "s9", "street_office"),
    Case("street_office_is_found_from_the_location_when_nothing_else_is_known",
         ticket(lat=31.5, lng=118.5), view(), "street", "s7", "street_office"),
    Case("district_takes_a_ticket_that_no_street_office_holds",
         ticket(lat=31.5, lng=-70.0), view(), "district", "district", "district"),
    Case("department_keeps_its_own_category_even_inside_a_grid",
         ticket(grid_code="g1", category_code="fire_hazard"), view(), "department",
         "fire_protection", "department_keeps_category", "g1", "kept by department fire_protection"),
    Case("department_keeps_its_own_category_outside_every_grid",
         ticket(lat=31.5, lng=118.5, category_code="fire_hazard"), view(), "department",
         "fire_protection", "department_keeps_category"),
    Case("a_worker_who_left_is_skipped_like_one_on_leave",
         ticket(grid_code="g1", exclude_workers=frozenset({"wa", "wb"})), view(open_tickets={"wd": 1}),
         "worker", "wc", "community_least_loaded", "g1"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.sentence for c in CASES])
def test_dispatch_rule(case):
    decision = decide(case.ticket, case.view, RULE)
    assert (decision.assignee_kind, decision.assignee_id, decision.step) == \
        (case.kind, case.assignee, case.step), decision.reason
    if case.grid is not None:
        assert decision.grid_code == case.grid
    assert case.words in decision.reason
    assert decision.rule_version == 1


def test_b_post_takes_the_ticket_when_a_post_is_on_leave():
    decision = decide(ticket(grid_code="g1"), view(off=["wa"]), RULE)
    assert decision.assignee_id == "wb"
    assert decision.reason == ("the ticket names grid g1; B post wb of grid g1 is on duty "
                               "(A post of grid g1: wa is off duty on 2024-05-06)")


def test_a_decision_records_on_the_ticket_dispatch_stream():
    decision = decide(ticket(grid_code="g1"), view(), RULE)
    record = TicketDispatch(TicketDispatch.stream_id("t1"))
    assert record.decide(**decision.event_fields())
    event = record.collect()[0]
    assert (event.assignee_id, event.step, event.ticket_version) == ("wa", "post_a", 1)


def test_the_rule_is_data_a_workload_cap_on_the_a_post_is_honoured():
    data = json.loads(RULE_PATH.read_text())
    data["assignees"][0]["max_open_tickets"] = 3
    rule = DispatchRule.from_dict(data)
    decision = decide(ticket(grid_code="g1"), view(open_tickets={"wa": 3}), rule)
    assert decision.assignee_id == "wb" and "wa already has 3 open tickets" in decision.reason


def test_the_rule_is_data_steps_can_be_reordered_and_departments_switched_off():
    data = json.loads(RULE_PATH.read_text())
    data["find_grid"] = [data["find_grid"][1], data["find_grid"][0]]
    data["department"]["enabled"] = False
    rule = DispatchRule.from_dict(data)
    decision = decide(ticket(grid_code="g1", lat=32.002, lng=118.712, category_code="fire_hazard"),
                      view(), rule)
    assert (decision.grid_code, decision.assignee_id) == ("g2", "wc")


@pytest.mark.parametrize("path, value, words", [
    (("assignees", 0, "step"), "post_c", "unknown dispatch step 'post_c'"),
    (("find_grid", 0, "step"), "guess", "unknown dispatch step 'guess'"),
    (("assignees", 2, "tie_breaks"), ["seniority"], "unknown tie-break 'seniority'"),
])
def test_a_rule_with_an_unknown_step_or_tie_break_is_refused(path, value, words):
    data = json.loads(RULE_PATH.read_text())
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ValueError, match=words):
        DispatchRule.from_dict(data)


def test_a_category_kept_by_two_departments_is_refused():
    with pytest.raises(ValueError, match="kept by both"):
        kept_categories({"a": ["noise"], "b": ["noise"]})


def test_the_default_rule_loads_from_its_data_file():
    assert load_rule().version == 1
