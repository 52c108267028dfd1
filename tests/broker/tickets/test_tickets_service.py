"""The tickets service against a real broker: lifecycle, reads, bad input, redaction, replay."""
import datetime as dt
import json

import kombu
import pytest
from nameko.exceptions import RemoteError

from onegrid.amqp import declare_events_exchange, events_exchange
from onegrid.projections import replay
from onegrid.runtime import Setup
from onegrid.testing import CST, Clock, renamed, rpc_client, running, service_config, wait_until
from services.tickets.context import build_context
from services.tickets.domain import Ticket
from services.tickets.projections import projections
from services.tickets.service import TicketsService
from services.tickets.testing import caught_up, open_fields, open_store, table_rows

pytestmark = pytest.mark.broker

SUPERVISOR = {"id": "sup-1", "role": "supervisor"}


def setup(amqp_uri, tmp_path, unique, clock=None, overdue_seconds=None):
    """The service class under a random name, and its config."""
    name = f"tickets{unique}"
    config = service_config(amqp_uri, tmp_path, name, unique=unique, clock=clock)
    if overdue_seconds is not None:
        config["TICKETS_OVERDUE_SECONDS"] = overdue_seconds
    return renamed(TicketsService, name), config


def full_lifecycle(tickets, tid, worker="w-1"):
    tickets.open(**open_fields(tid))
    tickets.dispatch(ticket_id=tid, actor_id="disp-1", assignee_kind="worker",
                     assignee_id=worker)
    tickets.accept(ticket_id=tid, actor_id=worker)
    tickets.resolve(ticket_id=tid, actor_id=worker, resolution="Mediated; deposit returned")
    tickets.record_callback(ticket_id=tid, actor_id="op-2", rating="satisfied")
    return tickets.close(ticket_id=tid, actor_id="op-2")


def test_a_ticket_lives_from_intake_to_close_and_its_history_says_who_did_what_when(
        amqp_uri, tmp_path, unique):
    Tickets, config = setup(amqp_uri, tmp_path, unique)
    with running(Tickets, config=config), rpc_client(config) as proxy:
        tickets = getattr(proxy, Tickets.name)
        closed = full_lifecycle(tickets, "t-1")
        assert (closed["state"], closed["version"], closed["events"]) == (
            "closed", 6, ["TicketClosed"])

        ticket = tickets.get_ticket("t-1")
        assert ticket["state"] == "closed" and ticket["rating"] == "satisfied"
        assert ticket["reporter"] == {"name": "Wang Fang", "phone": "13812345678"}
        assert [(h["version"], h["event_type"], h["actor"]["id"]) for h in ticket["history"]] == [
            (1, "TicketOpened", "operator-1"), (2, "TicketDispatched", "disp-1"),
            (3, "TicketAccepted", "w-1"), (4, "TicketResolved", "w-1"),
            (5, "CallbackRecorded", "op-2"), (6, "TicketClosed", "op-2")]
        assert all(h["at"] and h["recorded_at"] for h in ticket["history"])

        # a second ticket in another grid, dispatched to a department and escalated later
        tickets.open(**open_fields("t-2", grid_code="SZ-ZC-05", channel="walk_in"),
                     actor=SUPERVISOR)
        tickets.dispatch(ticket_id="t-2", actor_id="disp-1", assignee_kind="department",
                         assignee_id="judicial_administration")
        tickets.open(**open_fields("t-3", grid_code="SZ-ZC-05"))
        tickets.escalate(ticket_id="t-3", actor_id="sup-1", level="street", reason="too big")
        tickets.dispatch(ticket_id="t-3", actor_id="street-op", assignee_kind="street",
                         assignee_id="shazhou")
        wait_until(lambda: len(tickets.list_tickets()["items"]) == 3)
        wait_until(lambda: tickets.list_tickets(state="dispatched", limit=10)["items"]
                   and len(tickets.list_tickets(state="dispatched")["items"]) == 2)

        assert [t["ticket_id"] for t in tickets.list_tickets(grid="SZ-ZC-05")["items"]] == [
            "t-2", "t-3"]
        assert [t["ticket_id"] for t in tickets.list_tickets(channel="walk_in")["items"]] == ["t-2"]
        assert [t["ticket_id"] for t in tickets.list_tickets(
            department="judicial_administration")["items"]] == ["t-2"]
        assert [t["ticket_id"] for t in tickets.list_tickets(worker="w-1")["items"]] == ["t-1"]
        assert tickets.list_tickets(overdue=True)["items"] == []
        now = dt.datetime.now(CST)
        assert len(tickets.list_tickets(opened_from=(now - dt.timedelta(hours=1)).isoformat(),
                                        opened_to=(now + dt.timedelta(hours=1)).isoformat(),
                                        )["items"]) == 3
        assert tickets.list_tickets(opened_to=(now - dt.timedelta(hours=1)).isoformat()
                                    )["items"] == []

        page1 = tickets.list_tickets(limit=2)
        page2 = tickets.list_tickets(limit=2, cursor=page1["next_cursor"])
        assert page2["next_cursor"] is None
        assert [t["ticket_id"] for t in page1["items"] + page2["items"]] == ["t-1", "t-2", "t-3"]

        assert tickets.queues(by="grid") == [{"grid": "SZ-ZC-05", "open": 2, "overdue": 0}]
        assert tickets.queues(by="street") == [{"street": "shazhou", "open": 1, "overdue": 0}]

        rates = tickets.rates(level="grid", code="SZ-ZC-03",
                              period_start=(now - dt.timedelta(days=1)).isoformat(),
                              period_end=(now + dt.timedelta(days=1)).isoformat())
        assert rates["received"] == 1 and rates["closure_rate"]["percent"] == "100.00"
        assert rates["satisfaction_rate"]["percent"] == "100.00"
        district = tickets.rates(level="district",
                                 period_start=(now - dt.timedelta(days=1)).isoformat(),
                                 period_end=(now + dt.timedelta(days=1)).isoformat())
        assert district["received"] == 3
        assert district["closure_rate"] == {"numerator": 1, "denominator": 3, "percent": "33.33"}
        assert district["by_channel"] == {"hotline_12345": 2, "walk_in": 1}


