"""The source service of the end-to-end benchmark, in its own process as in a deployment.

Usage: python -m benchmarks.e2e_source SERVICE DATABASE_URL N STREAMS
Prints "ready", waits for "go" on stdin, appends N events (100 streams per transaction, as
100 commands would), prints "appended", then waits for "stop".
"""
import warnings

warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import os  # noqa: E402
import sys  # noqa: E402

from onegrid.envelope import NewEvent  # noqa: E402
from onegrid.runtime import EventLogRpc, Store  # noqa: E402
from onegrid.testing import running  # noqa: E402

PAYLOAD = {"title": "water leak in stairwell 3", "category": "housing.leak", "street": "shazhou"}


def main(service, database_url, n, streams):
    Source = type("Source", (EventLogRpc,), {"name": service, "store": Store()})
    config = {"AMQP_URI": os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
              "ONEGRID_POLL_SECONDS": 0.01, f"{service.upper()}_DATABASE_URL": database_url}
    with running(Source, config=config) as containers:
        keeper = next(e for e in containers[0].shared_extensions.values() if hasattr(e, "relay"))
        print("ready", flush=True)
        eventlet.tpool.execute(sys.stdin.readline)  # off the loop: the relay keeps running
        for start in range(0, n, 100):
            batch = [(f"s-{(start + i) % streams}", (start + i) // streams,
                      [NewEvent("Noted", dict(PAYLOAD, n=start + i))])
                     for i in range(min(100, n - start))]
            eventlet.tpool.execute(keeper.store.append_batch, batch)
            keeper.appended()
        print("appended", flush=True)
        eventlet.tpool.execute(sys.stdin.readline)  # off the loop: the relay keeps running


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
