"""The writer's pipeline (`SalesWriter.run`: the next batch fetched and decoded while the current one
is stored) on the durable SQLite log, with a store in memory: every event stored exactly once, also
when a batch is fenced off while the one behind it has been fetched already, and validated
envelopes are not validated a second time."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import orjson
import pytest

from consumers import rows as rows_module
from consumers.sales_writer import SalesWriter
from eventlog.base import Record
from eventlog.sqlite_log import SqliteEventLog
from schemas import envelope
from tests.support import order_event


class MemoryStore:
    """The writer's look-ups and inserts over dicts; an event stored twice fails the test."""

    database = "mem"

    def __init__(self) -> None:
        self.events: dict[tuple[str, str], object] = {}

    def query(self, sql: str, params=None) -> list[tuple]:
        if "{db}.sales_events" in sql:
            return [(s, e, self.events[(s, e)].raw) for s, e in params["keys"] if (s, e) in self.events]
        if "pending_refunds" in sql or "sales_orders" in sql:
            return []
        raise AssertionError(f"unexpected query {sql}")

    def insert(self, table: str, columns, rows) -> None:
        if table.endswith("sales_events"):
            for row in rows:
                key = (row.source, row.event_id)
                assert key not in self.events, f"{key} stored twice"
                self.events[key] = row


class FencedOnce:
    """A consumer that loses its partitions once, at the `at`-th ownership check. Its polls hand out 50
    records at a time, a few milliseconds apart, so the batch fetched ahead is still being collected
    when the store thread is fenced off and rewinds the consumer."""

    def __init__(self, inner, at: int | None) -> None:
        self.inner, self.at, self.checks = inner, at, 0

    def owns(self, records) -> bool:
        self.checks += 1
        return self.checks != self.at and self.inner.owns(records)

    def poll(self, max_records: int, timeout_ms: int):
        time.sleep(0.003)
        return self.inner.poll(min(max_records, 50), timeout_ms)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _log(tmp_path, count: int) -> SqliteEventLog:
    log = SqliteEventLog(tmp_path / "log.sqlite3", "sales", "dlq")
    received = datetime.now(timezone.utc)
    records = []
    for i in range(count):
        event = order_event(campaign="pipe-2026", host="H1", enterprise="E1", amount_fen=100 + i)
        records.append(Record(key=envelope.partition_key(event),
                              value=envelope.wrap(event, source="shop", received_at=received, webhook_id=f"m{i}",
                                                  validated=True)))
    log.append("sales", records)
    return log


@pytest.mark.parametrize("fenced_at", [None, 1, 2, 3])
def test_every_event_is_stored_once_through_the_pipeline(tmp_path, fenced_at):
    log, store = _log(tmp_path, 3_000), MemoryStore()
    writer = SalesWriter(log, store, group="w", batch_rows=400, batch_ms=500,
                         after_lookup=lambda records: time.sleep(0.02))  # the fetch ahead is under way meanwhile
    writer._consumer = type(writer.consumer)(FencedOnce(writer.consumer._inner, fenced_at))
    stop = threading.Event()
    timer = threading.Timer(60, stop.set)
    timer.start()
    writer.run(stop, until=lambda: len(store.events) >= 3_000 and writer.stats.consumed >= 3_000)
    timer.cancel()
    assert not stop.is_set(), f"stalled at {len(store.events)}"
    assert len(store.events) == 3_000
    assert writer.stats.abandoned_batches == (0 if fenced_at is None else 1)
    committed = log.consumer("w", "sales")  # everything stored is committed: nothing comes again
    assert committed.poll(10, 0) == []


def test_validated_envelopes_get_a_structural_check_not_a_second_validation(monkeypatch):
    calls = []
    monkeypatch.setattr(rows_module, "validate_event", lambda event, **kw: calls.append(event) or
                        pytest.fail("validated again"))
    event = order_event(campaign="pipe-2026", host="H1", enterprise="E1", amount_fen=100, region_code="433101001")
    value = envelope.wrap(event, source="shop", received_at=datetime.now(timezone.utc), webhook_id="m",
                          validated=True)
    row = rows_module.row_from_record(value)
    assert calls == [] and row.raw == orjson.dumps(event).decode() and row.region_code == "433101001"


