"""One contract for every event store: the in-memory fake, SQLite and PostgreSQL."""
import datetime as dt

import pytest

from onegrid.envelope import Actor, NewEvent
from onegrid.store import DuplicateEvent, TrackingConflict, WrongExpectedVersion
from onegrid.store.memory import InMemoryEventStore
from onegrid.store.sql import SqlEventStore
from onegrid.testing import at_once


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path, unique):
    if request.param == "memory":
        yield InMemoryEventStore(node_id="shazhou")
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/store.sqlite"
        s = SqlEventStore(url, node_id="shazhou")
    else:
        url = request.getfixturevalue("database_url")
        s = SqlEventStore(url, node_id="shazhou", prefix=f"t{unique}_")
    yield s
    if request.param == "postgres":
        s.drop_all()
    s.close()


def opened(n=1, **kw):
    return [NewEvent("TicketOpened", {"title": f"leak {i}"}, **kw) for i in range(n)]


def test_append_assigns_versions_in_order_and_reads_them_back(store):
    store.append("t-1", 0, opened(3, actor=Actor("op-7", "hotline_operator")))
    events = store.read_stream("t-1")
    assert [e.version for e in events] == [1, 2, 3]
    assert [e.payload["title"] for e in events] == ["leak 0", "leak 1", "leak 2"]
    first = events[0]
    assert first.node_id == "shazhou" and first.actor_id == "op-7"
    assert first.actor_role == "hotline_operator"
    assert first.recorded_at.tzinfo is not None and first.occurred_at.tzinfo is not None
    assert first.correlation_id == first.event_id  # a root event correlates with itself


def test_append_with_a_stale_expected_version_raises_and_writes_nothing(store):
    store.append("t-1", 0, opened(2))
    with pytest.raises(WrongExpectedVersion) as err:
        store.append("t-1", 1, opened(1))
    assert err.value.actual == 2 and err.value.expected == 1
    assert "reload" in str(err.value)
    assert len(store.read_stream("t-1")) == 2
    assert store.last_position() == 2


def test_a_failed_batch_across_streams_writes_none_of_it(store):
    store.append("t-2", 0, opened(1))
    with pytest.raises(WrongExpectedVersion):
        store.append_batch([("t-1", 0, opened(2)), ("t-2", 0, opened(1))])
    assert store.read_stream("t-1") == []
    assert store.last_position() == 1


def test_an_event_id_is_stored_once(store):
    event = opened(1)[0]
    store.append("t-1", 0, [event])
    with pytest.raises(DuplicateEvent):
        store.append("t-2", 0, [event])
    assert store.read_stream("t-2") == []


def test_read_all_pages_through_the_log_in_position_order(store):
    for i in range(5):
        store.append(f"s-{i % 2}", store.stream_version(f"s-{i % 2}"), opened(3))
    first = store.read_all(0, 4)
    assert [e.position for e in first] == [1, 2, 3, 4]
    everything = list(store.iter_all(0, page=4))
    assert [e.position for e in everything] == list(range(1, 16))
    assert store.read_all(15, 10) == []
    assert store.last_position() == 15


def test_read_stream_can_start_after_a_version_and_stop_at_another(store):
    store.append("t-1", 0, opened(5))
    assert [e.version for e in store.read_stream("t-1", after_version=2, until_version=4)] == [3, 4]


def test_occurred_at_keeps_its_instant(store):
    when = dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    store.append("t-1", 0, [NewEvent("TicketOpened", {}, occurred_at=when)])
    assert store.read_stream("t-1")[0].occurred_at == when


def test_a_transaction_that_raises_leaves_no_trace(store):
    with pytest.raises(RuntimeError):
        with store.transaction() as tx:
            tx.append("t-1", 0, opened(1))
            tx.mark_applied("grid", "tickets", "t-9", 0, 1)
            tx.set_position("relay", 7)
            raise RuntimeError("handler failed")
    assert store.read_stream("t-1") == []
    with store.transaction() as tx:
        assert tx.applied_version("grid", "tickets", "t-9") == 0
        assert tx.get_position("relay") == 0


def test_inbox_moves_only_from_the_version_it_was_at(store):
    with store.transaction() as tx:
        tx.mark_applied("grid", "tickets", "t-1", 0, 1)
    with store.transaction() as tx:
        assert tx.applied_version("grid", "tickets", "t-1") == 1
        tx.mark_applied("grid", "tickets", "t-1", 1, 3)
    for previous in (0, 1):
        with pytest.raises(TrackingConflict):
            with store.transaction() as tx:
                tx.mark_applied("grid", "tickets", "t-1", previous, 4)
    with store.transaction() as tx:
        assert tx.applied_version("grid", "tickets", "t-1") == 3
        assert tx.applied_version("performance", "tickets", "t-1") == 0


