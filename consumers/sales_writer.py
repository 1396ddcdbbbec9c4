"""Kafka (or the SQLite log) -> ClickHouse (or chDB): the sales writer.

Runs the stages of consumers/stages.py over each batch and commits the batch's offsets only
after everything of it is stored or parked. Every failure is classified, and none stops it:

- store unavailable (server down, restarting, a transient chDB error): back off and retry the
  same rows, committing nothing; meanwhile the partitions are paused and polled, so the writer
  keeps its group membership however long the outage lasts;
- a row the store refuses: bisect, dead-letter just that row with the reason;
- a limit of ours: never reached — look-ups are cut into chunks by bytes, whatever the ids' length;
- anything unexpected: logged with its context, backed off and retried; a batch that keeps
  failing is split until the failing records are found, and those are parked in the dead-letter
  topic with the reason — never looped on for ever.

Exactly once in effect: an event (source, event_id) already stored is dropped before insert, so
neither the raw table nor the pre-aggregates its materialized views feed count it twice. Before
inserting, the writer checks it still owns the batch's partitions in the group generation it
fetched them in (with time left before its poll deadline); a writer that stalled and lost them
drops the batch, which the new owner stores.

A pipeline (`run`): while one batch goes through the store stages and is committed on a store
thread, the loop fetches and decodes the next one, so the log's fetch and the decoding overlap the
store's look-ups and insert. Batches are still stored and committed one at a time, in order; the
fencing check still comes right before each insert, the commit right after it. The consumer is
used by both threads only under one lock (`_Guarded`): kafka-python's consumer is not
thread-safe. A batch abandoned (fenced off, stopped) discards the one fetched behind it: the
consumer is rewound to the committed offsets, and both come again. Nothing but abandoned batches for
STUCK_AFTER_S is an error of its own: the writer reports it and starts over with a new log consumer.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Sequence

from analytics.base import AnalyticsStore, StoreUnavailable
from consumers import stages
from consumers.stages import Conflict, DeadLetter, Pending
from domain.clock import SYSTEM_CLOCK, Clock
from domain.scope import SourceScope
from eventlog.base import Consumed, EventLog, EventLogUnavailable, LogConsumer

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # unexpected failures of one group of records before it is split (or parked, alone)
LAG_EVERY_S = 5.0  # how often the writer asks the log for its lag (a broker round trip on Kafka)
# Every batch abandoned for this long (a rebalance that never settles): the log consumer is closed
# and a new one joins afresh, and the error shows in /healthz and on the console.
STUCK_AFTER_S = 60.0


class Fenced(Exception):
    """This writer no longer owns the batch's partitions (a rebalance moved them while it stalled)."""


@dataclass
class BatchOutcome:
    consumed: int = 0
    inserted: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    amount_fen_inserted: int = 0
    conflicts: int = 0
    pending_refunds: int = 0
    applied_refunds: int = 0
    capped_refunds: int = 0
    abandoned: bool = False  # fenced off or stopped: nothing committed, the batch comes back


@dataclass
class WriterStats:
    batches: int = 0
    consumed: int = 0
    inserted: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    conflicts: int = 0
    pending_refunds: int = 0
    applied_refunds: int = 0
    capped_refunds: int = 0
    abandoned_batches: int = 0
    store_retries: int = 0  # consecutive, reset by a success
    unexpected_errors: int = 0
    last_batch_at: float = 0.0
    lag: int | None = None  # records of its partitions not committed yet (None: not known yet)
    last_error: str = ""
    last_error_at: float = 0.0
    errors: list[str] = field(default_factory=list)

    def add(self, outcome: BatchOutcome, at: float) -> None:
        if outcome.abandoned:
            self.abandoned_batches += 1
            return
        self.batches += 1
        for name in ("consumed", "inserted", "duplicates", "dead_lettered", "conflicts", "pending_refunds",
                     "applied_refunds", "capped_refunds"):
            setattr(self, name, getattr(self, name) + getattr(outcome, name))
        self.last_batch_at = at


@dataclass
class _Stored:
    """What the store stages did with one group of records."""

    inserted: list = field(default_factory=list)
    refused: list[DeadLetter] = field(default_factory=list)
    duplicates: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    pending: list[Pending] = field(default_factory=list)
    settled: list[Pending] = field(default_factory=list)  # pending refunds applied (or refused) now
    capped: int = 0

    def merge(self, other: "_Stored") -> "_Stored":
        for name in ("inserted", "refused", "conflicts", "pending", "settled"):
            getattr(self, name).extend(getattr(other, name))
        self.duplicates += other.duplicates
        self.capped += other.capped
        return self


def _wait(stop: threading.Event, seconds: float) -> bool:
    return stop.wait(seconds)