def test_an_illegal_move_names_the_state_and_the_allowed_moves_and_stores_nothing(
        amqp_uri, tmp_path, unique):
    Tickets, config = setup(amqp_uri, tmp_path, unique)
    with running(Tickets, config=config), rpc_client(config) as proxy:
        tickets = getattr(proxy, Tickets.name)
        tickets.open(**open_fields("t-1"))
        with pytest.raises(RemoteError) as refused:
            tickets.accept(ticket_id="t-1", actor_id="w-1")
        assert refused.value.exc_type == "InvalidTransition"
        assert "it is opened" in refused.value.value and "dispatch" in refused.value.value
        with pytest.raises(RemoteError) as missing:
            tickets.accept(ticket_id="t-404", actor_id="w-1")
        assert missing.value.exc_type == "TicketNotFound"
        assert len(tickets.read_stream(Ticket.stream_id("t-1"))) == 1


def test_bad_input_names_each_bad_field_and_stores_nothing(amqp_uri, tmp_path, unique):
    Tickets, config = setup(amqp_uri, tmp_path, unique)
    with running(Tickets, config=config), rpc_client(config) as proxy:
        tickets = getattr(proxy, Tickets.name)
        with pytest.raises(RemoteError) as bad:
            tickets.open(**open_fields("t-1", channel="carrier_pigeon", reporter_phone="12",
                                       title="", lat=95.0, colour="red"))
        assert bad.value.exc_type == "InvalidInput"
        for field in ("channel", "reporter_phone", "title", "lat", "colour"):
            assert f"{field}:" in bad.value.value
        tickets.open(**open_fields("t-2"))
        tickets.dispatch(ticket_id="t-2", actor_id="d", assignee_kind="worker", assignee_id="w")
        tickets.accept(ticket_id="t-2", actor_id="w")
        with pytest.raises(RemoteError) as bad:
            tickets.request_extension(ticket_id="t-2", actor_id="w", reason=" ",
                                      requested_deadline="next week")
        assert bad.value.exc_type == "InvalidInput"
        assert "reason:" in bad.value.value and "requested_deadline:" in bad.value.value
        with pytest.raises(RemoteError) as bad:
            tickets.dispatch(ticket_id="t-2", assignee_kind="robot")
        assert "actor_id:" in bad.value.value and "assignee_kind:" in bad.value.value
        assert "assignee_id:" in bad.value.value
        with pytest.raises(RemoteError) as bad:
            tickets.list_tickets(state="sleeping", limit=0, cursor="???")
        assert "state:" in bad.value.value and "limit:" in bad.value.value
        with pytest.raises(RemoteError) as bad:
            tickets.rates(level="grid", period_start="2026-03-01T00:00:00+08:00",
                          period_end="2026-02-01T00:00:00+08:00")
        assert "code:" in bad.value.value and "period_end:" in bad.value.value

        assert tickets.read_stream(Ticket.stream_id("t-1")) == []
        assert [e["event_type"] for e in tickets.read_stream(Ticket.stream_id("t-2"))] == [
            "TicketOpened", "TicketDispatched", "TicketAccepted"]
        assert len(tickets.read_log()) == 3


