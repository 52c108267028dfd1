"""A RabbitMQ node and a PostgreSQL cluster of a test's own, to stop and start at will.

The shared broker (5672) and database (5432) are never touched: ``private_broker`` runs its
own RabbitMQ node (own node name, ports, Mnesia and log directories, no plugins) and
``private_postgres`` its own cluster (own data directory, port and socket directory). Both
need the server binaries on this machine (Debian's ``rabbitmq-server``, PostgreSQL's
``initdb``/``pg_ctl``); the PostgreSQL cluster runs as the ``postgres`` user, so the tests
run as root or as ``postgres``.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

import pytest

RABBIT_BIN = "/usr/lib/rabbitmq/bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class PrivateBroker:
    """A RabbitMQ node of one test: ``start()``, ``stop()``, ``uri``; data kept across restarts."""

    def __init__(self, base: str):
        self.base = base
        self.node = f"og{uuid.uuid4().hex[:8]}@localhost"
        self.port, self.dist_port = free_port(), free_port()
        self.uri = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        home = os.path.join(base, "home")
        for sub in ("home", "mnesia", "log"):
            os.makedirs(os.path.join(base, sub), exist_ok=True)
        with open(os.path.join(base, "enabled_plugins"), "w") as f:
            f.write("[].")
        with open(os.path.join(base, "rabbitmq.conf"), "w") as f:
            # guest may log in from 127.0.0.1 only (the default), on this node's port only
            f.write(f"listeners.tcp.default = 127.0.0.1:{self.port}\n")
        with open(os.path.join(base, "rabbitmq-env.conf"), "w") as f:
            f.write("ERL_EPMD_ADDRESS=127.0.0.1\n")  # epmd is shared with the other node
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("RABBITMQ_")}
        self.env.update(
            HOME=home,  # the Erlang cookie of this node and of rabbitmqctl
            RABBITMQ_NODENAME=self.node, RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=os.path.join(base, "mnesia"),
            RABBITMQ_LOG_BASE=os.path.join(base, "log"),
            RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(base, "enabled_plugins"),
            RABBITMQ_CONFIG_FILE=os.path.join(base, "rabbitmq.conf"),
            RABBITMQ_CONF_ENV_FILE=os.path.join(base, "rabbitmq-env.conf"),
            RABBITMQ_PID_FILE=os.path.join(base, "rabbit.pid"),
        )
        self.running = False

    def _ctl(self, *args, timeout=60):
        return subprocess.run([f"{RABBIT_BIN}/rabbitmqctl", "-n", self.node, *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def start(self, timeout: float = 60):
        subprocess.run([f"{RABBIT_BIN}/rabbitmq-server", "-detached"], env=self.env,
                       cwd=self.base, check=True, timeout=30)
        self.running = True
        deadline = time.monotonic() + timeout
        while True:  # await_startup fails at once until the node registered with epmd
            if self._ctl("-q", "await_startup", timeout=timeout).returncode == 0 \
                    and _port_open(self.port):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"RabbitMQ node {self.node} did not start: "
                                   f"see {self.base}/log")
            time.sleep(0.3)

    def stop(self):
        if self.running:
            self._ctl("stop")
            self.running = False

    def kill(self):
        """The last resort: the node's own process, by the pid it wrote."""
        try:
            with open(self.env["RABBITMQ_PID_FILE"]) as f:
                os.kill(int(f.read().strip()), 9)
        except (OSError, ValueError):
            pass


@pytest.fixture
def private_broker():
    """A RabbitMQ node of this test's own, not started yet: ``start()``/``stop()`` it at will."""
    if not os.path.exists(f"{RABBIT_BIN}/rabbitmq-server"):
        pytest.fail(f"the outage tests start a RabbitMQ node of their own: install rabbitmq-server "
                    f"(no {RABBIT_BIN}/rabbitmq-server here)")
    base = tempfile.mkdtemp(prefix="og-rabbit-")
    broker = PrivateBroker(base)
    yield broker
    try:
        broker.stop()
    finally:
        if broker.running:
            broker.kill()
        shutil.rmtree(base, ignore_errors=True)


class PrivatePostgres:
    """A PostgreSQL cluster of one test: ``start()``, ``kill()`` (immediate stop), ``url``."""

    def __init__(self, base: str):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not bins:
            pytest.fail("the outage tests start a PostgreSQL cluster of their own: install the "
                        "PostgreSQL server (no /usr/lib/postgresql/*/bin/pg_ctl here)")
        self.bin = os.path.dirname(bins[-1])
        self.base, self.data = base, os.path.join(base, "data")
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._as_postgres = [] if os.geteuid() == pwd.getpwnam("postgres").pw_uid else \
            ["runuser", "-u", "postgres", "--"]
        subprocess.run([*self._as_postgres, f"{self.bin}/initdb", "-D", self.data, "-A", "trust",
                        "-U", "postgres"], check=True, capture_output=True, timeout=120)
        self.running = False

    def _pg_ctl(self, *args):
        return subprocess.run([*self._as_postgres, f"{self.bin}/pg_ctl", "-D", self.data, *args],
                              capture_output=True, text=True, timeout=120)

    def start(self):
        done = self._pg_ctl("-w", "-l", os.path.join(self.base, "postgres.log"), "-o",
                            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 "
                            "-c fsync=off", "start")
        assert done.returncode == 0, done.stderr
        self.running = True

    def kill(self):
        """Stop at once, as a crash would (``-m immediate``: no checkpoint, sessions cut)."""
        if self.running:
            self._pg_ctl("-m", "immediate", "stop")
            self.running = False


@pytest.fixture
def private_postgres():
    """A PostgreSQL cluster of this test's own, initialised, not started yet."""
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("the outage tests run their own PostgreSQL cluster as the postgres user, "
                    "and there is none: install the PostgreSQL server package")
    if os.geteuid() not in (0, pwd.getpwnam("postgres").pw_uid):
        pytest.fail("the outage tests run their own PostgreSQL cluster as the postgres user: "
                    "run them as root or as postgres")
    base = tempfile.mkdtemp(prefix="og-pg-")
    shutil.chown(base, "postgres")
    cluster = PrivatePostgres(base)
    yield cluster
    cluster.kill()
    shutil.rmtree(base, ignore_errors=True)
