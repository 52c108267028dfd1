"""``onegrid up``: every service in its own process, restarted when it dies, stopped on Ctrl-C."""
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from onegrid.testing import rpc_client, wait_until
from services.grid.testing import seeded_grid_and_a_post

pytestmark = pytest.mark.broker

HOTLINE = {"id": "op-12345-01", "role": "hotline_operator"}


class Up:
    """``onegrid up`` as a child process, its output read line by line as it comes."""

    def __init__(self, args, env):
        self.process = subprocess.Popen([sys.executable, "-m", "onegrid.cli", "up", *args],
                                        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern, timeout=120):
        """The first match of ``pattern`` in the output, waiting for it to appear."""
        def found():
            return next((m for line in list(self.lines) if (m := re.search(pattern, line))), None)
        return wait_until(found, timeout=timeout, interval=0.2,
                          message=f"no line matching {pattern!r} in:\n{self.output()}")

    def interrupt(self, timeout=60) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=timeout)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def node_env(vhosts, unique, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update(AMQP_URI=vhosts(f"onegrid-up-{unique}"), NODE_ID="shazhou",
               ONEGRID_DATA_DIR=str(tmp_path))
    return env


def _open_and_wait_dispatched(rpc, grid, point, title):
    opened = rpc.tickets.open(actor=HOTLINE, channel="hotline_12345", category_code="stairwell_hygiene",
                              title=title, description="Rubbish on every floor.",
                              street=grid.street_code, community=grid.community_code,
                              lat=point.y, lng=point.x, reporter_name="Zhang San",
                              reporter_phone="13912345678")
    return wait_until(lambda: (t := rpc.tickets.get_ticket(opened["ticket_id"]))["state"] == "dispatched"
                      and t, timeout=60, message="grid never dispatched the ticket")


def _located(rpc, point):
    try:
        return rpc.grid.locate(point.y, point.x)
    except Exception:  # the map read model has not folded the seeded district yet
        return None


def test_up_runs_each_replica_as_its_own_process_and_restarts_one_that_dies(node_env):
    grid, a_post, point = seeded_grid_and_a_post()
    up = Up(["--seed", "--services", "tickets,grid", "--replicas", "grid=2"], node_env)
    try:
        up.wait_for(r"running tickets, grid; ready", timeout=300)
        pids = {m.group(1): int(m.group(2)) for m in
                (re.search(r"^(\S+)\s+started\s+pid (\d+)", line) for line in up.lines) if m}
        assert set(pids) == {"tickets", "grid-1", "grid-2"}
        assert len(set(pids.values())) == 3 and up.process.pid not in pids.values()
        with rpc_client({"AMQP_URI": node_env["AMQP_URI"]}, timeout=30) as rpc:
            wait_until(lambda: _located(rpc, point), timeout=120, interval=0.5,
                       message="the node never located a point of the seeded district")
            first = _open_and_wait_dispatched(rpc, grid, point, "Stairwell 3 not cleaned")
            assert (first["assignee_kind"], first["assignee_id"]) == ("worker", a_post)
            os.kill(pids["grid-1"], signal.SIGKILL)
            up.wait_for(r"^grid-1\s+died\s+exit -9; restarting in 1 s")
            restarted = int(up.wait_for(r"^grid-1\s+restarted pid (\d+) \(restart 1\)").group(1))
            assert restarted != pids["grid-1"] and _alive(restarted)
            second = _open_and_wait_dispatched(rpc, grid, point, "Stairwell 5 not cleaned")
            assert (second["assignee_kind"], second["assignee_id"]) == ("worker", a_post)
        assert up.interrupt() == 0
        assert not [pid for pid in (*pids.values(), restarted) if _alive(pid)]
        for name in ("tickets", "grid-1", "grid-2"):
            assert re.search(rf"^{name}\s+stopped$", up.output(), re.M), up.output()
    finally:
        if up.process.poll() is None:
            up.process.kill()


@pytest.mark.parametrize("args, named", [
    (["--services", "tickets,nope"], "--services"),
    (["--replicas", "grid=0"], "--replicas"),
    (["--services", "tickets", "--replicas", "grid=2"], "'grid' is not one of the services run"),
])
def test_up_refuses_a_bad_option_naming_it_and_starts_nothing(args, named, node_env, tmp_path):
    done = subprocess.run([sys.executable, "-m", "onegrid.cli", "up", *args], env=node_env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert named in done.stderr
    assert not (tmp_path / "logs").exists() or not list((tmp_path / "logs").iterdir())
