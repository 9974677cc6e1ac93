from datetime import UTC, datetime
from uuid import uuid4

from eventsourcing.domain import AggregateEvent
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, Mapper, UUIDAsHex

from cortex.domain.idea import Idea, IdeaCaptured
from cortex.eventstore.codec import MsgspecMapper, MsgspecTranscoder

NOW = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


def captured() -> IdeaCaptured:
    idea = Idea.capture(
        id=uuid4(), project_id=uuid4(), title="T", body="B", tags=["a", "b"], at=NOW
    )
    (event,) = idea.collect_events()
    assert isinstance(event, IdeaCaptured)
    return event


def test_round_trip_restores_types() -> None:
    mapper = MsgspecMapper(MsgspecTranscoder())
    event = captured()
    restored = mapper.to_domain_event(mapper.to_stored_event(event))
    assert restored == event
    assert isinstance(restored, IdeaCaptured)
    assert restored.timestamp == NOW
    assert restored.timestamp.tzinfo is not None
    assert restored.project_id == event.project_id
    assert restored.tags == ("a", "b")


def test_stored_state_is_plain_json_smaller_than_the_library_default() -> None:
    event = captured()
    ours = MsgspecMapper(MsgspecTranscoder()).to_stored_event(event).state
    library = JSONTranscoder()
    library.register(UUIDAsHex())
    library.register(DatetimeAsISO())
    theirs = Mapper(library).to_stored_event(event).state
    assert b"_type_" not in ours
    assert len(ours) < len(theirs)


class Renamed(AggregateEvent):
    """Version 2 split `name` into `first` and `last`."""

    class_version = 2
    first: str
    last: str

    @staticmethod
    def upcast_v1_v2(state: dict) -> None:
        first, _, last = state.pop("name").partition(" ")
        state["first"], state["last"] = first, last


def test_old_event_versions_are_upcast_on_read() -> None:
    mapper = MsgspecMapper(MsgspecTranscoder())
    current = Renamed(
        originator_id=uuid4(), originator_version=2, timestamp=NOW, first="A", last="B"
    )
    stored = mapper.to_stored_event(current)
    assert b'"class_version":2' in stored.state
    v1_state = b'{"timestamp":"2026-03-04T05:06:07.891011Z","name":"Ada Lovelace"}'
    old = type(stored)(stored.originator_id, 2, stored.topic, v1_state)
    restored = mapper.to_domain_event(old)
    assert (restored.first, restored.last) == ("Ada", "Lovelace")
    assert restored.timestamp == NOW
