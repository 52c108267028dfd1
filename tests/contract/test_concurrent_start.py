"""Replicas that start together on one SQLite file wait their turn to create tables."""
from eventlet.patcher import original

from onegrid.store.sql import SqlEventStore

real_threading = original("threading")


def test_eight_replicas_opening_one_new_sqlite_store_at_once_all_succeed(tmp_path):
    url = f"sqlite:///{tmp_path}/shared.sqlite"
    errors, stores = [], []
    barrier = real_threading.Barrier(8)

    def open_store(i):
        barrier.wait()
        try:
            stores.append(SqlEventStore(url, node_id=f"r{i}", prefix="tickets_"))
        except Exception as failed:  # the assertion below names it
            errors.append(repr(failed))

    threads = [real_threading.Thread(target=open_store, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(stores) == 8
    for s in stores:
        s.close()
