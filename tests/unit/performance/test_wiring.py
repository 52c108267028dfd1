"""The service declares its subscription once (REACTIONS) and registers every event it records."""
from onegrid.testing import renamed
from services.grid.schemas import EVENT_SCHEMAS as GRID_SCHEMAS
from services.performance.handlers import COMMANDS, REACTIONS
from services.performance.schemas import COMMAND_SCHEMAS, EVENT_SCHEMAS, REGISTRY
from services.performance.service import SERVICE, PerformanceService
from services.tickets.schemas import EVENT_SCHEMAS as TICKET_SCHEMAS


def test_the_reactions_name_only_types_their_sources_publish():
    assert set(REACTIONS) == {"tickets", "grid"}
    assert set(REACTIONS["tickets"]) <= {cls.__name__ for cls in TICKET_SCHEMAS}
    assert set(REACTIONS["grid"]) <= {cls.__name__ for cls in GRID_SCHEMAS}


def test_the_registry_holds_every_performance_event():
    assert {spec.event_type for spec in REGISTRY} == {cls.__name__ for cls in EVENT_SCHEMAS}


def test_every_command_has_a_handler_and_a_schema():
    assert set(COMMANDS) == set(COMMAND_SCHEMAS)


def test_the_service_runs_under_its_logical_name_or_any_other():
    assert SERVICE is PerformanceService and SERVICE.name == "performance"
    assert renamed(PerformanceService, "performancex").name == "performancex"
