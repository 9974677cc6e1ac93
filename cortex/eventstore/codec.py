"""msgspec serialisation of domain events, plugged in through eventsourcing's Mapper.

The library's JSONTranscoder turns every UUID and datetime into a tagged object and back. Here an
event's state is written as plain JSON by msgspec, and read back *typed*: the decoder for each event
class is derived once from its dataclass fields, so datetimes, UUIDs and tuples come back as such.
Event classes past version 1 take a slower path: decoded untyped, upcast by the class's
``upcast_vN_vM`` methods (stored state without ``class_version`` is version 1), then converted.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any, TypedDict, get_type_hints

import msgspec
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    Transcoder,
)
from eventsourcing.utils import get_topic, resolve_topic

_ENVELOPE_FIELDS = frozenset({"originator_id", "originator_version"})


class MsgspecTranscoder(Transcoder):
    """Plain JSON through msgspec, for state whose type is not known (snapshots, ad hoc use)."""

    def __init__(self) -> None:
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder()

    def encode(self, obj: Any) -> bytes:
        return self._encoder.encode(obj)

    def decode(self, data: bytes) -> Any:
        return self._decoder.decode(data)


@cache
def _state_type(event_class: type[Any]) -> Any:
    hints = get_type_hints(event_class)
    fields = {
        field.name: hints[field.name]
        for field in dataclasses.fields(event_class)
        if field.name not in _ENVELOPE_FIELDS
    }
    return TypedDict(f"{event_class.__name__}State", fields, total=False)  # type: ignore[operator]


def _state_type_of(event_class: type[Any]) -> Any:
    return _state_type(event_class)  # type: ignore[arg-type]  # classes are hashable


@cache
def _state_decoder(event_class: type[Any]) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(_state_type_of(event_class))


class MsgspecMapper(Mapper[Any]):
    """Maps domain events to stored events and back with msgspec, decoding state typed."""

    def __init__(self, transcoder: Transcoder, compressor: Any = None, cipher: Any = None) -> None:
        super().__init__(transcoder=transcoder, compressor=compressor, cipher=cipher)
        self._encoder = msgspec.json.Encoder()

    def to_stored_event(self, domain_event: DomainEventProtocol[Any]) -> StoredEvent:
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        data = self._encoder.encode(state)
        if self.compressor:
            data = self.compressor.compress(data)
        if self.cipher:
            data = self.cipher.encrypt(data)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(type(domain_event)),
            state=data,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[Any]:
        event_class = resolve_topic(stored_event.topic)
        data = stored_event.state
        try:
            if self.cipher:
                data = self.cipher.decrypt(data)
            if self.compressor:
                data = self.compressor.decompress(data)
            state = self._decode_state(event_class, data)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            msg = (
                f"cannot decode stored event {stored_event.topic} of "
                f"{stored_event.originator_id} v{stored_event.originator_version}: {error}"
            )
            raise MapperDeserialisationError(msg) from error
        state["originator_id"] = stored_event.originator_id
        state["originator_version"] = stored_event.originator_version
        domain_event = object.__new__(event_class)
        object.__setattr__(domain_event, "__dict__", state)
        return domain_event  # type: ignore[no-any-return]

    @staticmethod
    def _decode_state(event_class: type[Any], data: bytes) -> dict[str, Any]:
        class_version = getattr(event_class, "class_version", 1)
        if class_version == 1:
            return dict(_state_decoder(event_class).decode(data))  # type: ignore[arg-type]
        raw: dict[str, Any] = msgspec.json.decode(data)
        from_version = raw.pop("class_version", 1)
        while from_version < class_version:
            getattr(event_class, f"upcast_v{from_version}_v{from_version + 1}")(raw)
            from_version += 1
        return dict(msgspec.convert(raw, _state_type_of(event_class), strict=False))
