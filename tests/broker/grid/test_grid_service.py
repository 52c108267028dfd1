"""The grid service over RPC against a real broker: map, people, patrols, locate, bad input."""
import datetime as dt

import pytest
from nameko.exceptions import RemoteError

from onegrid import config as cfg
from onegrid.testing import rpc_client, running, wait_until
from services.grid.domain import Community, Patrol
from services.grid.testing import grid_config, grid_service, square, street_and_community

pytestmark = pytest.mark.broker


@pytest.fixture
def small_district(amqp_uri, tmp_path, unique):
    config = grid_config(amqp_uri, tmp_path, unique)
    Grid = grid_service(unique)
    with running(Grid, config=config), rpc_client(config) as proxy:
        grid = getattr(proxy, Grid.name)
        street_and_community(grid, "Street", "Community")
        grid.register_grid(grid_code="g1", community_code="co", kind="comprehensive",
                           boundary=square(118.70, 32.00))
        grid.register_grid(grid_code="g2", community_code="co", kind="dedicated",
                           purpose="school", boundary=square(118.71, 32.00))
        for worker in ("wa", "wb", "wc"):
            grid.enroll_worker(worker_id=worker, community_code="co", name=worker.upper())
        grid.post_worker(worker_id="wa", community_code="co", grid_code="g1", post="A")
        grid.post_worker(worker_id="wb", community_code="co", grid_code="g1", post="B")
        yield Grid, config, grid


def log_types(config, name):
    store = cfg.open_service_store(name, config)
    try:
        return [e.event_type for e in store.iter_all()]
    finally:
        store.close()


def test_the_map_and_posts_are_registered_and_read_back(small_district):
    Grid, config, grid = small_district
    wait_until(lambda: grid.status()["posts"] == 2)
    assert grid.locate(32.005, 118.705)["grid_code"] == "g1"
    assert grid.locate(32.005, 118.715) == {"grid_code": "g2", "community_code": "co",
                                            "street_code": "st"}
    assert grid.locate(31.5, 118.0) is None
    assert grid.grid("g1")["post_a"] == "wa" and grid.grid("g1")["post_b"] == "wb"
    assert [g["grid_code"] for g in grid.grids(community_code="co")] == ["g1", "g2"]


@pytest.mark.parametrize("command, fields, named", [
    ("register_grid", dict(grid_code="g9", community_code="co", kind="comprehensive",
                           boundary=[[118.72, 32.0], [118.73, 32.0], [118.73, 32.01]]),
     "does not close"),
    ("register_grid", dict(grid_code="g9", community_code="co", kind="comprehensive",
                           boundary=square(118.705, 32.0)), "overlaps g1"),
    ("register_grid", dict(grid_code="g9", community_code="co", kind="comprehensive",
                           boundary=square(118.80, 32.0)), "outside community co"),
    ("post_worker", dict(worker_id="wc", community_code="co", grid_code="g1", post="B"),
     "already held by wb"),
    ("post_worker", dict(worker_id="wc", community_code="co", grid_code="nope", post="A"),
     "no grid 'nope'"),
    ("post_worker", dict(worker_id="wc", community_code="co", grid_code="g2", post="C"),
     "post: unknown post"),
    ("start_patrol", dict(patrol_id="p1", grid_code="g1", worker_id="wa",
                          at="2024-05-06T09:00:00", lat=32.0, lng=118.7), "at: not a timezone-aware"),
    ("start_patrol", dict(patrol_id="p1", grid_code="g1", worker_id="wa",
                          at="2024-05-06T09:00:00+08:00", lat=132.0, lng=118.7), "lat: lat 132.0"),
])
def test_bad_input_gets_an_error_naming_the_problem_and_stores_nothing(small_district, command,
                                                                       fields, named):
    Grid, config, grid = small_district
    before = log_types(config, Grid.name)
    with pytest.raises(RemoteError) as error:
        getattr(grid, command)(**fields)
    assert named in str(error.value)
    assert log_types(config, Grid.name) == before


def test_a_and_b_of_one_grid_cannot_be_on_leave_the_same_day(small_district):
    Grid, config, grid = small_district
    grid.grant_leave(worker_id="wa", community_code="co", day="2030-01-02")
    with pytest.raises(RemoteError) as error:
        grid.grant_leave(worker_id="wb", community_code="co", day="2030-01-02")
    assert error.value.exc_type == "LeaveClash" and "wa, post A of grid g1" in str(error.value)
    grid.grant_leave(worker_id="wb", community_code="co", day="2030-01-03")
    roster = wait_until(lambda: (r := grid.roster("co", "2030-01-02"))["away"] and r)
    assert roster == {"community_code": "co", "day": "2030-01-02", "on_duty": ["wb", "wc"],
                      "away": ["wa"]}


def test_a_patrol_started_outside_its_grid_is_recorded_and_flagged(small_district):
    Grid, config, grid = small_district
    inside = grid.start_patrol(patrol_id="p-in", grid_code="g1", worker_id="wa",
                               at="2024-05-06T09:00:00+08:00", lat=32.005, lng=118.705)
    outside = grid.start_patrol(patrol_id="p-out", grid_code="g1", worker_id="wb",
                                at="2024-05-06T09:10:00+08:00", lat=32.005, lng=118.715)
    assert inside["outside_grid"] is False and outside["outside_grid"] is True
    problem = grid.report_problem(patrol_id="p-in", problem_id="pr-1",
                                  at="2024-05-06T09:20:00+08:00", category_code="road_damage",
                                  description="pothole", lat=32.004, lng=118.704)
    assert problem["community_code"] == "co" and problem["street_code"] == "st"
    grid.finish_patrol(patrol_id="p-in", at="2024-05-06T10:00:00+08:00", lat=32.005, lng=118.705)
    rows = wait_until(lambda: (r := grid.patrols("g1", day="2024-05-06")) and len(r) == 2
                      and r[0]["finished_at"] and r)
    assert [(r["patrol_id"], r["outside_grid"], r["problems"]) for r in rows] == [
        ("p-in", False, 1), ("p-out", True, 0)]
    with pytest.raises(RemoteError) as error:
        grid.finish_patrol(patrol_id="p-in", at="2024-05-06T10:05:00+08:00", lat=32.0, lng=118.7)
    assert error.value.exc_type == "PatrolAlreadyFinished"
    assert log_types(config, Grid.name).count("ProblemReported") == 1


def test_a_patrol_id_cannot_write_into_another_aggregates_stream(small_district):
    Grid, config, grid = small_district
    community = [e["event_type"] for e in grid.read_stream(Community.stream_id("co"))]
    grid.start_patrol(patrol_id="co", grid_code="g1", worker_id="wa",
                      at="2024-05-06T09:00:00+08:00", lat=32.005, lng=118.705)
    # the patrol "co" has its own stream; the community "co"'s stream is untouched
    assert [e["event_type"] for e in grid.read_stream(Patrol.stream_id("co"))] == ["PatrolStarted"]
    assert [e["event_type"] for e in grid.read_stream(Community.stream_id("co"))] == community
    assert "PatrolStarted" not in community