def _not_done(future: Future) -> Callable[[], bool]:
    return lambda: not future.done()


def _no_scope(_source: str) -> SourceScope | None:
    return None


class _Guarded:
    """A log consumer whose every call holds one lock: the writer's loop polls it while its store
    thread checks ownership, commits, pauses and keeps it alive."""

    def __init__(self, inner: LogConsumer) -> None:
        self._inner = inner
        self._lock = threading.Lock()

    def __getattr__(self, name: str):
        attribute = getattr(self._inner, name)
        if not callable(attribute):
            return attribute

        def locked(*args, **kwargs):
            with self._lock:
                return attribute(*args, **kwargs)

        return locked


@dataclass
class _Fetched:
    records: list[Consumed]
    decoded: stages.Decoded


class SalesWriter:
    def __init__(self, event_log: EventLog, store: AnalyticsStore, *, group: str, batch_rows: int = 5000,
                 batch_ms: int = 500, max_backoff_s: float = 5.0, clock: Clock = SYSTEM_CLOCK,
                 wait: Callable[[threading.Event, float], bool] = _wait,
                 scope_of: Callable[[str], SourceScope | None] = _no_scope,
                 after_lookup: Callable[[Sequence[Consumed]], None] | None = None,
                 after_insert: Callable[[BatchOutcome], None] | None = None):
        """`wait(stop, seconds)` sleeps between retries (True when stopped); `scope_of(source)` says
        what a source may speak for (a refund of another source's order needs it); `after_lookup`
        and `after_insert` run at those points of each batch (tests inject stalls and crashes)."""
        self.event_log = event_log
        self.store = store
        self.group = group
        self.batch_rows = batch_rows
        self.batch_ms = batch_ms
        self.max_backoff_s = max_backoff_s
        self.clock = clock
        self.wait = wait
        self.scope_of = scope_of
        self.after_lookup = after_lookup
        self.after_insert = after_insert
        self.stats = WriterStats()
        self._consumer: LogConsumer | None = None
        self._lag_checked_at = float("-inf")
        self._abandoned_since: float | None = None  # first of the abandoned batches in a row

    @property
    def consumer(self) -> LogConsumer:
        if self._consumer is None:
            self._consumer = _Guarded(self.event_log.consumer(self.group, self.event_log.sales_topic))
        return self._consumer

    # -- the loop ---------------------------------------------------------------------------
    def run(self, stop: threading.Event, until: Callable[[], bool] | None = None) -> None:
        """Store batches until `stop` is set (or `until()` holds): fetch and decode the next batch while
        the store thread stores and commits the current one."""
        log.info("sales writer started (group=%s)", self.group)
        store_thread = ThreadPoolExecutor(1, thread_name_prefix="writer-store")
        try:
            ahead: _Fetched | None = None
            while not stop.is_set() and not (until is not None and until()):
                batch, ahead = ahead or self._fetch(), None
                if not batch.records:
                    self._measure_lag()
                    continue
                future: Future[BatchOutcome] = store_thread.submit(self._store_batch, batch, stop)
                ahead = self._fetch(while_=_not_done(future))  # overlaps the store stages
                outcome = future.result()
                if outcome.abandoned:
                    # Nothing of it was committed. The batch fetched ahead is dropped too, and the consumer
                    # goes back to the committed offsets once more: the fetch ahead may have polled past them
                    # after the store thread rewound. Both batches come again, in order.
                    ahead = None
                    self.consumer.rewind()
                    self._reconnect_if_stuck(stop)
                else:
                    self._abandoned_since = None
                self._measure_lag()
        finally:
            store_thread.shutdown(wait=True)
            self.close()

    def run_once(self, stop: threading.Event | None = None) -> BatchOutcome:
        """One batch, fetched and stored in sequence (tests and one-off runs)."""
        outcome = self._store_batch(self._fetch(), stop or threading.Event())
        self._measure_lag()
        return outcome

    def _fetch(self, while_: Callable[[], bool] | None = None) -> _Fetched:
        """The next batch, decoded. `while_`: fetching ahead, give up once it is false and nothing came."""
        records = stages.collect(self.consumer, max_rows=self.batch_rows, max_ms=self.batch_ms, clock=self.clock,
                                 while_=while_)
        return _Fetched(records, stages.decode(records))

    def _store_batch(self, batch: _Fetched, stop: threading.Event) -> BatchOutcome:
        if not batch.records:
            return BatchOutcome()
        outcome = self.process(batch.records, stop, decoded=batch.decoded)
        self.stats.add(outcome, self.clock.time())
        return outcome

    def _reconnect_if_stuck(self, stop: threading.Event) -> None:
        """After STUCK_AFTER_S of nothing but abandoned batches, a new log consumer (it rejoins the group)."""
        now = self.clock.monotonic()
        if self._abandoned_since is None:
            self._abandoned_since = now
        elif now - self._abandoned_since >= STUCK_AFTER_S and not stop.is_set():
            message = (f"every batch abandoned for {now - self._abandoned_since:.0f}s (partitions never settled); "
                       f"reconnected to the log and rejoined the group")
            log.error("sales writer: %s", message)
            self._note_error(message, unexpected=True)
            self.close()
            self._abandoned_since = None

    def _measure_lag(self) -> None:
        if self.clock.monotonic() - self._lag_checked_at < LAG_EVERY_S:
            return
        self._lag_checked_at = self.clock.monotonic()
        try:
            self.stats.lag = self.consumer.lag()
        except Exception as exc:  # the figure is for people; never fail a batch over it
            log.warning("could not measure the writer's lag: %s", exc)

    def figures(self) -> dict:
        """What the heartbeat reports (configstore/heartbeats.py)."""
        s = self.stats
        return {"batches": s.batches, "inserted": s.inserted, "duplicates": s.duplicates,
                "dead_lettered": s.dead_lettered, "conflicts": s.conflicts, "pending_refunds": s.pending_refunds,
                "applied_refunds": s.applied_refunds, "capped_refunds": s.capped_refunds,
                "abandoned_batches": s.abandoned_batches, "unexpected_errors": s.unexpected_errors,
                "store_retries": s.store_retries, "lag": s.lag, "last_batch_at": s.last_batch_at or None,
                "last_error": s.last_error, "last_error_at": s.last_error_at or None}

    @staticmethod
    def summary(before: dict, now: dict) -> str:
        """The minute's line for `liveboard run` and `consume`."""
        def delta(name: str) -> int:
            return int(now.get(name) or 0) - int(before.get(name) or 0)

        text = f"写入 {delta('inserted')} 条，重复 {delta('duplicates')}，死信 {delta('dead_lettered')}"
        if delta("pending_refunds") or delta("conflicts"):
            text += f"，待匹配退款 {delta('pending_refunds')}，冲突 {delta('conflicts')}"
        return text + (f"，积压 {now['lag']} 条" if now.get("lag") is not None else "")

    def process(self, records: list[Consumed], stop: threading.Event,
                decoded: stages.Decoded | None = None) -> BatchOutcome:
        """Store one batch and commit its offsets. Abandoned (nothing committed, the batch comes back)
        when stopped midway or fenced off."""
        decoded = decoded if decoded is not None else stages.decode(records)
        rows, repeats, conflicts = stages.drop_repeats(decoded.rows)
        try:
            stored = self._store_group(rows, records, stop)
        except Fenced:
            log.warning("lost partitions of a batch of %d records to a rebalance; dropping it for the new owner",
                        len(records))
            self.consumer.rewind()
            return BatchOutcome(consumed=len(records), abandoned=True)
        if stored is None:
            return BatchOutcome(consumed=len(records), abandoned=True)
        stored.duplicates += repeats
        if conflicts and self._retrying_store(stop, lambda: self._record_conflicts(conflicts)) is None:
            return BatchOutcome(consumed=len(records), abandoned=True)  # (conflicts within the batch)
        stored.conflicts[:0] = conflicts
        letters = decoded.poison + stored.refused
        for letter in letters:
            log.warning("dead-lettered %s[%d]@%d: %s", letter.record.topic, letter.record.partition,
                        letter.record.offset, letter.reason)
        if not stages.park(self.event_log, letters, stop=stop, wait=lambda s: self.wait(stop, s),
                           on_retry=lambda exc: log.warning("dead-letter topic unavailable (%s); retrying", exc)):
            return BatchOutcome(consumed=len(records), abandoned=True)
        if stored.settled and self._retrying_store(stop, lambda: stages.park_pending(
                self.store, stored.settled, applied=True, at=self.clock.now())) is None:
            return BatchOutcome(consumed=len(records), abandoned=True)
        outcome = BatchOutcome(consumed=len(records), inserted=len(stored.inserted), duplicates=stored.duplicates,
                               dead_lettered=len(letters), amount_fen_inserted=sum(r.amount_fen for r in stored.inserted),
                               conflicts=len(stored.conflicts), pending_refunds=len(stored.pending),
                               applied_refunds=len(stored.settled), capped_refunds=stored.capped)
        if self.after_insert is not None:
            self.after_insert(outcome)
        try:
            self.consumer.commit(records)
        except EventLogUnavailable as exc:
            # The rows are stored; only their offsets are not. The next commit covers them, or,
            # after a rebalance, the new owner gets them again and drops them as already stored.
            log.warning("offset commit failed (%s); carrying on", exc)
        return outcome

    # -- store stages, with the failure classes ---------------------------------------------
    def _store_group(self, rows: list, records: Sequence[Consumed], stop: threading.Event,
                     attempts: int = MAX_ATTEMPTS) -> _Stored | None:
        """Store one group of rows; None when stopped. A group that fails unexpectedly `attempts`
        times is split in two, each half tried once more (no waiting: the failure is not transient),
        down to single records, which are refused with the reason."""
        for attempt in range(1, attempts + 1):
            try:
                return self._retrying_store(stop, lambda: self._store(rows, records))
            except (Fenced, StoreUnavailable):
                raise
            except Exception as exc:  # a bug or an unforeseen answer: never lose the thread over it
                failure = f"{type(exc).__name__}: {exc}"
                self._note_error(failure, unexpected=True)
                log.exception("unexpected failure storing %d rows (attempt %d of %d)", len(rows), attempt, attempts)
                if attempt < attempts and self.wait(stop, self._backoff(attempt)):
                    return None
        if len(rows) <= 1:
            reason = f"unexpected error after {attempts} attempt(s): {failure}"[:500]
            return _Stored(refused=[DeadLetter(record, reason) for _, record in rows])
        middle = len(rows) // 2
        halves = [self._store_group(part, records, stop, attempts=1) for part in (rows[:middle], rows[middle:])]
        if halves[0] is None or halves[1] is None:
            return None
        return halves[0].merge(halves[1])

    def _retrying_store(self, stop: threading.Event, stage):
        """Run a store stage until it succeeds; while the store is unavailable, back off with the
        partitions paused (and polled, so the group keeps this member). None when stopped."""
        paused = False
        try:
            while True:
                try:
                    result = stage()
                    self.stats.store_retries = 0
                    return result
                except StoreUnavailable as exc:
                    self.stats.store_retries += 1
                    self._note_error(f"store unavailable: {exc}")
                    backoff = self._backoff(self.stats.store_retries)
                    log.warning("store unavailable (%s); retrying the same rows in %.1fs", exc, backoff)
                    if not paused:
                        self.consumer.pause()
                        paused = True
                    if self._keep_alive_wait(stop, backoff):
                        return None
        finally:
            if paused:
                self.consumer.resume()

    def _keep_alive_wait(self, stop: threading.Event, seconds: float) -> bool:
        """Wait `seconds` (True when stopped), polling the paused consumer at least every second."""
        deadline = self.clock.monotonic() + seconds
        while True:
            self.consumer.keep_alive()
            remaining = deadline - self.clock.monotonic()
            if remaining <= 0:
                return False
            if self.wait(stop, min(remaining, 1.0)):
                return True

    def _store(self, rows: list, records: Sequence[Consumed]) -> _Stored:
        store, now = self.store, self.clock.now()
        fresh, repeats, conflicts = stages.drop_stored(store, rows)
        resolved = stages.resolve_refunds(store, fresh, self.scope_of)
        if self.after_lookup is not None:
            self.after_lookup(records)
        if not self.consumer.owns(records):  # the look-ups above may be stale: another writer has them
            raise Fenced()
        inserted, refused = stages.insert(store, resolved.rows)
        stages.park_pending(store, resolved.pending, applied=False, at=now)
        stages.record_conflicts(store, conflicts, at=now)
        stored = _Stored(inserted=inserted, refused=refused + resolved.foreign, duplicates=repeats,
                         conflicts=conflicts, pending=resolved.pending, capped=resolved.capped)
        # refunds that arrived before their order: applied now that the order is stored
        waiting = stages.pending_for(store, [(r.platform, r.order_id) for r, _ in rows if r.type == stages.PAID])
        if waiting:
            still_due, _, _ = stages.drop_stored(store, waiting)  # applied by an earlier, interrupted try
            late = stages.resolve_refunds(store, still_due, self.scope_of)
            late_inserted, late_refused = stages.insert(store, late.rows)
            stored.inserted += late_inserted
            stored.refused += late_refused + late.foreign
            stored.capped += late.capped
            stored.settled = [Pending(row, record) for row, record in waiting]
        return stored

    def _record_conflicts(self, conflicts: list[Conflict]) -> bool:
        stages.record_conflicts(self.store, conflicts, at=self.clock.now())
        return True

    def _backoff(self, attempt: int) -> float:
        return min(self.max_backoff_s, 0.2 * (2 ** min(attempt, 6)))

    def _note_error(self, message: str, unexpected: bool = False) -> None:
        self.stats.last_error = message[:500]
        self.stats.last_error_at = self.clock.time()
        if unexpected:
            self.stats.unexpected_errors += 1

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
