"""Codec benchmark: Cortex's MsgspecMapper against eventsourcing's default Mapper + JSONTranscoder.

Run:  .venv/bin/python benchmarks/bench_codec.py [--events N] [--repeat R]

Encodes (domain event -> StoredEvent) and decodes (StoredEvent -> domain event) IdeaCaptured events,
and IdeaVoted events for comparison, with both mappers; prints operations per second (best of R
passes over N distinct events), the stored state size in bytes, and the ratios ours / library.
No database is involved; it takes a few seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, Mapper, UUIDAsHex

from cortex.domain.idea import Idea, IdeaCaptured, IdeaVoted
from cortex.eventstore.codec import MsgspecMapper, MsgspecTranscoder

BODY = (
    "Keep the last applied position of each projector in memory and write it once per batch, "
    "so that a rebuild of a large log spends its time applying events rather than updating a "
    "single row over and over. Measure before and after."
)


def make_events(count: int) -> tuple[list[IdeaCaptured], list[IdeaVoted]]:
    captured: list[IdeaCaptured] = []
    voted: list[IdeaVoted] = []
    start = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    project_id = uuid4()
    for i in range(count):
        at = start + timedelta(microseconds=i * 1_013)
        idea = Idea.capture(
            id=uuid4(),
            project_id=project_id,
            title=f"Benchmark idea #{i}: cache the projection positions",
            body=BODY,
            tags=["performance", "projections", f"tag-{i % 50}"],
            at=at,
        )
        idea.vote(1, at=at)
        first, second = idea.collect_events()
        assert isinstance(first, IdeaCaptured)
        assert isinstance(second, IdeaVoted)
        captured.append(first)
        voted.append(second)
    return captured, voted


def library_mapper() -> Mapper[Any]:
    transcoder = JSONTranscoder()
    transcoder.register(UUIDAsHex())
    transcoder.register(DatetimeAsISO())
    return Mapper(transcoder)


def best_rate(func: Callable[[Any], Any], items: Sequence[Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for item in items:
            func(item)
        best = min(best, time.perf_counter() - started)
    return len(items) / best


def check_round_trip(mapper: Mapper[Any], event: Any) -> None:
    restored = mapper.to_domain_event(mapper.to_stored_event(event))
    for name, value in vars(event).items():
        got = getattr(restored, name)
        if isinstance(value, tuple):
            got = tuple(got)  # the library's JSONTranscoder gives tuples back as lists
        if got != value:
            raise AssertionError(f"{type(mapper).__name__}: {name} {got!r} != {value!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="distinct events per pass")
    parser.add_argument("--repeat", type=int, default=5, help="passes; the best one counts")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    mappers: dict[str, Mapper[Any]] = {
        "msgspec (ours)": MsgspecMapper(MsgspecTranscoder()),
        "library default": library_mapper(),
    }
    captured, voted = make_events(args.events)
    results: dict[tuple[str, str], tuple[float, float, float]] = {}
    for kind, events in (("IdeaCaptured", captured), ("IdeaVoted", voted)):
        for name, mapper in mappers.items():
            check_round_trip(mapper, events[0])
            stored = [mapper.to_stored_event(event) for event in events]
            size = sum(len(s.state) for s in stored) / len(stored)
            encode = best_rate(mapper.to_stored_event, events, args.repeat)
            decode = best_rate(mapper.to_domain_event, stored, args.repeat)
            results[kind, name] = (encode, decode, size)

    print(f"{args.events} distinct events per pass, best of {args.repeat} passes\n")
    header = f"{'event':<13} {'mapper':<16} {'encode ops/s':>13} {'decode ops/s':>13} {'bytes':>7}"
    print(header)
    print("-" * len(header))
    for (kind, name), (encode, decode, size) in results.items():
        print(f"{kind:<13} {name:<16} {encode:>13,.0f} {decode:>13,.0f} {size:>7.0f}")
    print("\nratios, ours / library default:")
    for kind in ("IdeaCaptured", "IdeaVoted"):
        ours = results[kind, "msgspec (ours)"]
        lib = results[kind, "library default"]
        print(
            f"  {kind:<13} encode {ours[0] / lib[0]:5.2f}x faster, "
            f"decode {ours[1] / lib[1]:5.2f}x faster, "
            f"stored size {ours[2] / lib[2]:5.2f}x ({ours[2]:.0f} vs {lib[2]:.0f} bytes)"
        )
    sample = mappers["msgspec (ours)"].to_stored_event(captured[0]).state
    print(f"\nsample stored state (ours): {sample.decode()}")
    sample = mappers["library default"].to_stored_event(captured[0]).state
    print(f"sample stored state (library): {sample.decode()}")
    print(f"\ntotal runtime: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
