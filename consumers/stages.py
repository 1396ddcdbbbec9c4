"""The sales writer's stages, each a plain function over one batch.

collect -> decode -> drop_repeats -> drop_stored -> insert -> (park dead letters) -> commit

Nothing here loops for ever or decides about retries: the writer (consumers/sales_writer.py) runs
the stages in order and owns backoff, stopping and statistics.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Sequence

import orjson

from analytics.base import AnalyticsStore, StoreRejected
from analytics.rows import COLUMNS, SalesRow
from consumers.rows import row_from_envelope
from domain.clock import Clock
from eventlog.base import Consumed, EventLog, EventLogUnavailable, LogConsumer, Record
from schemas import envelope

LOOKUP_CHUNK = 2000  # keeps the IN (...) list under ClickHouse 18.16's 256 KiB max_query_size


@dataclass(frozen=True)
class DeadLetter:
    record: Consumed
    reason: str


@dataclass
class Decoded:
    rows: list[tuple[SalesRow, Consumed]] = field(default_factory=list)
    poison: list[DeadLetter] = field(default_factory=list)


def collect(consumer: LogConsumer, *, max_rows: int, max_ms: int, clock: Clock) -> list[Consumed]:
    """A batch: up to `max_rows` records, or what arrived within `max_ms` once something arrived."""
    deadline = clock.monotonic() + max_ms / 1000
    records: list[Consumed] = []
    while len(records) < max_rows:
        remaining_ms = int((deadline - clock.monotonic()) * 1000)
        if remaining_ms <= 0 and records:
            break
        records.extend(consumer.poll(max_rows - len(records), max(remaining_ms, 50 if not records else 1)))
        if clock.monotonic() >= deadline:
            break
    return records


def decode(records: Sequence[Consumed]) -> Decoded:
    """Envelope -> validated row; anything undecodable or invalid is poison (dead-lettered)."""
    decoded = Decoded()
    for record in records:
        try:
            unwrapped = envelope.unwrap(record.value)
            row = row_from_envelope(unwrapped, orjson.dumps(unwrapped["event"]))
        except Exception as exc:  # any decode/validation failure makes it a poison message
            decoded.poison.append(DeadLetter(record, f"{type(exc).__name__}: {exc}"[:500]))
            continue
        decoded.rows.append((row, record))
    return decoded


def drop_repeats(rows: Sequence[tuple[SalesRow, Consumed]]) -> tuple[list[tuple[SalesRow, Consumed]], int]:
    """The first of each event_id in the batch, and how many later repeats were dropped."""
    seen: set[str] = set()
    unique = []
    for row, record in rows:
        if row.event_id not in seen:
            seen.add(row.event_id)
            unique.append((row, record))
    return unique, len(rows) - len(unique)


def stored_ids(store: AnalyticsStore, event_ids: Sequence[str]) -> set[str]:
    """Which of these event ids the raw table already holds (primary-key lookups, chunked)."""
    stored: set[str] = set()
    for start in range(0, len(event_ids), LOOKUP_CHUNK):
        chunk = tuple(event_ids[start:start + LOOKUP_CHUNK])
        if chunk:
            found = store.query("SELECT event_id FROM {db}.sales_events WHERE event_id IN %(ids)s", {"ids": chunk})
            stored.update(row[0] for row in found)
    return stored


def drop_stored(store: AnalyticsStore, rows: Sequence[tuple[SalesRow, Consumed]]
                ) -> tuple[list[tuple[SalesRow, Consumed]], int]:
    """Rows whose event is not stored yet (a repeat, or a batch redelivered after a crash, is not)."""
    stored = stored_ids(store, [row.event_id for row, _ in rows])
    fresh = [(row, record) for row, record in rows if row.event_id not in stored]
    return fresh, len(rows) - len(fresh)


def insert(store: AnalyticsStore, rows: Sequence[tuple[SalesRow, Consumed]]
           ) -> tuple[list[SalesRow], list[DeadLetter]]:
    """Insert; when the store refuses the data, bisect to set aside only the bad rows.
    StoreUnavailable propagates: the caller retries the whole stage."""
    if not rows:
        return [], []
    try:
        store.insert("{db}.sales_events", COLUMNS, [row for row, _ in rows])
        return [row for row, _ in rows], []
    except StoreRejected as exc:
        if len(rows) == 1:
            return [], [DeadLetter(rows[0][1], f"store refused the row: {exc}"[:500])]
        middle = len(rows) // 2
        left_ok, left_bad = insert(store, rows[:middle])
        right_ok, right_bad = insert(store, rows[middle:])
        return left_ok + right_ok, left_bad + right_bad


def park(event_log: EventLog, letters: Sequence[DeadLetter], *, stop: threading.Event,
         wait: Callable[[float], bool], on_retry: Callable[[Exception], None]) -> bool:
    """Append dead letters (original bytes + reason) to the dead-letter topic. Retries while the
    log is unavailable — a poison message must never be committed past unparked — until `stop`;
    False when stopped first (nothing of the batch is committed then)."""
    if not letters:
        return True
    payload = [Record(key=(letter.record.key or b""),
                      value=envelope.dead_letter(letter.record.value, letter.reason, topic=letter.record.topic,
                                                 partition=letter.record.partition, offset=letter.record.offset))
               for letter in letters]
    while not stop.is_set():
        try:
            event_log.append(event_log.dead_letter_topic, payload)
            return True
        except EventLogUnavailable as exc:
            on_retry(exc)
            if wait(1.0):
                break
    return False
