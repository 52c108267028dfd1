"""Reactions to the grid service's events: DispatchDecided and ProblemReported."""
import datetime as dt

import pytest

from onegrid.testing import (CST, renamed, rpc_client, running, service_config,
                             wait_until)
from services.tickets.domain import Ticket
from services.tickets.service import TicketsService
from services.grid.testing import dispatch_decided
from services.tickets.testing import open_fields, open_store

pytestmark = pytest.mark.broker


@pytest.fixture
def grid(fake_source):
    return fake_source("grid")


def setup(amqp_uri, tmp_path, unique):
    """The tickets service under a random name, consuming the grid's, and its config."""
    name = f"tickets{unique}"
    return renamed(TicketsService, name), service_config(amqp_uri, tmp_path, name,
                                                         unique=unique)


def test_dispatch_decisions_from_grid_become_ticket_dispatched_once_and_only_when_current(
        amqp_uri, tmp_path, unique, grid):
    Tickets, config = setup(amqp_uri, tmp_path, unique)
    store = open_store(Tickets, config)

    def applied(stream):
        with store.transaction() as tx:
            return tx.applied_version(Tickets.name, "grid", stream)  # REACTIONS' logical name

    def events(tickets, tid):
        return [(e["event_type"], e["payload"].get("assignee_kind"),
                 e["payload"].get("assignee_id"))
                for e in tickets.read_stream(Ticket.stream_id(tid))]
    try:
        with grid.serve(config), running(Tickets, Tickets, config=config), \
                rpc_client(config) as proxy:
            tickets = getattr(proxy, Tickets.name)
            tickets.open(**open_fields("t-1"))
            tickets.open(**open_fields("t-2"))

            grid.append([("dispatch/t-1", [("DispatchDecided", dispatch_decided("t-1", 1))])])
            grid.append([("dispatch/t-2", [("DispatchDecided", dispatch_decided(
                "t-2", 1, assignee_kind="street", assignee_id="shazhou"))])])
            grid.publish()
            wait_until(lambda: applied("dispatch/t-1") == 1 and applied("dispatch/t-2") == 1)
            assert events(tickets, "t-1") == [("TicketOpened", None, None),
                                              ("TicketDispatched", "worker", "w-1")]
            dispatched = tickets.read_stream(Ticket.stream_id("t-1"))[1]
            assert dispatched["actor"]["id"] == Tickets.name  # the inbox acts as the system
            assert dispatched["payload"]["actor_id"] == grid.name
            assert "post_a" in dispatched["payload"]["reason"]
            # no grid found: the street office handles it, and can accept it
            assert events(tickets, "t-2")[-1] == ("TicketDispatched", "street", "shazhou")
            tickets.accept(ticket_id="t-2", actor_id="street-op")

            # the same messages delivered again: nothing new
            grid.store.set_position(f"relay:{grid.name}", 0)
            assert grid.publish() == 2
            # a second decision for the same opening: the ticket is already dispatched
            grid.append([("dispatch/t-1", [("DispatchDecided", dispatch_decided(
                "t-1", 1, assignee_id="w-9"))])])
            grid.publish()
            wait_until(lambda: applied("dispatch/t-1") == 2)
            assert len(events(tickets, "t-1")) == 2

            # 退单: the grid decides again for version 3; a late reassignment for the old
            # opening (version 1) is stale and records nothing
            tickets.return_ticket(ticket_id="t-1", actor_id="w-1", reason="not my grid")
            grid.append([("dispatch/t-1", [
                ("DispatchDecided", dispatch_decided("t-1", 1, assignee_id="w-7",
                                                     trigger="worker_on_leave")),
                ("DispatchDecided", dispatch_decided("t-1", 3, assignee_kind="department",
                                                     assignee_id="judicial_administration",
                                                     trigger="returned"))])])
            grid.publish()
            wait_until(lambda: applied("dispatch/t-1") == 4)
            assert events(tickets, "t-1")[2:] == [
                ("TicketReturned", "worker", "w-1"),
                ("TicketDispatched", "department", "judicial_administration")]

            # the worker holding it goes on leave: a reassignment of the current request
            grid.append([("dispatch/t-1", [("DispatchDecided", dispatch_decided(
                "t-1", 3, assignee_kind="district", assignee_id="district",
                trigger="worker_on_leave"))])])
            grid.publish()
            wait_until(lambda: applied("dispatch/t-1") == 5)
            assert events(tickets, "t-1")[-1] == ("TicketDispatched", "district", "district")
            assert [e["event_type"] for e in tickets.read_log()].count("TicketDispatched") == 4
    finally:
        store.close()


def test_a_problem_found_on_patrol_opens_a_patrol_ticket_once(amqp_uri, tmp_path, unique, grid):
    Tickets, config = setup(amqp_uri, tmp_path, unique)
    at = dt.datetime.now(CST)
    problem = {"problem_id": "p-1", "patrol_id": "pa-1", "grid_code": "SZ-ZC-03",
               "worker_id": "w-1", "at": at.isoformat(), "category_code": "road_damage",
               "description": "Pothole by the school gate", "lat": 32.0, "lng": 118.73,
               "community_code": "zhongcheng", "street_code": "shazhou"}
    with grid.serve(config), running(Tickets, config=config), rpc_client(config) as proxy:
        tickets = getattr(proxy, Tickets.name)
        grid.append([("patrol/pa-1", [("ProblemReported", problem)])])
        grid.publish()
        ticket = wait_until(lambda: tickets.list_tickets(channel="patrol")["items"])
        assert [t["ticket_id"] for t in ticket] == ["patrol-p-1"]
        opened = tickets.get_ticket("patrol-p-1")
        assert (opened["channel"], opened["grid_code"], opened["community"]) == (
            "patrol", "SZ-ZC-03", "zhongcheng")
        assert opened["history"][0]["actor"]["role"] == "system"
        grid.store.set_position(f"relay:{grid.name}", 0)
        grid.publish()  # delivered again
        tickets.open(**open_fields("after"))
        wait_until(lambda: len(tickets.list_tickets()["items"]) == 2)
        assert len(tickets.read_stream(Ticket.stream_id("patrol-p-1"))) == 1
