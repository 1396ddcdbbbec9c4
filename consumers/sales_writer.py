"""Kafka (or the SQLite log) -> ClickHouse (or chDB): the sales writer.

Runs the stages of consumers/stages.py over each batch:
collect -> decode -> drop_repeats -> drop_stored -> insert -> park dead letters -> commit.
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
import threading
from dataclasses import dataclass, field
from typing import Callable

from analytics.base import AnalyticsStore, StoreUnavailable
from consumers import stages
from domain.clock import SYSTEM_CLOCK, Clock
from eventlog.base import Consumed, EventLog, EventLogUnavailable, LogConsumer

log = logging.getLogger(__name__)


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

    def add(self, outcome: BatchOutcome, at: float) -> None:
        self.batches += 1
        self.consumed += outcome.consumed
        self.inserted += outcome.inserted
        self.duplicates += outcome.duplicates
        self.dead_lettered += outcome.dead_lettered
        self.last_batch_at = at


def _wait(stop: threading.Event, seconds: float) -> bool:
    return stop.wait(seconds)


class SalesWriter:
    def __init__(self, event_log: EventLog, store: AnalyticsStore, *, group: str, batch_rows: int = 5000,
                 batch_ms: int = 500, max_backoff_s: float = 5.0, clock: Clock = SYSTEM_CLOCK,
                 wait: Callable[[threading.Event, float], bool] = _wait,
                 after_insert: Callable[[BatchOutcome], None] | None = None):
        """`wait(stop, seconds)` sleeps between retries (True when stopped); `after_insert` runs after
        each insert, before the commit (tests inject faults there)."""
        self.event_log = event_log
        self.store = store
        self.group = group
        self.batch_rows = batch_rows
        self.batch_ms = batch_ms
        self.max_backoff_s = max_backoff_s
        self.clock = clock
        self.wait = wait
        self.after_insert = after_insert
        self.stats = WriterStats()
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
        records = stages.collect(self.consumer, max_rows=self.batch_rows, max_ms=self.batch_ms, clock=self.clock)
        if not records:
            return BatchOutcome()
        outcome = self.process(records, stop or threading.Event())
        self.stats.add(outcome, self.clock.time())
        return outcome

    def process(self, records: list[Consumed], stop: threading.Event) -> BatchOutcome:
        """Store one batch and commit its offsets; an empty outcome (nothing committed) when
        stopped midway, so the batch is redelivered."""
        outcome = BatchOutcome(consumed=len(records))
        decoded = stages.decode(records)
        rows, outcome.duplicates = stages.drop_repeats(decoded.rows)
        stored = self._with_store_retries(stop, lambda: self._store_rows(rows))
        if stored is None:
            return BatchOutcome()
        inserted, refused, already_stored = stored
        outcome.duplicates += already_stored
        letters = decoded.poison + refused
        for letter in letters:
            log.warning("dead-lettered %s[%d]@%d: %s", letter.record.topic, letter.record.partition,
                        letter.record.offset, letter.reason)
        if not stages.park(self.event_log, letters, stop=stop, wait=lambda s: self.wait(stop, s),
                           on_retry=lambda exc: log.warning("dead-letter topic unavailable (%s); retrying", exc)):
            return BatchOutcome()
        outcome.inserted = len(inserted)
        outcome.amount_fen_inserted = sum(row.amount_fen for row in inserted)
        outcome.dead_lettered = len(letters)
        if self.after_insert is not None:
            self.after_insert(outcome)
        try:
            self.consumer.commit(records)
        except EventLogUnavailable as exc:
            # The rows are stored; only their offsets are not. The next commit covers them, or,
            # after a rebalance, the new owner gets them again and drops them as already stored.
            log.warning("offset commit failed (%s); carrying on", exc)
        return outcome

    def _store_rows(self, rows):
        fresh, already_stored = stages.drop_stored(self.store, rows)
        inserted, refused = stages.insert(self.store, fresh)
        return inserted, refused, already_stored

    def _with_store_retries(self, stop: threading.Event, stage):
        """Run a store stage until it succeeds; back off while the store is unavailable. None when
        stopped first."""
        while True:
            try:
                result = stage()
                self.stats.store_retries = 0
                return result
            except StoreUnavailable as exc:
                self.stats.store_retries += 1
                backoff = min(self.max_backoff_s, 0.2 * (2 ** min(self.stats.store_retries, 6)))
                log.warning("store unavailable (%s); retrying the same rows in %.1fs", exc, backoff)
                if self.wait(stop, backoff):
                    return None

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
