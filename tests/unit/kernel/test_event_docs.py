"""docs/events.md is generated from the schemas and must not drift from them."""
from pathlib import Path

from onegrid.eventdocs import events_markdown

DOC = Path(__file__).resolve().parents[3] / "docs" / "events.md"


def test_docs_events_md_matches_the_event_schemas():
    assert DOC.read_text(encoding="utf-8") == events_markdown(), (
        "docs/events.md is stale: run `onegrid docs events`")


def test_every_ticket_event_is_documented_with_private_fields_marked():
    text = events_markdown()
    for name in ("TicketOpened", "TicketDispatched", "CallbackRecorded", "TicketMerged"):
        assert f"### {name}" in text
    assert "`reporter_phone` | string | no | **private" in text
