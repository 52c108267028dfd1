"""A slow SQLite write must not freeze the service's other workers."""
import sqlite3
import time

import eventlet
import pytest
from eventlet.patcher import original
from nameko.rpc import rpc

from onegrid.envelope import NewEvent
from onegrid.runtime import Store
from onegrid.testing import rpc_client, running

pytestmark = pytest.mark.broker
real_threading = original("threading")
real_time = original("time")


def make_service(unique):
    class Slow:
        name = f"slow{unique}"
        store = Store()

        @rpc
        def write(self):
            def decide(uow):
                uow.tx.append("s-1", uow.tx.stream_version("s-1"), [NewEvent("Noted", {})])
            self.store.command(decide)

        @rpc
        def write_on_the_loop(self):
            """The mistake the kernel avoids: a store call made on the eventlet loop itself."""
            store = self.store._store
            store.append("s-2", store.stream_version("s-2"), [NewEvent("Noted", {})])

        @rpc
        def ping(self):
            return "pong"

    return Slow


def hold_write_lock(path, seconds):
    """Another process-like writer holds SQLite's write lock for ``seconds``."""
    ready = real_threading.Event()

    def hold():
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        ready.set()
        real_time.sleep(seconds)
        conn.execute("COMMIT")
        conn.close()

    thread = real_threading.Thread(target=hold)
    thread.start()
    ready.wait()
    return thread


def timed_ping_during(rpc_, service, method, path):
    holder = hold_write_lock(path, 2.0)
    start = time.monotonic()
    slow = getattr(getattr(rpc_, service), method).call_async()
    eventlet.sleep(0.2)  # the slow write is under way (this test shares the service's loop)
    assert getattr(rpc_, service).ping() == "pong"
    ping_took = time.monotonic() - start  # from sending the write to the ping's answer
    slow.result()
    write_took = time.monotonic() - start
    holder.join()
    return ping_took, write_took


def test_other_workers_answer_while_one_waits_on_a_slow_sqlite_write(amqp_uri, tmp_path, unique):
    Slow = make_service(unique)
    path = f"{tmp_path}/{Slow.name}.sqlite"
    config = {"AMQP_URI": amqp_uri, f"{Slow.name.upper()}_DATABASE_URL": f"sqlite:///{path}",
              "ONEGRID_RELAY": False}
    with running(Slow, config=config), rpc_client(config) as rpc_:
        getattr(rpc_, Slow.name).write()  # create the file and tables
        ping_took, write_took = timed_ping_during(rpc_, Slow.name, "write", path)
        assert write_took >= 1.8, "the write should have waited for the lock"
        assert ping_took < 1.0, f"ping took {ping_took:.2f}s while a write was blocked"

        # the control: the same write made on the loop freezes every worker
        ping_took, _ = timed_ping_during(rpc_, Slow.name, "write_on_the_loop", path)
        assert ping_took >= 1.8, "a blocking call on the loop should have delayed the ping"