def test_positions_are_saved_and_overwritten(store):
    store.set_position("relay", 10)
    store.set_position("relay", 12)
    assert store.get_position("relay") == 12
    assert store.get_position("projection:queues") == 0


def test_a_lease_has_one_holder_until_it_expires_or_is_released(store):
    assert store.try_lease("relay", "replica-a", ttl=30)
    assert not store.try_lease("relay", "replica-b", ttl=30)
    assert store.try_lease("relay", "replica-a", ttl=30)  # renewal
    store.release_lease("relay", "replica-a")
    assert store.try_lease("relay", "replica-b", ttl=0.01)
    import time
    time.sleep(0.05)
    assert store.try_lease("relay", "replica-a", ttl=30)


def test_concurrent_appends_to_one_stream_let_exactly_one_win(store):
    store.append("t-1", 0, opened(1))

    def writer():
        store.append("t-1", 1, opened(1))
        return "ok"
    outcomes = at_once(writer, 4, conflict=WrongExpectedVersion)
    assert sorted(outcomes) == ["conflict"] * 3 + ["ok"]
    assert [e.version for e in store.read_stream("t-1")] == [1, 2]


def test_a_savepoint_undoes_only_what_was_written_inside_it(store):
    with store.transaction() as tx:
        tx.append("t-1", 0, opened(1))
        tx.mark_applied("grid", "tickets", "t-1", 0, 1)
        with pytest.raises(RuntimeError):
            with tx.savepoint():
                tx.append("t-2", 0, opened(1))
                tx.mark_applied("grid", "tickets", "t-1", 1, 2)
                tx.set_position("relay", 3)
                raise RuntimeError("one reaction failed")
        tx.append("t-3", 0, opened(1))
        assert [e.stream_id for e in tx.appended] == ["t-1", "t-3"]
    assert [e.stream_id for e in store.iter_all()] == ["t-1", "t-3"]
    with store.transaction() as tx:
        assert tx.applied_version("grid", "tickets", "t-1") == 1
        assert tx.get_position("relay") == 0


def test_many_inbox_rows_are_read_and_moved_at_once(store):
    with store.transaction() as tx:
        tx.mark_applied("grid", "tickets", "t-1", 0, 2)
    with store.transaction() as tx:
        assert tx.applied_versions("grid", "tickets", ["t-1", "t-2"]) == {"t-1": 2, "t-2": 0}
        tx.mark_applied_many("grid", "tickets", {"t-1": (2, 5), "t-2": (0, 1)})
    with store.transaction() as tx:
        assert tx.applied_versions("grid", "tickets", ["t-1", "t-2", "t-3"]) == {
            "t-1": 5, "t-2": 1, "t-3": 0}
    with pytest.raises(TrackingConflict):
        with store.transaction() as tx:
            tx.mark_applied_many("grid", "tickets", {"t-2": (0, 4)})


def test_a_command_id_recorded_with_its_result_is_found_again_after_the_commit(store):
    with store.transaction() as tx:
        assert tx.command_record("c-1") is None
        tx.begin_command("c-1", "f" * 64)
        tx.append("t-1", 0, opened(1))
        tx.finish_command("c-1", '{"ticket_id": "t-1"}')
    with store.transaction() as tx:
        found = tx.command_record("c-1")
    assert (found.fingerprint, found.result) == ("f" * 64, '{"ticket_id": "t-1"}')


def test_a_command_id_rolled_back_with_its_events_is_not_recorded(store):
    with pytest.raises(WrongExpectedVersion):
        with store.transaction() as tx:
            tx.begin_command("c-2", "f" * 64)
            tx.append("t-1", 5, opened(1))
    with store.transaction() as tx:
        assert tx.command_record("c-2") is None


def test_a_second_run_of_one_command_id_in_flight_is_a_race_to_retry(store):
    from onegrid.store import CommandRace
    with store.transaction() as tx:
        tx.begin_command("c-3", "a" * 64)
        tx.finish_command("c-3", "1")
    with pytest.raises(CommandRace):
        with store.transaction() as tx:
            tx.begin_command("c-3", "a" * 64)


def test_old_command_ids_are_pruned_and_new_ones_kept(store):
    with store.transaction() as tx:
        tx.begin_command("c-old", "a" * 64)
        tx.finish_command("c-old", "1")
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)
    assert store.prune_commands(later) == 1
    assert store.prune_commands(later) == 0
    with store.transaction() as tx:
        assert tx.command_record("c-old") is None
