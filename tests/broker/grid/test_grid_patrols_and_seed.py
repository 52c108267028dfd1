"""The patrol timer with three replicas, and `onegrid seed` loading the demo district once."""
import datetime as dt

import pytest

from onegrid import config as cfg
from onegrid.testing import CST, rpc_client, running, wait_until
from services.grid.testing import grid_config, grid_service, seeded, square, street_and_community

pytestmark = pytest.mark.broker


class Clock:
    """An injected clock that counts how often the timers asked it the time."""

    def __init__(self, now):
        self.now, self.calls = now, 0

    def __call__(self):
        self.calls += 1
        return self.now


def test_three_replicas_record_each_missed_window_exactly_once(amqp_uri, tmp_path, unique):
    day = dt.datetime.now(CST).date() + dt.timedelta(days=2)
    clock = Clock(dt.datetime.combine(day, dt.time(12, 30), CST))  # morning window closed
    config = grid_config(amqp_uri, tmp_path, unique, clock=clock, GRID_PATROL_LOOKBACK_DAYS=0,
                         GRID_PATROL_GRACE_SECONDS=60)  # its timer stays quiet
    Grid = grid_service(unique)
    with running(Grid, config=config), rpc_client(config) as proxy:
        grid = getattr(proxy, Grid.name)
        street_and_community(grid)
        for i in range(4):
            grid.register_grid(grid_code=f"g{i}", community_code="co", kind="comprehensive",
                               boundary=square(118.70 + 0.01 * i, 32.00))
        grid.enroll_worker(worker_id="wa", community_code="co", name="A")
        grid.start_patrol(patrol_id="p1", grid_code="g1", worker_id="wa",
                          at=dt.datetime.combine(day, dt.time(9, 0), CST).isoformat(),
                          lat=32.005, lng=118.715)
        wait_until(lambda: len(grid.patrols("g1")) == 1)
    patrolling = dict(config, GRID_PATROL_CHECK_SECONDS=0.1)
    with running(Grid, Grid, Grid, config=patrolling), rpc_client(config) as proxy:
        grid = getattr(proxy, Grid.name)
        wait_until(lambda: len(grid.missed_patrols()) == 3, timeout=30)
        calls = clock.calls
        wait_until(lambda: clock.calls > calls + 30)  # every replica's timer ran many more times
        missed = grid.missed_patrols()
    assert [(m["grid_code"], m["day"], m["window"]) for m in missed] == [
        (f"g{i}", day.isoformat(), "morning") for i in (0, 2, 3)]
    store = cfg.open_service_store(Grid.name, config)
    try:
        types = [e.event_type for e in store.iter_all()]
    finally:
        store.close()
    assert types.count("PatrolMissed") == 3


def test_seed_loads_the_demo_district_and_a_second_run_changes_nothing(amqp_uri, tmp_path,
                                                                       unique):
    config = grid_config(amqp_uri, tmp_path, unique)
    Grid = grid_service(unique)
    first = seeded(config, Grid)
    assert (first["streets"], first["communities"], first["grids"]) == (6, 61, 792)
    assert first["workers"] >= 800 and first["streams_written"] == 81
    store = cfg.open_service_store(Grid.name, config)
    position = store.last_position()
    store.close()
    second = seeded(config, Grid)
    assert second["streams_written"] == 0 and second["events"] == 0
    store = cfg.open_service_store(Grid.name, config)
    assert store.last_position() == position
    store.close()
    with running(Grid, config=config), rpc_client(config) as proxy:
        grid = getattr(proxy, Grid.name)
        status = wait_until(lambda: (s := grid.status())["grids"] == 792 and s, timeout=60)
        kinds = [g["kind"] for g in grid.grids()]
    assert kinds.count("comprehensive") == 598 and kinds.count("dedicated") == 194
    assert status["workers"] >= 800 and status["departments"] >= 13
    assert status["posts"] >= 792 + 700
