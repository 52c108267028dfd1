"""The service consumes every event type of tickets and grid, so its inbox sees each stream whole."""
from services.grid.schemas import EVENT_SCHEMAS as GRID_SCHEMAS
from services.performance.handlers import GRID_EVENTS, TICKET_EVENTS
from services.performance.service import REGISTRY, make_service
from services.performance.schemas import EVENT_SCHEMAS
from services.tickets.schemas import EVENT_SCHEMAS as TICKET_SCHEMAS


def test_the_consumed_types_are_every_type_the_sources_publish():
    assert set(TICKET_EVENTS) == {cls.__name__ for cls in TICKET_SCHEMAS}
    assert set(GRID_EVENTS) == {cls.__name__ for cls in GRID_SCHEMAS}


def test_the_registry_holds_every_performance_event():
    assert {spec.event_type for spec in REGISTRY} == {cls.__name__ for cls in EVENT_SCHEMAS}


def test_the_class_is_built_under_any_name_with_the_sources_it_is_given():
    Perf = make_service("performancex", "ticketsx", "gridx")
    assert Perf.name == "performancex"
    assert (Perf.tickets_service, Perf.grid_service) == ("ticketsx", "gridx")
