"""Two replicas of the tickets service: no lost update, and TicketOverdue once per deadline."""
import collections
import datetime as dt

import pytest
from nameko.exceptions import RemoteError

from onegrid.testing import Clock, renamed, rpc_client, running, service_config, wait_until
from services.tickets.domain import Ticket
from services.tickets.service import TicketsService
from services.tickets.testing import open_fields

pytestmark = pytest.mark.broker

DB = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _config(amqp_uri, tmp_path, unique, db, request, clock=None):
    config = service_config(amqp_uri, tmp_path, f"tickets{unique}", unique=unique, clock=clock)
    if db == "postgres":
        config[f"TICKETS{unique}_DATABASE_URL".upper()] = request.getfixturevalue("database_url")
    return config


def _call_all(proxy_method, calls):
    """Send every call at once (call_async) and collect (kwargs, result or RemoteError)."""
    pending = [(kwargs, proxy_method.call_async(**kwargs)) for kwargs in calls]
    out = []
    for kwargs, reply in pending:
        try:
            out.append((kwargs, reply.result()))
        except RemoteError as error:
            out.append((kwargs, error))
    return out


@pytest.mark.parametrize("db", DB)
def test_two_replicas_take_racing_commands_for_one_ticket_without_losing_any(
        amqp_uri, tmp_path, unique, db, request):
    config = _config(amqp_uri, tmp_path, unique, db, request)
    Tickets = renamed(TicketsService, f"tickets{unique}")
    with running(Tickets, Tickets, config=config), rpc_client(config) as proxy:
        tickets = getattr(proxy, Tickets.name)
        tickets.open(**open_fields("t-1"))
        base = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
        notes = [dict(ticket_id="t-1", actor_id=f"sup-{i % 3}", note=f"note {i}",
                      new_deadline=(base + dt.timedelta(hours=i)).isoformat())
                 for i in range(60)]
        results = _call_all(tickets.supervise, notes)
        stream = tickets.read_stream(Ticket.stream_id("t-1"))

        # every supervise that succeeded is in the stream exactly once; a refused one
        # is a clear conflict error and left nothing behind
        accepted = [k["note"] for k, r in results if not isinstance(r, RemoteError)]
        refused = [r for _, r in results if isinstance(r, RemoteError)]
        assert {r.exc_type for r in refused} <= {"WrongExpectedVersion"}
        recorded = [e["payload"]["note"] for e in stream if e["event_type"] == "TicketSupervised"]
        assert collections.Counter(recorded) == collections.Counter(accepted)
        assert len(accepted) >= 50  # retries absorb nearly all conflicts
        assert [e["version"] for e in stream] == list(range(1, len(stream) + 1))
        # each reply names the version its command wrote: all different
        versions = [r["version"] for _, r in results if not isinstance(r, RemoteError)]
        assert sorted(versions) == list(range(2, len(stream) + 1))

        # resolve races return (退单) on ten accepted tickets: exactly one of each pair wins
        for i in range(10):
            tid = f"r-{i}"
            tickets.open(**open_fields(tid))
            tickets.dispatch(ticket_id=tid, actor_id="d", assignee_kind="worker",
                             assignee_id="w-1")
            tickets.accept(ticket_id=tid, actor_id="w-1")
        pending = []
        for i in range(10):
            tid = f"r-{i}"
            pending.append((tid, "TicketResolved", tickets.resolve.call_async(
                ticket_id=tid, actor_id="w-1", resolution="fixed")))
            pending.append((tid, "TicketReturned", tickets.return_ticket.call_async(
                ticket_id=tid, actor_id="w-1", reason="not mine")))
        winners = collections.defaultdict(list)
        for tid, event_type, reply in pending:
            try:
                reply.result()
                winners[tid].append(event_type)
            except RemoteError as error:
                assert error.exc_type in ("InvalidTransition", "WrongExpectedVersion")
        for i in range(10):
            tid = f"r-{i}"
            assert len(winners[tid]) == 1
            stream = tickets.read_stream(Ticket.stream_id(tid))
            assert [e["event_type"] for e in stream][3:] == winners[tid]
            assert [e["version"] for e in stream] == [1, 2, 3, 4]


@pytest.mark.parametrize("db", DB)
def test_two_replicas_record_each_overdue_deadline_exactly_once(
        amqp_uri, tmp_path, unique, db, request):
    now = dt.datetime.now(dt.timezone.utc)
    clock = Clock(now - dt.timedelta(days=3))
    ticks = collections.Counter()

    def counted():
        ticks["calls"] += 1
        return clock()
    config = _config(amqp_uri, tmp_path, unique, db, request, clock=counted)
    config["TICKETS_OVERDUE_SECONDS"] = 0.05  # every 50 ms
    Tickets = renamed(TicketsService, f"tickets{unique}")
    with running(Tickets, Tickets, config=config), rpc_client(config) as proxy:
        tickets = getattr(proxy, Tickets.name)
        # emergencies opened three days ago: due by the end of that day
        for i in range(30):
            tickets.open(**open_fields(f"t-{i:02d}", category_code="gas_leak"))
        tickets.open(**open_fields("done", category_code="gas_leak"))
        tickets.cancel(ticket_id="done", actor_id="op")
        assert tickets.list_tickets(overdue=True)["items"] == []

        clock.now = now  # the deadlines have passed
        wait_until(lambda: len(tickets.list_tickets(overdue=True, limit=100)["items"]) == 30,
                   timeout=30)
        # supervision sets a new deadline, which passes too: one more mark for it
        tickets.supervise(ticket_id="t-00", actor_id="sup", note="again",
                          new_deadline=(now - dt.timedelta(hours=1)).isoformat())
        wait_until(lambda: tickets.get_ticket("t-00")["overdue"])
        # let both replicas' timers run many more rounds over the same tickets
        seen = ticks["calls"]
        wait_until(lambda: ticks["calls"] > seen + 40, timeout=30)
        log = tickets.read_log(limit=5000)
    overdue = [(e["stream_id"], e["payload"]["deadline"]) for e in log
               if e["event_type"] == "TicketOverdue"]
    assert len(overdue) == 31 and len(set(overdue)) == 31
    assert collections.Counter(s for s, _ in overdue)[Ticket.stream_id("t-00")] == 2
    assert Ticket.stream_id("done") not in {s for s, _ in overdue}
