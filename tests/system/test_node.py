"""A whole node, as `bash scripts/node` runs it: seed, then every service in its own process.

The node gets its own RabbitMQ virtual host, as a street office's node does in production,
and its own data directory of SQLite files.
"""
import os
import signal
import subprocess
import sys
import time

import pytest

from onegrid.testing import rpc_client, wait_until
from services.grid.testing import seeded_grid_and_a_post

pytestmark = pytest.mark.broker


@pytest.fixture
def node_amqp_uri(vhosts, unique):
    """A fresh virtual host for this node, as a street office's node has in production."""
    return vhosts(f"onegrid-node-{unique}")


def onegrid(*args, env, **kwargs):
    return [sys.executable, "-m", "onegrid.cli", *args], dict(env=env, **kwargs)


def test_a_ticket_travels_from_the_hotline_to_its_grid_worker_and_is_closed(node_amqp_uri, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update(AMQP_URI=node_amqp_uri, NODE_ID="jianye", ONEGRID_DATA_DIR=str(tmp_path))
    command, options = onegrid("seed", env=env, capture_output=True, text=True)
    seeded = subprocess.run(command, **options, timeout=300)
    assert seeded.returncode == 0, seeded.stderr
    log = open(tmp_path / "node.log", "w")
    command, options = onegrid("up", env=env, stdout=log, stderr=subprocess.STDOUT)
    node = subprocess.Popen(command, **options)
    config = {"AMQP_URI": node_amqp_uri}
    grid, a_post, point = seeded_grid_and_a_post()
    try:
        with rpc_client(config, timeout=30) as rpc:
            # the node answers once its map read model has folded the seeded district
            located = wait_until(lambda: _answers(rpc.grid.locate, point.y, point.x),
                                 timeout=120, interval=0.5, message="the node did not locate")
            assert located["grid_code"] == grid.code
            opened = rpc.tickets.open(
                actor={"id": "op-12345-07", "role": "hotline_operator"},
                channel="hotline_12345", category_code="stairwell_hygiene",
                title="Stairwell 3 not cleaned for two weeks", description="Rubbish on every floor.",
                street=grid.street_code, community=grid.community_code,
                lat=point.y, lng=point.x, reporter_name="Zhang San", reporter_phone="13912345678")
            ticket_id = opened["ticket_id"]
            ticket = wait_until(lambda: (t := rpc.tickets.get_ticket(ticket_id))["state"] == "dispatched"
                                and t, timeout=60, message="grid never dispatched the ticket")
            assert (ticket["assignee_kind"], ticket["assignee_id"]) == ("worker", a_post)
            worker = {"id": a_post, "role": "grid_worker"}
            rpc.tickets.accept(ticket_id=ticket_id, actor=worker)
            rpc.tickets.resolve(ticket_id=ticket_id, resolution="Cleaned; rota agreed.", actor=worker)
            rpc.tickets.record_callback(ticket_id=ticket_id, rating="satisfied",
                                        actor={"id": "op-12345-07", "role": "hotline_operator"})
            closed = rpc.tickets.close(ticket_id=ticket_id,
                                       actor={"id": "op-12345-07", "role": "hotline_operator"})
            assert closed["state"] == "closed"
            history = [e["event_type"] for e in rpc.tickets.get_ticket(ticket_id)["history"]]
            assert history == ["TicketOpened", "TicketDispatched", "TicketAccepted", "TicketResolved",
                               "CallbackRecorded", "TicketClosed"]
            listed = wait_until(lambda: rpc.tickets.list_tickets(worker=a_post, state="closed")["items"],
                                timeout=30)
            assert [t["ticket_id"] for t in listed] == [ticket_id]
    finally:
        _stop(node, log)
    output = (tmp_path / "node.log").read_text()
    assert "running tickets, grid, performance" in output
    assert "dead-lettered" not in output, output[-3000:]


def _stop(process, log):
    """Interrupt the process as Ctrl-C would, kill it if it does not end in 30 s; close its log."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def _answers(method, *args):
    try:
        return method(*args)
    except Exception:  # not started yet: nameko's UnknownService, or a timeout
        time.sleep(0.5)
        return None


@pytest.mark.parametrize("service", ["tickets", "grid", "performance"])
def test_each_service_runs_alone_under_nameko_run_with_its_config_file(service, node_amqp_uri,
                                                                       tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update(AMQP_URI=node_amqp_uri, NODE_ID="shazhou", ONEGRID_DATA_DIR=str(tmp_path))
    nameko = os.path.join(os.path.dirname(sys.executable), "nameko")
    log = open(tmp_path / "nameko.log", "w")
    process = subprocess.Popen(
        [nameko, "run", "--config", f"services/{service}/config.yaml",
         f"services.{service}.service:SERVICE"], env=env, stdout=log, stderr=subprocess.STDOUT,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    try:
        with rpc_client({"AMQP_URI": node_amqp_uri}, timeout=30) as rpc:
            answered = wait_until(lambda: _answers(lambda: ("log", getattr(rpc, service).read_log(0, 10))),
                                  timeout=60, interval=0.5, message=f"{service} did not answer")
        assert answered == ("log", [])  # a fresh node: an empty log, served over RPC
        assert (tmp_path / f"{service}.sqlite").exists()
    finally:
        _stop(process, log)
