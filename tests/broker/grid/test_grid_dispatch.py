"""Dispatch against a real broker: TicketOpened and TicketReturned become DispatchDecided once."""
import collections
import datetime as dt
import random

import pytest

from onegrid.testing import CST, rpc_client, running, wait_until
from services.grid.seed import generate_district
from services.grid.testing import (decisions, grid_config, grid_service, queue_depth, seeded,
                                   square, street_and_community, ticket_event)
from services.tickets.domain.events import TicketDispatched, TicketReturned
from services.tickets.testing import ticket_opened

pytestmark = pytest.mark.broker


@pytest.fixture
def tickets(fake_source):
    return fake_source("tickets")


def test_opening_returning_and_leave_each_decide_who_handles_the_ticket(
        amqp_uri, tmp_path, unique, tickets):
    config = grid_config(amqp_uri, tmp_path, unique)
    Grid = grid_service(unique)
    # the tickets log answers read_stream: the grid fetches the events it does not consume
    with tickets.serve(config), running(Grid, config=config), rpc_client(config) as proxy:
        grid = getattr(proxy, Grid.name)
        street_and_community(grid)
        grid.register_grid(grid_code="g1", community_code="co", kind="comprehensive",
                           boundary=square(118.70, 32.00))
        for worker in ("wa", "wb", "wc"):
            grid.enroll_worker(worker_id=worker, community_code="co", name=worker)
        grid.post_worker(worker_id="wa", community_code="co", grid_code="g1", post="A")
        grid.post_worker(worker_id="wb", community_code="co", grid_code="g1", post="B")
        grid.register_department(department_code="fire_protection", name="Fire protection")
        grid.set_department_categories(department_code="fire_protection",
                                       categories=["fire_hazard"])
        wait_until(lambda: grid.status()["departments"] == 1 and grid.status()["posts"] == 2)

        tickets.append([("t1", [("TicketOpened", ticket_opened("t1", lat=32.005, lng=118.705))]),
                        ("t2", [("TicketOpened", ticket_opened("t2", lat=32.005, lng=118.705,
                                                               category="fire_hazard"))]),
                        ("t3", [("TicketOpened", ticket_opened("t3", lat=40.0, lng=100.0,
                                                               street="st"))])])
        tickets.publish()
        made = wait_until(lambda: len(d := decisions(config, Grid.name)) == 3 and d)
        by_ticket = {d["ticket_id"]: d for d in made}
        assert (by_ticket["t1"]["assignee_id"], by_ticket["t1"]["step"]) == ("wa", "post_a")
        assert (by_ticket["t2"]["assignee_kind"], by_ticket["t2"]["assignee_id"]) == (
            "department", "fire_protection")
        assert (by_ticket["t3"]["assignee_kind"], by_ticket["t3"]["assignee_id"]) == ("street", "st")

        # the A post goes on leave today: t1 moves to the B post
        now = dt.datetime.now(CST)
        day = now.date().isoformat()
        assert grid.grant_leave(worker_id="wa", community_code="co", day=day)["reassigned"] == 1
        last = decisions(config, Grid.name)[-1]
        assert (last["ticket_id"], last["assignee_id"], last["trigger"]) == (
            "t1", "wb", "worker_on_leave")

        # the read models (not the command) feed dispatch: wait until they show wa away
        wait_until(lambda: grid.roster("co", day)["away"] == ["wa"])
        # wb returns it (退单): not back to wb, A is away, so the community's least-loaded worker
        tickets.append([("t1", [
            ("TicketDispatched", ticket_event(
                TicketDispatched, ticket_id="t1", at=now, actor_id="tickets",
                assignee_kind="worker", assignee_id="wb", grid_code="g1", reason="B post")),
            ("TicketReturned", ticket_event(
                TicketReturned, ticket_id="t1", at=now, actor_id="wb", assignee_kind="worker",
                assignee_id="wb", reason="not my grid"))])])
        tickets.publish()
        made = wait_until(lambda: len(d := decisions(config, Grid.name)) == 5 and d)
        assert (made[-1]["assignee_id"], made[-1]["step"], made[-1]["trigger"],
                made[-1]["ticket_version"]) == ("wc", "community_least_loaded", "returned", 3)
        assert "wb is excluded" in made[-1]["reason"]
        assert grid.worker("wc")["open_tickets"] == ["t1"]
        assert [d["assignee_id"] for d in grid.dispatch_of("t1")] == ["wa", "wb", "wc"]


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_three_replicas_decide_a_burst_of_5000_openings_exactly_once_each(
        amqp_uri, tmp_path, unique, tickets, db, request):
    config = grid_config(amqp_uri, tmp_path, unique)
    if db == "postgres":
        config[f"GRID{unique}_DATABASE_URL".upper()] = request.getfixturevalue("database_url")
    Grid = grid_service(unique)
    seeded(config, Grid)
    district = generate_district()
    rng = random.Random(7)
    categories = ["road_damage", "stairwell_hygiene", "noise_nuisance", "fire_hazard",
                  "food_safety"]
    openings = []
    for i in range(5000):
        g = rng.choice(district.grids)
        (x0, y0), (x1, _), (_, y1) = g.boundary[0], g.boundary[1], g.boundary[2]
        lat, lng = (y0 + y1) / 2, (x0 + x1) / 2
        openings.append((f"b{i:05d}", [("TicketOpened", ticket_opened(
            f"b{i:05d}", lat=lat, lng=lng, category=rng.choice(categories)))]))
    with running(Grid, Grid, Grid, config=config), rpc_client(config) as proxy:
        grid = getattr(proxy, Grid.name)
        wait_until(lambda: grid.status()["grids"] == 792, timeout=60)
        tickets.append(openings)
        assert tickets.publish() == 5000
        made = wait_until(lambda: len(d := decisions(config, Grid.name)) >= 5000 and d,
                          timeout=240, interval=0.5)
        wait_until(lambda: queue_depth(amqp_uri, tickets.name, Grid.name) == 0, timeout=60)
        made = decisions(config, Grid.name)
    per_ticket = collections.Counter(d["ticket_id"] for d in made)
    assert len(made) == 5000
    assert set(per_ticket) == {t for t, _ in openings}
    assert set(per_ticket.values()) == {1}
    kinds = collections.Counter(d["assignee_kind"] for d in made)
    assert kinds["worker"] > 0 and kinds["department"] > 0
