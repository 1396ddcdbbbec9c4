"""The event-log seam: an append-only, durable, partitioned log with consumer groups.

Kafka at scale; a SQLite file on the embedded default. Callers see only this module.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence


class EventLogUnavailable(Exception):
    """The log could not make the records durable; the caller must not acknowledge them."""


@dataclass(frozen=True)
class Record:
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class Consumed:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


class LogConsumer(Protocol):
    def poll(self, max_records: int, timeout_ms: int) -> list[Consumed]: ...

    def commit(self, records: Sequence[Consumed]) -> None:
        """Mark everything up to and including these records as done (per partition);
        EventLogUnavailable when the log can't take it now."""

    def is_assigned(self) -> bool:
        """True once this consumer owns partitions (a Kafka group may still be rebalancing)."""

    def owns(self, records: Sequence[Consumed]) -> bool:
        """True while this consumer still owns every partition of these records, in the group
        generation it fetched them in, with time left to store them: checked before an insert, so a
        writer that stalled and lost its partitions drops the batch instead of storing it twice."""

    def caught_up(self) -> bool:
        """True when this consumer owns partitions and has read up to their ends as of now."""

    def rewind(self) -> None:
        """Forget uncommitted progress: the next poll starts again at the committed offsets."""

    def pause(self) -> None:
        """Stop fetching (while the store is down) without leaving the group."""

    def resume(self) -> None: ...

    def keep_alive(self) -> None:
        """Poll without taking records, so a paused member stays in its group."""

    def lag(self) -> int:
        """Records of the topic not yet committed by this consumer's group (its owned partitions)."""

    def close(self) -> None: ...


class EventLog(Protocol):
    sales_topic: str
    dead_letter_topic: str

    def ensure_topics(self) -> None: ...

    def append(self, topic: str, records: Sequence[Record], timeout_s: float = 10.0) -> None:
        """Return only when every record is durable (Kafka: acks=all); else raise EventLogUnavailable."""

    def consumer(self, group: str, topic: str) -> LogConsumer: ...

    def count(self, topic: str) -> int:
        """Records currently held in a topic (health view; may raise EventLogUnavailable)."""

    def group_position(self, group: str, topic: str) -> int:
        """The sum of `group`'s committed offsets on `topic`: it moves exactly when a writer of the
        group has stored a batch (writers commit only after the insert). The scheduler watches it to
        rank as soon as there is something new (may raise EventLogUnavailable)."""

    def close(self) -> None: ...


def highest_per_partition(records: Sequence[Consumed]) -> dict[tuple[str, int], int]:
    """The last offset seen per (topic, partition): what a commit after them must store."""
    highest: dict[tuple[str, int], int] = {}
    for record in records:
        key = (record.topic, record.partition)
        if record.offset > highest.get(key, -1):
            highest[key] = record.offset
    return highest