@pytest.mark.parametrize("broken", [{"amount_fen": "100"}, {"amount_fen": -1}, {"quantity": True},
                                    {"occurred_at": "yesterday"}, {"type": "order.unknown"}, {"host": 7}])
def test_an_envelope_claiming_validation_that_breaks_the_structure_is_validated_in_full(broken):
    event = {**order_event(campaign="pipe-2026", host="H1", enterprise="E1", amount_fen=100), **broken}
    value = envelope.wrap(event, source="shop", received_at=datetime.now(timezone.utc), webhook_id="m",
                          validated=True)
    with pytest.raises(rows_module.InvalidRecord):
        rows_module.row_from_record(value)


def test_an_envelope_laid_out_otherwise_keeps_its_event_as_parsed():
    event = order_event(campaign="pipe-2026", host="H1", enterprise="E1", amount_fen=100)
    foreign = orjson.dumps({"event": event, "v": 1, "source": "other", "received_at": 1_700_000_000,
                            "webhook_id": "x"})
    unwrapped = envelope.unwrap(foreign)
    assert envelope.event_bytes(foreign, unwrapped) is None
    row = rows_module.row_from_record(foreign)  # not claimed validated: validated in full, and valid
    assert orjson.loads(row.raw) == event and row.source == "other"


class SteppedClock:
    """Time moves only when the test moves it."""

    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.t, timezone.utc)

    def time(self) -> float:
        return self.t

    def monotonic(self) -> float:
        return self.t


class NeverSettles:
    """A consumer whose group never settles: every ownership check fails, 25 s of the clock apart."""

    def __init__(self, inner, clock: SteppedClock) -> None:
        self.inner, self.clock, self.closed = inner, clock, False

    def owns(self, records) -> bool:
        self.clock.t += 25
        return False

    def close(self) -> None:
        self.closed = True
        self.inner.close()

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_a_writer_whose_batches_are_all_abandoned_for_a_minute_reconnects_and_says_so(tmp_path):
    """kafka-python once left a writer between generations for good: every batch dropped as not owned,
    nothing stored, nothing reported. After STUCK_AFTER_S (60 s) of that the writer makes a new log
    consumer, which stores everything once, and the error is in its figures (/healthz, the console)."""
    log, store, clock = _log(tmp_path, 1_000), MemoryStore(), SteppedClock()
    made = []

    class FirstConsumerStuck:  # the event log, handing out a stuck consumer first, then real ones
        sales_topic = log.sales_topic

        def consumer(self, group, topic):
            inner = log.consumer(group, topic)
            made.append(NeverSettles(inner, clock) if not made else inner)
            return made[-1]

        def __getattr__(self, name):
            return getattr(log, name)

    writer = SalesWriter(FirstConsumerStuck(), store, group="w", batch_rows=100, batch_ms=500, clock=clock)
    stop = threading.Event()
    timer = threading.Timer(60, stop.set)
    timer.start()
    writer.run(stop, until=lambda: len(store.events) >= 1_000)
    timer.cancel()
    assert not stop.is_set(), f"stalled at {len(store.events)}"
    assert len(store.events) == 1_000
    assert len(made) == 2 and made[0].closed
    # abandoned at 1025 (the streak starts), 1050, 1075, 1100: 75 s >= 60 s, a new consumer
    assert writer.stats.abandoned_batches == 4
    figures = writer.figures()
    assert figures["unexpected_errors"] == 1
    assert figures["last_error"] == ("every batch abandoned for 75s (partitions never settled); "
                                     "reconnected to the log and rejoined the group")
    assert figures["last_error_at"] == 1100.0
    writer.close()
    assert log.consumer("w", "sales").poll(10, 0) == []  # all committed
