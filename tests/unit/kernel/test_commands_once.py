"""A command runs once per command id: a repeat gets the first result and records nothing."""
import dataclasses

import pytest

from onegrid.errors import CommandIdReused
from onegrid.envelope import NewEvent
from onegrid.registry import EventRegistry
from onegrid.store import open_store
from onegrid.uow import CommandId, fingerprint, run_in_transaction


@dataclasses.dataclass(frozen=True)
class Note:
    stream_id: str
    text: str


def note(cmd):
    def handler(uow):
        version = uow.tx.stream_version(cmd.stream_id)
        uow.tx.append(cmd.stream_id, version, [NewEvent("Noted", {"text": cmd.text})])
        return {"stream_id": cmd.stream_id, "version": version + 1}
    return handler


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/s.sqlite"
    return open_store(url, "shazhou")


def test_a_repeated_command_id_returns_the_first_result_and_records_nothing(store):
    cmd = Note("n-1", "first")
    once = CommandId("req-1", fingerprint(cmd))
    first, recorded = run_in_transaction(store, EventRegistry(), note(cmd), command=once)
    again, recorded_again = run_in_transaction(store, EventRegistry(), note(cmd), command=once)
    assert first == again == {"stream_id": "n-1", "version": 1}
    assert len(recorded) == 1 and recorded_again == []
    assert len(store.read_stream("n-1")) == 1


def test_the_same_command_id_with_other_arguments_is_refused_and_records_nothing(store):
    first = Note("n-1", "first")
    run_in_transaction(store, EventRegistry(), note(first),
                       command=CommandId("req-1", fingerprint(first)))
    other = Note("n-1", "second")
    with pytest.raises(CommandIdReused, match="req-1"):
        run_in_transaction(store, EventRegistry(), note(other),
                           command=CommandId("req-1", fingerprint(other)))
    assert [e.payload["text"] for e in store.read_stream("n-1")] == ["first"]


def test_a_command_whose_handler_fails_leaves_no_record_so_a_retry_runs_it(store):
    cmd = Note("n-1", "first")
    once = CommandId("req-9", fingerprint(cmd))

    def failing(uow):
        note(cmd)(uow)
        raise RuntimeError("the database went away mid-command")

    with pytest.raises(RuntimeError):
        run_in_transaction(store, EventRegistry(), failing, command=once)
    result, recorded = run_in_transaction(store, EventRegistry(), note(cmd), command=once)
    assert result == {"stream_id": "n-1", "version": 1} and len(recorded) == 1
