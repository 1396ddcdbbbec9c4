"""Kafka (or the SQLite log) -> ClickHouse (or chDB): the sales writer.

Stages per batch: decode -> validate -> dedupe -> insert -> commit.
- A batch closes at `batch_rows` records or `batch_ms` milliseconds, whichever comes first.
- Offsets are committed only after the insert succeeded. While the store is unavailable the
  writer backs off and retries the same rows, committing nothing.
- A record that can never be stored (undecodable, invalid, or refused by the store) goes to the
  dead-letter topic with its original bytes and the reason; the writer goes on.
- Exactly once in effect: an event_id already stored (a repeat, or a batch redelivered after a
  crash) is dropped before insert, so neither the raw table nor the pre-aggregate that the
  materialized view feeds ever counts it twice.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

import orjson

from analytics.base import AnalyticsStore, StoreRejected, StoreUnavailable
from eventlog.base import Consumed, EventLog, EventLogUnavailable, LogConsumer, Record
from schemas import envelope
from schemas.events import Invalid, validate_event

log = logging.getLogger(__name__)

COLUMNS = (
    "event_id", "type", "occurred_at", "received_at", "source", "platform", "campaign", "host", "enterprise",
    "order_id", "refund_id", "live_id", "sku", "product_name", "category", "county", "buyer", "quantity",
    "amount_fen", "peak_viewers", "total_viewers", "raw",
)
_LOOKUP_CHUNK = 2000  # keeps the IN (...) list under ClickHouse 18.16's 256 KiB max_query_size


@dataclass
class BatchOutcome:
    consumed: int = 0
    inserted: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    amount_fen_inserted: int = 0


@dataclass
class WriterStats:
    batches: int = 0
    consumed: int = 0
    inserted: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    store_retries: int = 0
    last_batch_at: float = 0.0
    errors: list[str] = field(default_factory=list)

    def add(self, outcome: BatchOutcome) -> None:
        self.batches += 1
        self.consumed += outcome.consumed
        self.inserted += outcome.inserted
        self.duplicates += outcome.duplicates
        self.dead_lettered += outcome.dead_lettered
        self.last_batch_at = time.time()


def event_to_row(env: dict[str, Any], raw_event: bytes) -> tuple:
    event = env["event"]
    checked = validate_event(event)
    if isinstance(checked, Invalid):
        fields = ", ".join(f"{e.field}:{e.code}" for e in checked.errors)
        raise ValueError(f"invalid event ({fields})")
    product = event.get("product") or {}
    return (
        event["event_id"], event["type"], checked.occurred_at_utc,
        datetime.fromtimestamp(int(env.get("received_at") or time.time()), timezone.utc),
        str(env.get("source", "")), event["platform"], event["campaign"], event.get("host", ""),
        event.get("enterprise", ""), event.get("order_id", ""), event.get("refund_id", ""),
        event.get("live_id", ""), product.get("sku", ""), product.get("name", ""), product.get("category", ""),
        event.get("county", ""), event.get("buyer", ""), int(event.get("quantity", 0)),
        int(event.get("amount_fen", 0)), int(event.get("peak_viewers", 0)), int(event.get("total_viewers", 0)),
        raw_event.decode("utf-8"),
    )


class SalesWriter:
    def __init__(self, event_log: EventLog, store: AnalyticsStore, *, group: str, batch_rows: int = 5000,
                 batch_ms: int = 500, max_backoff_s: float = 5.0, sleep: Callable[[float], None] = time.sleep,
                 fault_kill_after_insert: int = 0):
        self.event_log = event_log
        self.store = store
        self.group = group
        self.batch_rows = batch_rows
        self.batch_ms = batch_ms
        self.max_backoff_s = max_backoff_s
        self.sleep = sleep
        self.stats = WriterStats()
        self.fault_kill_after_insert = fault_kill_after_insert
        self._inserts = 0
        self._consumer: LogConsumer | None = None

    @property
    def consumer(self) -> LogConsumer:
        if self._consumer is None:
            self._consumer = self.event_log.consumer(self.group, self.event_log.sales_topic)
        return self._consumer

    # -- the loop ---------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        log.info("sales writer started (group=%s)", self.group)
        while not stop.is_set():
            self.run_once(stop)
        self.close()

    def run_once(self, stop: threading.Event | None = None) -> BatchOutcome:
        records = self._collect()
        if not records:
            return BatchOutcome()
        outcome = self._process(records, stop)
        self.stats.add(outcome)
        return outcome

    def _collect(self) -> list[Consumed]:
        deadline = time.monotonic() + self.batch_ms / 1000
        records: list[Consumed] = []
        while len(records) < self.batch_rows:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0 and records:
                break
            got = self.consumer.poll(self.batch_rows - len(records), max(remaining_ms, 50 if not records else 1))
            records.extend(got)
            if time.monotonic() >= deadline:
                break
        return records

    # -- stages -----------------------------------------------------------------------------
    def _process(self, records: list[Consumed], stop: threading.Event | None) -> BatchOutcome:
        outcome = BatchOutcome(consumed=len(records))
        rows: list[tuple] = []
        row_sources: list[Consumed] = []
        dead: list[tuple[Consumed, str]] = []
        seen_in_batch: set[str] = set()
        for record in records:
            try:
                env = envelope.unwrap(record.value)
                row = event_to_row(env, orjson.dumps(env["event"]))
            except Exception as exc:  # any decode/validation failure makes it a poison message
                dead.append((record, f"{type(exc).__name__}: {exc}"[:500]))
                continue
            if row[0] in seen_in_batch:
                outcome.duplicates += 1
                continue
            seen_in_batch.add(row[0])
            rows.append(row)
            row_sources.append(record)

        while True:
            try:
                stored = self._already_stored([r[0] for r in rows])
                fresh = [(r, src) for r, src in zip(rows, row_sources, strict=True) if r[0] not in stored]
                outcome.duplicates += len(rows) - len(fresh)
                inserted_rows, refused = self._insert([r for r, _ in fresh], [s for _, s in fresh])
                dead.extend(refused)
                break
            except StoreUnavailable as exc:
                self.stats.store_retries += 1
                backoff = min(self.max_backoff_s, 0.2 * (2 ** min(self.stats.store_retries, 6)))
                log.warning("store unavailable (%s); retrying the same %d rows in %.1fs", exc, len(rows), backoff)
                if stop is not None:
                    if stop.wait(backoff):
                        return BatchOutcome()  # stopping: nothing committed, the batch is redelivered
                else:
                    self.sleep(backoff)
        self.stats.store_retries = 0

        if dead:
            self._dead_letter(dead)
        outcome.inserted = len(inserted_rows)
        outcome.amount_fen_inserted = sum(r[18] for r in inserted_rows)
        outcome.dead_lettered = len(dead)
        self._inserts += 1
        if self.fault_kill_after_insert and self._inserts >= self.fault_kill_after_insert:
            log.warning("fault injection: SIGKILL after insert %d, before commit", self._inserts)
            os.kill(os.getpid(), signal.SIGKILL)
        try:
            self.consumer.commit(records)
        except EventLogUnavailable as exc:
            # The rows are stored; only their offsets are not. The next commit covers them, or,
            # after a rebalance, the new owner gets them again and drops them as already stored.
            log.warning("offset commit failed (%s); carrying on", exc)
        return outcome

    def _already_stored(self, event_ids: Sequence[str]) -> set[str]:
        stored: set[str] = set()
        for start in range(0, len(event_ids), _LOOKUP_CHUNK):
            chunk = tuple(event_ids[start:start + _LOOKUP_CHUNK])
            if chunk:
                found = self.store.query(
                    "SELECT event_id FROM {db}.sales_events WHERE event_id IN %(ids)s", {"ids": chunk})
                stored.update(row[0] for row in found)
        return stored

    def _insert(self, rows: list[tuple], sources: list[Consumed]) -> tuple[list[tuple], list[tuple[Consumed, str]]]:
        """Insert; when the store refuses the data, bisect to set aside only the bad rows."""
        if not rows:
            return [], []
        try:
            self.store.insert("{db}.sales_events", COLUMNS, rows)
            return rows, []
        except StoreRejected as exc:
            if len(rows) == 1:
                return [], [(sources[0], f"store refused the row: {exc}"[:500])]
            middle = len(rows) // 2
            left_ok, left_bad = self._insert(rows[:middle], sources[:middle])
            right_ok, right_bad = self._insert(rows[middle:], sources[middle:])
            return left_ok + right_ok, left_bad + right_bad

    def _dead_letter(self, dead: list[tuple[Consumed, str]]) -> None:
        letters = [
            Record(key=(rec.key or b""), value=envelope.dead_letter(rec.value, reason, topic=rec.topic,
                                                                    partition=rec.partition, offset=rec.offset))
            for rec, reason in dead
        ]
        for rec, reason in dead:
            log.warning("dead-lettered %s[%d]@%d: %s", rec.topic, rec.partition, rec.offset, reason)
        while True:
            try:
                self.event_log.append(self.event_log.dead_letter_topic, letters)
                return
            except EventLogUnavailable as exc:  # never commit past a poison message we failed to park
                log.warning("dead-letter topic unavailable (%s); retrying", exc)
                self.sleep(1.0)

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