def test_the_reporter_phone_never_leaves_the_service(amqp_uri, tmp_path, unique):
    Tickets, config = setup(amqp_uri, tmp_path, unique)
    with kombu.Connection(amqp_uri) as conn:
        channel = conn.channel()
        declare_events_exchange(channel, Tickets.name)
        tap = kombu.Queue(f"tap-{unique}", kombu.Exchange(events_exchange(Tickets.name),
                                                          type="topic", durable=True),
                          routing_key="#", auto_delete=False)(channel)
        tap.declare()
        try:
            with running(Tickets, config=config), rpc_client(config) as proxy:
                tickets = getattr(proxy, Tickets.name)
                full_lifecycle(tickets, "t-1")
                messages = []

                def all_published():
                    while (message := tap.get(no_ack=True)) is not None:
                        messages.append(message.body)
                    return len(messages) == 6
                wait_until(all_published)
                streamed = tickets.read_stream(Ticket.stream_id("t-1"))
                logged = tickets.read_log()
                own = tickets.get_ticket("t-1")
        finally:
            tap.delete()
    for text in [*(m if isinstance(m, str) else m.decode() for m in messages),
                 json.dumps(streamed, ensure_ascii=False), json.dumps(logged, ensure_ascii=False)]:
        assert "13812345678" not in text and "Wang Fang" not in text
    opened = json.loads(messages[0])
    assert opened["event_type"] == "TicketOpened" and opened["payload"]["street"] == "shazhou"
    assert "reporter_phone" not in opened["payload"]
    assert own["reporter"]["phone"] == "13812345678"  # only the service's own ticket read


def test_replaying_the_projections_from_the_log_gives_the_live_read_model(
        amqp_uri, tmp_path, unique):
    clock = Clock()
    Tickets, config = setup(amqp_uri, tmp_path, unique, clock, overdue_seconds=0.2)
    store = open_store(Tickets, config)
    try:
        with running(Tickets, Tickets, config=config), rpc_client(config) as proxy:
            tickets = getattr(proxy, Tickets.name)
            for i in range(12):
                tickets.open(**open_fields(f"t-{i:02d}", grid_code=f"G{i % 3}",
                                           category_code=["legal_advice", "gas_leak",
                                                          "noise_nuisance"][i % 3]))
            for i in range(0, 12, 2):
                tickets.dispatch(ticket_id=f"t-{i:02d}", actor_id="d", assignee_kind="worker",
                                 assignee_id=f"w-{i % 4}")
                tickets.accept(ticket_id=f"t-{i:02d}", actor_id=f"w-{i % 4}")
            full_lifecycle(tickets, "t-12")
            tickets.return_ticket(ticket_id="t-02", actor_id="w-2", reason="not mine")
            tickets.supervise(ticket_id="t-04", actor_id="sup", note="hurry",
                              new_deadline=(dt.datetime.now(CST) + dt.timedelta(days=1)).isoformat())
            tickets.merge(ticket_id="t-03", actor_id="op", into_ticket_id="t-05")
            tickets.cancel(ticket_id="t-07", actor_id="op")
            tickets.escalate(ticket_id="t-09", actor_id="sup", level="district", reason="big")
            tickets.request_extension(ticket_id="t-06", actor_id="w-2", reason="parts",
                                      requested_deadline=(dt.datetime.now(CST)
                                                          + dt.timedelta(days=20)).isoformat())
            tickets.grant_extension(ticket_id="t-06", actor_id="sup")
            # a month later: the overdue timer marks every unresolved ticket
            clock.now = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)
            wait_until(lambda: len(tickets.list_tickets(overdue=True)["items"]) == 10)
            wait_until(lambda: caught_up(store, Tickets.name))
        live = table_rows(store, Tickets.name)
        assert len(live) == 13 and sum(row["overdue"] for row in live) == 10
        for projection in projections(build_context(Setup.of(Tickets.name, config))):
            replay(store, projection)
        assert table_rows(store, Tickets.name) == live
    finally:
        store.close()
