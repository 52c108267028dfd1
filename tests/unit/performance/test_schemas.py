"""Boundary schemas: commands name each bad field; every event survives JSON and back."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from services.performance.domain.events import EVENTS
from services.performance.domain.periods import Quarter, quarters_of
from services.performance.domain.policy import PayPolicy
from services.performance.schemas import (
    EVENT_SCHEMAS, RecordAssessmentSchema, SetPolicySchema, dump_event, load_event,
)

from .helpers import STREET, Msg, Office, budget_neutral_policy, example_messages


def every_kind_of_event():
    """A year of the worked example, with a late correction and a leaver: all event types."""
    office = Office(budget_neutral_policy())
    for quarter in quarters_of(2026):
        for msg in example_messages(quarter):
            office.deliver(msg)
        office.close(quarter, dt.date(2027, 1, 2))
    office.street.close_year(2026, dt.date(2027, 1, 2))
    office.deliver(Msg("ledger:w-li/2026Q2", "fix", "assessment",
                       ("w-li-fix", "assessor-hq", Decimal("50.5"), "w-li-a1", "re-marked")))
    office.deliver(Msg("record:w-wang", "left", "leave", (dt.date(2027, 2, 1),)))
    events = office.street.collect()
    for aggregate in [*office.records.values(), *office.ledgers.values()]:
        events += aggregate.collect()
    return events


ALL_EVENTS = every_kind_of_event()


def test_every_event_type_has_a_schema_naming_exactly_its_fields():
    assert set(EVENT_SCHEMAS) == set(EVENTS) == {type(e) for e in ALL_EVENTS}
    for event_class, schema in EVENT_SCHEMAS.items():
        assert {f.name for f in dataclasses.fields(event_class)} == set(schema().fields)


@pytest.mark.parametrize("event_class", EVENTS, ids=lambda c: c.__name__)
def test_every_event_round_trips_through_json(event_class):
    for event in [e for e in ALL_EVENTS if type(e) is event_class]:
        payload = json.loads(json.dumps(dump_event(event)))
        assert load_event(event_class.__name__, payload) == event


def test_decimals_travel_as_strings():
    award = next(e for e in ALL_EVENTS if type(e).__name__ == "QuarterlyGradeAwarded")
    payload = dump_event(award)
    assert isinstance(payload["composite"], str) and isinstance(payload["coefficient"], str)
    assert payload["components"][0][0] == "third_party"


def test_a_valid_assessment_loads():
    data = RecordAssessmentSchema().load({"worker_id": "w-1", "quarter": "2026Q3", "assessor": "x", "score": "88.5"})
    assert data["score"] == Decimal("88.5") and data["supersedes"] is None


def test_a_bad_assessment_names_each_bad_field():
    with pytest.raises(ValidationError) as caught:
        RecordAssessmentSchema().load({"worker_id": "", "quarter": "2026-3", "score": "101"})
    assert set(caught.value.messages) == {"worker_id", "quarter", "score", "assessor"}
    with pytest.raises(ValidationError) as caught:
        RecordAssessmentSchema().load({"worker_id": "w", "quarter": "2026Q3", "assessor": "x",
                                       "score": "5", "supersedes": "a1"})
    assert set(caught.value.messages) == {"reason"}


POLICY = {
    "street": STREET, "version": 2, "effective_from": "2027Q1",
    "pay_standards": {"standard": 8_400_000},
    "weights": {"third_party": "50", "closure": "10", "on_time": "10", "satisfaction": "10",
                "patrol": "10", "workload": "10"},
    "bands": [{"grade": "excellent", "min_score": "90", "coefficient": "1.2"},
              {"grade": "pass", "min_score": "60", "coefficient": "0.8"},
              {"grade": "fail", "min_score": "0", "coefficient": "0"}],
    "mode": "budget_neutral",
}


def test_a_policy_loads_to_a_pay_policy_with_defaults_for_what_is_left_out():
    policy = SetPolicySchema().load(POLICY)
    assert isinstance(policy, PayPolicy)
    assert policy.effective_from == Quarter(2027, 1) and policy.performance_share == Decimal("0.40")
    assert policy.mode.value == "budget_neutral" and len(policy.bands) == 3


def test_weights_that_do_not_sum_to_100_are_refused_on_the_weights_field():
    bad = dict(POLICY, weights=dict(POLICY["weights"], workload="20"))
    with pytest.raises(ValidationError) as caught:
        SetPolicySchema().load(bad)
    assert list(caught.value.messages) == ["weights"]
    assert "sum to 110" in caught.value.messages["weights"][0]


def test_a_bad_policy_names_each_bad_field():
    bad = dict(POLICY, version=0, effective_from="2027", mode="generous",
               pay_standards={"standard": 1.5}, quarterly_share="0.9", annual_share="0.3")
    with pytest.raises(ValidationError) as caught:
        SetPolicySchema().load(bad)
    assert set(caught.value.messages) >= {"version", "effective_from", "mode", "pay_standards", "annual_share"}


def test_bands_out_of_order_are_refused_on_the_bands_field():
    bad = dict(POLICY, bands=list(reversed(POLICY["bands"])))
    with pytest.raises(ValidationError) as caught:
        SetPolicySchema().load(bad)
    assert list(caught.value.messages) == ["bands"]
