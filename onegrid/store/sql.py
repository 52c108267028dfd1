"""The SQL event store on SQLAlchemy 2 Core: SQLite by default, PostgreSQL in production.

Position order must be commit order, or a reader tailing the log could pass over an event
whose transaction took a lower position but committed later. SQLite has one writer at a
time (``BEGIN IMMEDIATE``). On PostgreSQL every appending transaction takes the events
table's EXCLUSIVE lock before it inserts and keeps it until it commits, so positions are
handed out and made visible in the same order; plain readers are not blocked by it.
"""
from __future__ import annotations

import contextlib
import os
import datetime as dt
import orjson
import time
from typing import Callable, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..envelope import Envelope, NewEvent, dumps, utcnow
from .base import (CommandRace, CommandRecord, DuplicateEvent, EventStore, Transaction,
                   TrackingConflict, WrongExpectedVersion)

try:  # the OS thread lock even when eventlet has patched threading: writers run on tpool
    from eventlet.patcher import original as _original
    _real_threading = _original("threading")
except ImportError:  # pragma: no cover - eventlet is a dependency, but the store needs none
    import threading as _real_threading

_fromiso = dt.datetime.fromisoformat
_loads = orjson.loads


def make_tables(prefix: str = "") -> sa.MetaData:
    """The store's tables; ``prefix`` lets several stores share one database (tests, demos)."""
    md = sa.MetaData()
    big = sa.BigInteger().with_variant(sa.Integer, "sqlite")
    sa.Table(
        f"{prefix}events", md,
        sa.Column("position", big, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("stream_id", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("event_type", sa.String(120), nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("occurred_at", sa.String(40), nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("correlation_id", sa.String(36), nullable=False),
        sa.Column("causation_id", sa.String(36)),
        sa.Column("actor_id", sa.String(120), nullable=False),
        sa.Column("actor_role", sa.String(40), nullable=False),
        sa.UniqueConstraint("stream_id", "version", name=f"{prefix}uq_stream_version"),
        sa.UniqueConstraint("event_id", name=f"{prefix}uq_event_id"),
    )
    sa.Table(
        f"{prefix}inbox", md,
        sa.Column("consumer", sa.String(200), primary_key=True),
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("stream_id", sa.String(200), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    sa.Table(
        f"{prefix}positions", md,
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("position", big, nullable=False),
    )
    sa.Table(  # commands run, by their id: a repeat gets the first result (docs/kernel.md)
        f"{prefix}commands", md,
        sa.Column("command_id", sa.String(200), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("result", sa.Text),
        sa.Column("recorded_at", sa.String(40), nullable=False),
    )
    sa.Table(
        f"{prefix}leases", md,
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    return md


class OsLockQueuePool(sa.pool.QueuePool):
    """A QueuePool whose locks are the OS's, even when eventlet has patched ``threading``.

    Store calls run on eventlet's thread pool (``tpool``): real OS threads. QueuePool's
    queue mutex and conditions and its overflow lock come from ``threading``, which
    eventlet made green: a green lock contended by two OS threads parks the loser on its
    own thread's hub and later wakes it from another thread, which fails ("Cannot switch
    to a different thread") and leaves it parked for ever. A database restart makes every
    thread invalidate and reconnect at once (overflow lock, queue mutex), so it hung a
    service. These locks block the OS thread instead, which is what a tpool thread wants.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        queue = self._pool
        queue.mutex = _real_threading.RLock()
        queue.not_empty = _real_threading.Condition(queue.mutex)
        queue.not_full = _real_threading.Condition(queue.mutex)
        self._overflow_lock = _real_threading.Lock()
        self._os_event_mutexes = False
        self._os_setup_lock = _real_threading.Lock()

    def _create_connection(self):
        # the first connect runs the dialect's connect/first_connect listeners under a
        # mutex that SQLAlchemy makes from (green) threading: give it a real one first
        if not self._os_event_mutexes:
            with self._os_setup_lock:
                if not self._os_event_mutexes:
                    for name in ("connect", "first_connect"):
                        listeners = getattr(self.dispatch, name).for_modify(self.dispatch)
                        if getattr(listeners, "_exec_once_mutex", False) is None:
                            listeners._exec_once_mutex = _real_threading.Lock()
                    self._os_event_mutexes = True
        return super()._create_connection()


def create_engine(url: str, *, sqlite_synchronous: str = "FULL", **kwargs) -> Engine:
    """An engine with the settings the store relies on (WAL and explicit BEGIN on SQLite)."""
    # store calls run on eventlet's thread pool (20 threads unless EVENTLET_THREADPOOL_SIZE
    # says otherwise): a pool smaller than that makes threads wait for a connection; the
    # pool's locks are the OS's (OsLockQueuePool), never green ones shared between threads
    threads = int(os.environ.get("EVENTLET_THREADPOOL_SIZE", 20))
    kwargs.setdefault("pool_size", threads + 5)
    kwargs.setdefault("max_overflow", 10)
    if not url.startswith("sqlite"):
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("poolclass", OsLockQueuePool)
        return sa.create_engine(url, **kwargs)
    if url in ("sqlite://", "sqlite:///:memory:"):
        # one shared in-memory database (unit tests): every checkout is the same connection
        kwargs = {k: v for k, v in kwargs.items() if k not in ("pool_size", "max_overflow")}
        kwargs["poolclass"] = sa.pool.StaticPool
    kwargs.setdefault("poolclass", OsLockQueuePool)
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # let SQLAlchemy's begin event emit BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={sqlite_synchronous}")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):
        # writers take the write lock up front, so two of them never deadlock upgrading
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def create_tables(metadata: sa.MetaData, engine: Engine) -> None:
    """Create what is missing of ``metadata``, one creator at a time.

    On SQLite the check-then-create runs under the write lock (``BEGIN IMMEDIATE``): with a
    deferred transaction, replicas starting together fail with "database is locked"
    instead of waiting their turn.
    """
    with engine.connect() as conn:
        conn.execution_options(sqlite_immediate=True)
        with conn.begin():
            metadata.create_all(conn)


def drop_tables(metadata: sa.MetaData, engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execution_options(sqlite_immediate=True)
        with conn.begin():
            metadata.drop_all(conn)


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).isoformat()


class _SqlTransaction(Transaction):
    def __init__(self, store: "SqlEventStore", connection: Connection):
        self._store = store
        self.connection = connection
        self.appended: list[Envelope] = []

    def append(self, stream_id, expected_version, events: Sequence[NewEvent]):
        store, conn = self._store, self.connection
        if not events:
            return []
        if store.is_postgres:
            # every append takes it (a no-op once held): a savepoint that rolled back has
            # released a lock taken inside it, and a later append must not go without it
            conn.exec_driver_sql(f"LOCK TABLE {store.quoted_events} IN EXCLUSIVE MODE")
        actual = self.stream_version(stream_id)
        if actual != expected_version:
            raise WrongExpectedVersion(stream_id, expected_version, actual)
        now, node, rows, out = utcnow(), store.node_id, [], []
        recorded = _iso(now)
        for offset, new in enumerate(events, start=1):
            version = expected_version + offset
            correlation = new.correlation_id or new.event_id
            rows.append({
                "event_id": new.event_id, "stream_id": stream_id, "version": version,
                "event_type": new.event_type, "schema_version": new.schema_version,
                "payload": dumps(new.payload), "occurred_at": _iso(new.occurred_at),
                "recorded_at": recorded, "node_id": node, "correlation_id": correlation,
                "causation_id": new.causation_id, "actor_id": new.actor.id,
                "actor_role": new.actor.role,
            })
            out.append(Envelope(
                new.event_id, stream_id, version, new.event_type, new.schema_version,
                new.payload, new.occurred_at, now, node, correlation, new.causation_id,
                new.actor.id, new.actor.role))
        try:
            conn.execute(store.events.insert(), rows)
        except sa.exc.IntegrityError:
            # the version check ran under the write lock, so only an event id can clash
            raise DuplicateEvent(f"an event of this batch is already stored: "
                                 f"{[e.event_id for e in events]}") from None
        self.appended.extend(out)
        return out

    def read_stream(self, stream_id, after_version=0, until_version=None):
        t = self._store.events
        stmt = self._store._select().where(t.c.stream_id == stream_id, t.c.version > after_version)
        if until_version is not None:
            stmt = stmt.where(t.c.version <= until_version)
        rows = self.connection.execute(stmt.order_by(t.c.version)).all()
        return [self._store._row(r) for r in rows]

    def stream_version(self, stream_id):
        t = self._store.events
        return self.connection.execute(
            sa.select(sa.func.coalesce(sa.func.max(t.c.version), 0))
            .where(t.c.stream_id == stream_id)).scalar_one()

    def applied_version(self, consumer, source, stream_id):
        t = self._store.inbox
        found = self.connection.execute(sa.select(t.c.version).where(
            t.c.consumer == consumer, t.c.source == source, t.c.stream_id == stream_id)).scalar()
        return found or 0

    def mark_applied(self, consumer, source, stream_id, previous, version):
        t, conn = self._store.inbox, self.connection
        key = (t.c.consumer == consumer, t.c.source == source, t.c.stream_id == stream_id)
        if previous == 0:
            try:
                with conn.begin_nested():
                    conn.execute(t.insert().values(consumer=consumer, source=source,
                                                   stream_id=stream_id, version=version))
                return
            except sa.exc.IntegrityError:
                raise TrackingConflict(f"{consumer} already applied {source}/{stream_id}") from None
        moved = conn.execute(t.update().where(*key, t.c.version == previous).values(version=version))
        if moved.rowcount != 1:
            raise TrackingConflict(f"{consumer} already moved past {source}/{stream_id}@{previous}")

    def applied_versions(self, consumer, source, stream_ids):
        t, found = self._store.inbox, {}
        stream_ids = list(dict.fromkeys(stream_ids))
        for start in range(0, len(stream_ids), 500):
            chunk = stream_ids[start:start + 500]
            stmt = sa.select(t.c.stream_id, t.c.version).where(
                t.c.consumer == consumer, t.c.source == source, t.c.stream_id.in_(chunk))
            if self._store.is_postgres:
                stmt = stmt.with_for_update()  # hold the rows until this transaction ends
            found.update(self.connection.execute(stmt).all())
        return {s: found.get(s, 0) for s in stream_ids}

    def mark_applied_many(self, consumer, source, moves):
        """Callers read the rows with ``applied_versions`` in this transaction, which locked
        them (PostgreSQL) or holds the database's write lock (SQLite), so plain writes are
        safe; a row another replica inserted meanwhile fails the insert: TrackingConflict."""
        t, conn = self._store.inbox, self.connection
        new = [{"consumer": consumer, "source": source, "stream_id": s, "version": v}
               for s, (previous, v) in moves.items() if previous == 0]
        moved = [{"s": s, "v": v} for s, (previous, v) in moves.items() if previous != 0]
        if new:
            try:
                with conn.begin_nested():
                    conn.execute(t.insert(), new)
            except sa.exc.IntegrityError:
                raise TrackingConflict(f"{consumer} met streams of {source} applied meanwhile") from None
        if moved:
            conn.execute(t.update().where(
                t.c.consumer == consumer, t.c.source == source,
                t.c.stream_id == sa.bindparam("s")).values(version=sa.bindparam("v")), moved)

    @contextlib.contextmanager
    def savepoint(self):
        mark = len(self.appended)
        try:
            with self.connection.begin_nested():
                yield
        except BaseException:
            del self.appended[mark:]
            raise

    def get_position(self, name):
        t = self._store.positions
        found = self.connection.execute(sa.select(t.c.position).where(t.c.name == name)).scalar()
        return found or 0

    def move_position(self, name, previous, position):
        t, conn = self._store.positions, self.connection
        if previous == 0 and self.get_position(name) == 0:
            try:
                with conn.begin_nested():
                    if conn.execute(t.update().where(t.c.name == name, t.c.position == 0)
                                    .values(position=position)).rowcount == 0:
                        conn.execute(t.insert().values(name=name, position=position))
                return
            except sa.exc.IntegrityError:
                raise TrackingConflict(f"{name} was started by another runner") from None
        moved = conn.execute(t.update().where(t.c.name == name, t.c.position == previous)
                             .values(position=position))
        if moved.rowcount != 1:
            raise TrackingConflict(f"{name} moved on from {previous}")

    def read_all(self, after_position=0, limit=1000):
        return self._store._read_all(self.connection, after_position, limit)

    def command_record(self, command_id):
        t = self._store.commands
        row = self.connection.execute(sa.select(t.c.fingerprint, t.c.result)
                                      .where(t.c.command_id == command_id)).first()
        return None if row is None else CommandRecord(row[0], row[1])

    def begin_command(self, command_id, fingerprint):
        t, conn = self._store.commands, self.connection
        try:
            with conn.begin_nested():
                conn.execute(t.insert().values(command_id=command_id, fingerprint=fingerprint,
                                               recorded_at=_iso(utcnow())))
        except sa.exc.IntegrityError:
            raise CommandRace(command_id) from None

    def finish_command(self, command_id, result):
        t = self._store.commands
        self.connection.execute(t.update().where(t.c.command_id == command_id)
                                .values(result=result))

    def set_position(self, name, position):
        t, conn = self._store.positions, self.connection
        if conn.execute(t.update().where(t.c.name == name).values(position=position)).rowcount == 0:
            conn.execute(t.insert().values(name=name, position=position))


class SqlEventStore(EventStore):
    def __init__(self, url: str, node_id: str, *, prefix: str = "", engine: Engine | None = None,
                 before_commit: Optional[Callable[[Transaction], None]] = None, **engine_options):
        self.node_id = node_id
        self.url = url
        self.engine = engine or create_engine(url, **engine_options)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.metadata = make_tables(prefix)
        self.events = self.metadata.tables[f"{prefix}events"]
        self.inbox = self.metadata.tables[f"{prefix}inbox"]
        self.positions = self.metadata.tables[f"{prefix}positions"]
        self.leases = self.metadata.tables[f"{prefix}leases"]
        self.commands = self.metadata.tables[f"{prefix}commands"]
        self._before_commit = before_commit  # a test hook: widen the window before COMMIT
        # SQLite has one writer at a time. Writers of this process queue on a lock rather than
        # on SQLite's busy handler, which polls with sleeps of up to 100 ms (the long tail of
        # command latency); other processes still wait through the busy timeout.
        self._writers = _real_threading.RLock() if self.is_sqlite else contextlib.nullcontext()
        create_tables(self.metadata, self.engine)
        self.quoted_events = self.engine.dialect.identifier_preparer.format_table(self.events)
        t = self.events
        self._columns = (t.c.event_id, t.c.stream_id, t.c.version, t.c.event_type,
                         t.c.schema_version, t.c.payload, t.c.occurred_at, t.c.recorded_at,
                         t.c.node_id, t.c.correlation_id, t.c.causation_id, t.c.actor_id,
                         t.c.actor_role, t.c.position)

    def _select(self):
        return sa.select(*self._columns)

    @staticmethod
    def _row(r) -> Envelope:
        return Envelope(r[0], r[1], r[2], r[3], r[4], _loads(r[5]), _fromiso(r[6]),
                        _fromiso(r[7]), r[8], r[9], r[10], r[11], r[12], r[13])

    @contextlib.contextmanager
    def transaction(self):
        with self._writers:
            with self.engine.connect() as conn:
                conn.execution_options(sqlite_immediate=True)
                with conn.begin():
                    tx = _SqlTransaction(self, conn)
                    yield tx
                    if self._before_commit is not None:
                        self._before_commit(tx)

    @contextlib.contextmanager
    def snapshot(self):
        """A read transaction: SQLite's deferred BEGIN in WAL, PostgreSQL's REPEATABLE READ."""
        with self.engine.connect() as conn:
            if self.is_postgres:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield _SqlTransaction(self, conn)

    @contextlib.contextmanager
    def reading(self):
        """A read-only connection (on SQLite it does not take the write lock)."""
        with self.engine.connect() as conn:
            yield conn

    def read_all(self, after_position=0, limit=1000):
        with self.reading() as conn:
            return self._read_all(conn, after_position, limit)

    def _read_all(self, conn, after_position, limit):
        t = self.events
        stmt = self._select().where(t.c.position > after_position).order_by(t.c.position).limit(limit)
        rows = conn.execute(stmt).all()  # one fetchall, not a fetchone per row
        return [self._row(r) for r in rows]

    def read_stream(self, stream_id, after_version=0, until_version=None):
        with self.reading() as conn:
            return _SqlTransaction(self, conn).read_stream(stream_id, after_version, until_version)

    def stream_version(self, stream_id):
        with self.reading() as conn:
            return _SqlTransaction(self, conn).stream_version(stream_id)

    def get_position(self, name):
        with self.reading() as conn:
            return _SqlTransaction(self, conn).get_position(name)

    def last_position(self):
        with self.reading() as conn:
            return conn.execute(sa.select(sa.func.coalesce(sa.func.max(self.events.c.position), 0))
                                ).scalar_one()

    def prune_commands(self, before):
        t = self.commands
        with self.transaction() as tx:
            return tx.connection.execute(t.delete().where(t.c.recorded_at < _iso(before))).rowcount

    def try_lease(self, name, holder, ttl):
        t, now = self.leases, time.time()
        with self.transaction() as tx:
            conn = tx.connection
            row = conn.execute(sa.select(t.c.holder, t.c.expires_at).where(t.c.name == name)).first()
            if row is None:
                try:
                    with conn.begin_nested():
                        conn.execute(t.insert().values(name=name, holder=holder, expires_at=now + ttl))
                    return True
                except sa.exc.IntegrityError:
                    return False
            if row.holder != holder and row.expires_at > now:
                return False
            taken = conn.execute(t.update().where(
                t.c.name == name, t.c.holder == row.holder, t.c.expires_at == row.expires_at,
            ).values(holder=holder, expires_at=now + ttl))
            return taken.rowcount == 1

    def release_lease(self, name, holder):
        t = self.leases
        with self.transaction() as tx:
            tx.connection.execute(t.delete().where(t.c.name == name, t.c.holder == holder))

    def drop_all(self) -> None:
        """Drop the store's tables (tests)."""
        drop_tables(self.metadata, self.engine)

    def close(self):
        self.engine.dispose()
