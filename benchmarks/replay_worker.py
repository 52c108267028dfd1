"""Replay a SQLite log into a projection and print rate and peak RSS (run by the kernel bench)."""
import json
import resource
import sys
import time

import sqlalchemy as sa

from onegrid.projections import Projection, replay
from onegrid.store.sql import SqlEventStore


class StreamSummary(Projection):
    """Per stream: how many events, the last version, type and time (an upsert per page)."""

    name = "stream_summary"
    metadata = sa.MetaData()
    table = sa.Table(
        "stream_summary", metadata,
        sa.Column("stream_id", sa.String(200), primary_key=True),
        sa.Column("events", sa.Integer, nullable=False),
        sa.Column("last_version", sa.Integer, nullable=False),
        sa.Column("last_type", sa.String(120), nullable=False),
        sa.Column("last_at", sa.String(40), nullable=False),
    )

    def apply_page(self, conn, envelopes):
        folded = {}
        for e in envelopes:
            row = folded.get(e.stream_id)
            if row is None:
                folded[e.stream_id] = row = {"stream_id": e.stream_id, "events": 0}
            row["events"] += 1
            row["last_version"] = e.version
            row["last_type"] = e.event_type
            row["last_at"] = e.occurred_at.isoformat()
        # plain DB-API executemany: the fold is the hot path of a replay
        conn.exec_driver_sql(self.UPSERT, [
            (r["stream_id"], r["events"], r["last_version"], r["last_type"], r["last_at"])
            for r in folded.values()])

    UPSERT = (
        "INSERT INTO stream_summary (stream_id, events, last_version, last_type, last_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (stream_id) DO UPDATE SET "
        "events = events + excluded.events, last_version = excluded.last_version, "
        "last_type = excluded.last_type, last_at = excluded.last_at")


def main(path):
    store = SqlEventStore(f"sqlite:///{path}", node_id="bench")
    started = time.perf_counter()
    count = replay(store, StreamSummary(), page_size=5000)
    elapsed = time.perf_counter() - started
    with store.reading() as conn:
        total = conn.execute(sa.select(sa.func.sum(StreamSummary.table.c.events))).scalar()
    assert total == count, f"projection folded {total} of {count} events"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"events": count, "rate": count / elapsed, "peak_rss_mb": peak}))


if __name__ == "__main__":
    main(sys.argv[1])
