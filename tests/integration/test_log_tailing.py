"""A reader tailing the log never skips an event that commits late with a lower position."""
import random
import time

import pytest
from eventlet.patcher import original

from onegrid.envelope import NewEvent
from onegrid.store.sql import SqlEventStore

real_threading = original("threading")
real_time = original("time")

pytestmark = pytest.mark.postgres


def test_a_tailing_reader_sees_every_event_despite_concurrent_slow_committers(database_url, unique):
    rng = random.Random(7)

    def slow_commit(_tx):
        # hold the transaction open after inserting, so commits finish out of order
        real_time.sleep(rng.random() * 0.01)

    store = SqlEventStore(database_url, node_id="t", prefix=f"tail{unique}_",
                          before_commit=slow_commit)
    writers, per_writer = 6, 40
    done = real_threading.Event()
    seen: list[int] = []
    seen_ids: list[str] = []

    def write(w):
        for i in range(per_writer):
            store.append(f"w{w}-{i}", 0, [NewEvent("Written", {"w": w, "i": i})])

    def tail():
        after = 0
        while True:
            finished = done.is_set()
            page = store.read_all(after, 7)
            for envelope in page:
                seen.append(envelope.position)
                seen_ids.append(envelope.event_id)
            if page:
                after = page[-1].position
            elif finished:
                return
            else:
                real_time.sleep(0.001)

    try:
        threads = [real_threading.Thread(target=write, args=(w,)) for w in range(writers)]
        reader = real_threading.Thread(target=tail)
        reader.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.set()
        reader.join(timeout=30)
        everything = list(store.iter_all())
        assert len(everything) == writers * per_writer
        assert seen_ids == [e.event_id for e in everything]
        assert seen == sorted(seen)
    finally:
        store.drop_all()
        store.close()
