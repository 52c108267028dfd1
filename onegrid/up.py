"""``onegrid up``: a whole node on one machine, run the way production runs it.

Every service (and every replica of one) is its own ``nameko run`` process with the
service's own ``config.yaml``, as a Deployment would run it; SQLite files under the data
directory are the embedded default store and the broker is ``AMQP_URI``. The supervisor
waits until every service answers over RPC, restarts a process that dies (with a line
saying so, backing off when one keeps dying) and, on Ctrl-C, stops every process with
SIGTERM (nameko's graceful stop) and kills what has not stopped in time.

Each process writes its output to ``<data dir>/logs/<part>.log``.
"""
from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Optional

import services

#: a process that stays up this long has its restart back-off reset
STEADY_SECONDS = 60
#: the longest wait before restarting a process that keeps dying
MAX_BACKOFF_SECONDS = 30
#: how long a process gets to stop after SIGTERM before it is killed
STOP_SECONDS = 15


@dataclasses.dataclass
class Part:
    """One process of the node: a service's replica."""

    service: str
    replica: int
    replicas: int
    log_path: Path
    process: Optional[subprocess.Popen] = None
    started_at: float = 0.0
    restarts: int = 0
    restart_at: Optional[float] = None

    @property
    def name(self) -> str:
        return self.service if self.replicas == 1 else f"{self.service}-{self.replica}"

    def argv(self) -> list[str]:
        """``nameko run --config services/<name>/config.yaml services.<name>.service:SERVICE``."""
        config = Path(services.__file__).parent / self.service / "config.yaml"
        return [sys.executable, "-m", "nameko", "run", "--config", str(config),
                f"services.{self.service}.service:SERVICE"]


def parse_replicas(values: tuple[str, ...] | list[str], services_: list[str]) -> dict[str, int]:
    """``["grid=3"]`` → ``{"grid": 3}``; a clear error for a bad entry or an unknown service."""
    replicas = {}
    for value in values:
        for item in filter(None, (v.strip() for v in value.split(","))):
            name, sep, count = item.partition("=")
            if not sep or not count.isdigit() or int(count) < 1:
                raise ValueError(f"replicas: {item!r} is not <service>=<count of 1 or more>")
            if name not in services_:
                raise ValueError(f"replicas: {name!r} is not one of the services run "
                                 f"({', '.join(services_)})")
            replicas[name] = int(count)
    return replicas


class Node:
    """The processes of one node and the loop that keeps them running."""

    def __init__(self, services_: list[str], replicas: dict[str, int], env: dict, data_dir: Path,
                 say: Callable[[str], None] = print):
        self.env, self.say = env, say
        self.logs = data_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.parts = [Part(s, i, replicas.get(s, 1), self.logs / f"{s}-{i}.log")
                      for s in services_ for i in range(1, replicas.get(s, 1) + 1)]
        self.stopping = False

    # --- processes -------------------------------------------------------------------------

    def _spawn(self, part: Part) -> None:
        with open(part.log_path, "ab") as log:
            # its own session: the terminal's Ctrl-C reaches the supervisor only, which
            # then stops every process in order
            part.process = subprocess.Popen(part.argv(), env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        part.started_at, part.restart_at = time.monotonic(), None

    def start(self) -> None:
        for part in self.parts:
            self._spawn(part)
            self.say(f"{part.name:<14} started   pid {part.process.pid}, log {part.log_path}")

    def check(self) -> None:
        """Restart what has died, after a back-off that grows while it keeps dying."""
        now = time.monotonic()
        for part in self.parts:
            if part.restart_at is not None:
                if now >= part.restart_at:
                    self._spawn(part)
                    self.say(f"{part.name:<14} restarted pid {part.process.pid} "
                             f"(restart {part.restarts})")
                continue
            code = part.process.poll()
            if code is None:
                continue
            if now - part.started_at >= STEADY_SECONDS:
                part.restarts = 0
            part.restarts += 1
            delay = min(MAX_BACKOFF_SECONDS, 2 ** (part.restarts - 1))
            part.restart_at = now + delay
            self.say(f"{part.name:<14} died      exit {code}; restarting in {delay} s "
                     f"(see {part.log_path})")

    def stop(self) -> None:
        """SIGTERM to every process (nameko stops gracefully), SIGKILL to what outlives it."""
        self.stopping = True
        running = [p for p in self.parts if p.process and p.process.poll() is None]
        for part in running:
            part.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for part in running:
            try:
                part.process.wait(timeout=max(0.1, deadline - time.monotonic()))
                self.say(f"{part.name:<14} stopped")
            except subprocess.TimeoutExpired:
                part.process.kill()
                part.process.wait()
                self.say(f"{part.name:<14} killed    (did not stop within {STOP_SECONDS} s)")

    # --- readiness -------------------------------------------------------------------------

    def wait_ready(self, answers: Callable[[str], bool], timeout: float) -> list[str]:
        """Wait until ``answers(service)`` holds for every service; the ones that never did."""
        waiting = list(dict.fromkeys(p.service for p in self.parts))
        deadline = time.monotonic() + timeout
        while waiting and time.monotonic() < deadline:
            self.check()
            waiting = [s for s in waiting if not answers(s)]
            if waiting:
                time.sleep(0.5)
        return waiting

    def run_forever(self, interval: float = 0.5) -> None:
        while not self.stopping:
            self.check()
            time.sleep(interval)


def rpc_answers(rpc) -> Callable[[str], bool]:
    """A service answers when its log can be read over RPC (it runs and its store opens)."""
    def answers(service: str) -> bool:
        try:
            getattr(rpc, service).read_log(after_position=0, limit=1)
            return True
        except Exception:  # not up yet: the call times out or the queue has no consumer
            return False
    return answers


def child_env(env: dict, data_dir: Path, node_id: str, amqp_uri: str) -> dict:
    """The environment of every process: one broker, one node id, one data directory."""
    child = dict(env)
    child.update(AMQP_URI=amqp_uri, NODE_ID=node_id, ONEGRID_DATA_DIR=str(data_dir.resolve()),
                 PYTHONUNBUFFERED="1")
    return child


def install_stop_on(signals=(signal.SIGINT, signal.SIGTERM)) -> None:
    """Turn SIGTERM into KeyboardInterrupt too, so ``up`` stops the same way on both."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    for sig in signals:
        signal.signal(sig, interrupt)
