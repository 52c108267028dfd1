"""A crash between a command's commit and its reply: one effect, and every repeat gets the first result.

The node's tickets and grid services run as one ``nameko run`` process (tests/system/
crashing.py) that kills itself once, inside the reply of a chosen method, after the commit.
The request stays unacked; the broker redelivers it to the next incarnation, which must
answer with the first result instead of running the command again. A caller's own retry
with the same ``command_id`` must get the same answer.
"""
import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from shapely.geometry import Polygon

from onegrid.testing import rpc_client, wait_until
from services.grid.seed import generate_district

pytestmark = pytest.mark.broker

ROOT = Path(__file__).resolve().parents[2]
OPERATOR = {"id": "op-12345-07", "role": "hotline_operator"}


class Node:
    """The crashing node's process, one incarnation at a time."""

    def __init__(self, amqp_uri, data_dir: Path):
        self.data_dir = data_dir
        self.env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
        self.env.update(AMQP_URI=amqp_uri, NODE_ID="shazhou", ONEGRID_DATA_DIR=str(data_dir),
                        PYTHONPATH=os.pathsep.join([str(ROOT / "tests" / "system"), str(ROOT)]))
        self.config = data_dir / "node.yaml"
        self.config.write_text(f"AMQP_URI: {amqp_uri}\nNODE_ID: shazhou\n"
                               f"ONEGRID_DATA_DIR: {data_dir}\nmax_workers: 20\n")
        self.process = None
        self.incarnation = 0

    def start(self, crash_in: str | None = None):
        self.incarnation += 1
        env = dict(self.env, ONEGRID_CRASH_IN_REPLY=crash_in or "",
                   ONEGRID_CRASH_MARKER=str(self.data_dir / f"crashed-{self.incarnation}"))
        nameko = os.path.join(os.path.dirname(sys.executable), "nameko")
        log = open(self.data_dir / f"node-{self.incarnation}.log", "w")
        self.process = subprocess.Popen(
            [nameko, "run", "--config", str(self.config), "crashing:TicketsService",
             "crashing:GridService"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    def crashed(self) -> bool:
        return self.process.poll() is not None

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def events(self, service: str, event_type: str) -> list[dict]:
        with sqlite3.connect(self.data_dir / f"{service}.sqlite") as db:
            rows = db.execute(f"select stream_id, payload from {service}_events "
                              "where event_type = ? order by position", (event_type,)).fetchall()
        return [dict(json.loads(p), stream_id=s) for s, p in rows]


def _answers(call):
    try:
        return call()
    except Exception:  # not started yet
        time.sleep(0.5)
        return None


@pytest.fixture
def node(vhosts, unique, tmp_path):
    amqp_uri = vhosts(f"onegrid-once-{unique}")
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update(AMQP_URI=amqp_uri, NODE_ID="shazhou", ONEGRID_DATA_DIR=str(tmp_path))
    seeded = subprocess.run([sys.executable, "-m", "onegrid.cli", "seed"], env=env,
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert seeded.returncode == 0, seeded.stderr
    node = Node(amqp_uri, tmp_path)
    yield node
    node.stop()


def crash_and_come_back(node, rpc, call, method, ready):
    """Start an incarnation that dies in ``method``'s reply, make ``call``, restart; its reply."""
    node.start(crash_in=method)
    wait_until(lambda: _answers(ready), timeout=120, interval=0.5, message="the node did not start")
    reply = call()
    wait_until(node.crashed, timeout=60, message=f"the node did not die in the reply of {method}")
    node.start()
    return reply.result()


def test_a_crash_between_commit_and_reply_leaves_one_effect_and_every_repeat_the_first_result(node):
    district = generate_district()
    grid = next(g for g in district.grids if g.kind == "comprehensive")
    a_post = next(w.id for w in district.workers if (grid.code, "A") in w.posts)
    point = Polygon(grid.boundary).representative_point()
    worker = {"id": a_post, "role": "grid_worker"}

    with rpc_client({"AMQP_URI": node.env["AMQP_URI"]}, timeout=120) as rpc:
        ready = lambda: rpc.grid.locate(point.y, point.x)  # noqa: E731
        opening = dict(channel="hotline_12345", category_code="stairwell_hygiene",
                       title="Stairwell 3 not cleaned", description="Rubbish on every floor.",
                       street=grid.street_code, community=grid.community_code,
                       lat=point.y, lng=point.x, actor=OPERATOR)

        # 1. open, with neither a ticket id nor a command id: the request's own id is the key
        opened = crash_and_come_back(node, rpc, lambda: rpc.tickets.open.call_async(**opening),
                                     "open", ready)
        wait_until(lambda: _answers(ready), timeout=120, interval=0.5)
        assert [e["stream_id"] for e in node.events("tickets", "TicketOpened")] == [
            f"ticket/{opened['ticket_id']}"]
        ticket_id = opened["ticket_id"]
        wait_until(lambda: rpc.tickets.get_ticket(ticket_id)["state"] == "dispatched", timeout=60,
                   message="grid never dispatched the ticket")
        assert len(rpc.grid.dispatch_of(ticket_id)) == 1

        # 1b. open with the caller's command id (no ticket id): redelivery and retry agree
        node.stop()
        keyed = dict(opening, command_id="hotline-call-0042")
        first = crash_and_come_back(node, rpc, lambda: rpc.tickets.open.call_async(**keyed),
                                    "open", ready)
        wait_until(lambda: _answers(ready), timeout=120, interval=0.5)
        assert rpc.tickets.open(**keyed) == first
        assert [e["stream_id"] for e in node.events("tickets", "TicketOpened")] == [
            f"ticket/{ticket_id}", f"ticket/{first['ticket_id']}"]

        # 2. close, with the caller's command id: redelivery and the caller's retry agree
        rpc.tickets.accept(ticket_id=ticket_id, actor=worker)
        rpc.tickets.resolve(ticket_id=ticket_id, resolution="Cleaned.", actor=worker)
        rpc.tickets.record_callback(ticket_id=ticket_id, rating="satisfied", actor=OPERATOR)
        node.stop()
        closing = dict(ticket_id=ticket_id, command_id=f"close-{ticket_id}", actor=OPERATOR)
        closed = crash_and_come_back(node, rpc, lambda: rpc.tickets.close.call_async(**closing),
                                     "close", ready)
        wait_until(lambda: _answers(ready), timeout=120, interval=0.5)
        assert closed["state"] == "closed"
        assert rpc.tickets.close(**closing) == closed
        history = [e["event_type"] for e in rpc.tickets.get_ticket(ticket_id)["history"]]
        assert history.count("TicketClosed") == 1

        # 3. a grid command: finish_patrol
        at = dt.datetime.now(dt.timezone.utc)
        patrol = f"patrol-{ticket_id[:8]}"
        rpc.grid.start_patrol(patrol_id=patrol, grid_code=grid.code, worker_id=a_post,
                              at=at.isoformat(), lat=point.y, lng=point.x, actor=worker)
        node.stop()
        finishing = dict(patrol_id=patrol, at=(at + dt.timedelta(minutes=40)).isoformat(),
                         lat=point.y, lng=point.x, actor=worker, command_id=f"finish-{patrol}")
        finished = crash_and_come_back(
            node, rpc, lambda: rpc.grid.finish_patrol.call_async(**finishing), "finish_patrol", ready)
        wait_until(lambda: _answers(ready), timeout=120, interval=0.5)
        assert rpc.grid.finish_patrol(**finishing) == finished
        assert len(node.events("grid", "PatrolFinished")) == 1

        # the same command id with other arguments is refused, and records nothing
        with pytest.raises(Exception) as reused:
            rpc.grid.finish_patrol(**dict(finishing, lat=point.y + 0.0001))
        assert "CommandIdReused" in repr(reused.value)
        assert len(node.events("grid", "PatrolFinished")) == 1
