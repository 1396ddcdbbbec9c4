"""The sales writer's stages, each a plain function over one batch.

    collect -> decode -> drop_repeats -> drop_stored -> resolve_refunds -> insert -> settle_pending
            -> (park dead letters) -> commit

Nothing here loops or decides about retries: the writer (consumers/sales_writer.py) runs the
stages in order and owns backoff, fencing, stopping and statistics. Every store stage is
idempotent, so a batch retried after a partial failure (or redelivered after a crash) stores
each event once.

Identity: an event is (source, event_id) — one source can never claim or shadow another's ids.
The same key again with the same content is a repeat and dropped; with different content it is a
conflicting duplicate, kept aside (sales_conflicts) with both versions, never counted.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable, Sequence

import orjson

from analytics.base import AnalyticsStore, StoreRejected
from analytics.rows import COLUMNS, SalesRow
from consumers.rows import row_from_record
from domain.clock import Clock
from domain.scope import SourceScope
from eventlog.base import Consumed, EventLog, EventLogUnavailable, LogConsumer, Record
from schemas import envelope

# ClickHouse 18.16 refuses a query text over 262,144 bytes (max_query_size): a look-up's IN list
# is cut into chunks of at most this many bytes of literals, whatever the ids' length.
LOOKUP_BYTES = 96 * 1024
PAID, REFUNDED = "order.paid", "order.refunded"

Key = tuple[str, str]  # (source, event_id)
OrderKey = tuple[str, str]  # (platform, order_id)


@dataclass(frozen=True)
class DeadLetter:
    record: Consumed
    reason: str


@dataclass(frozen=True)
class Conflict:
    """The same (source, event_id) with different content: both versions, for organizers."""

    row: SalesRow
    record: Consumed
    stored_raw: str


@dataclass(frozen=True)
class Pending:
    """A refund whose order is not stored yet (applied when the order arrives)."""

    row: SalesRow
    record: Consumed


@dataclass
class Decoded:
    rows: list[tuple[SalesRow, Consumed]] = field(default_factory=list)
    poison: list[DeadLetter] = field(default_factory=list)


@dataclass
class OrderState:
    """What a refund needs of its paid order: its attribution and how much is left to refund."""

    source: str
    campaign: str
    host: str
    enterprise: str
    county: str
    region_code: str
    category: str
    sku: str
    product_name: str
    paid_fen: int
    refunded_fen: int

    @classmethod
    def of_paid(cls, row: SalesRow) -> "OrderState":
        return cls(row.source, row.campaign, row.host, row.enterprise, row.county, row.region_code, row.category,
                   row.sku, row.product_name, row.amount_fen, 0)


@dataclass
class Resolved:
    """Refunds after matching their orders."""

    rows: list[tuple[SalesRow, Consumed]] = field(default_factory=list)  # ready to insert
    pending: list[Pending] = field(default_factory=list)
    foreign: list[DeadLetter] = field(default_factory=list)
    capped: int = 0


def key_of(row: SalesRow) -> Key:
    return row.source, row.event_id


def canonical(raw: str) -> bytes:
    """The event's content for comparisons: the same JSON whatever the key order."""
    return orjson.dumps(orjson.loads(raw), option=orjson.OPT_SORT_KEYS)


# -- collect and decode ---------------------------------------------------------------------------

AHEAD_POLL_MS = 20  # polls while fetching ahead are short: the store thread shares the consumer


def collect(consumer: LogConsumer, *, max_rows: int, max_ms: int, clock: Clock,
            while_: Callable[[], bool] | None = None) -> list[Consumed]:
    """A batch: up to `max_rows` records, or what arrived within `max_ms` once something arrived.
    `while_` (fetching ahead of a batch being stored): polls are short, and collecting ends as soon as
    it is false with nothing collected yet."""
    deadline = clock.monotonic() + max_ms / 1000
    records: list[Consumed] = []
    while len(records) < max_rows:
        remaining_ms = int((deadline - clock.monotonic()) * 1000)
        if remaining_ms <= 0 and records:
            break
        timeout_ms = max(remaining_ms, 50 if not records else 1)
        if while_ is not None:
            if not records and not while_():
                break
            timeout_ms = min(timeout_ms, AHEAD_POLL_MS)
        records.extend(consumer.poll(max_rows - len(records), timeout_ms))
        if clock.monotonic() >= deadline:
            break
    return records


def decode(records: Sequence[Consumed]) -> Decoded:
    """Envelope -> validated row; anything undecodable or invalid is poison (dead-lettered)."""
    decoded = Decoded()
    for record in records:
        try:
            row = row_from_record(record.value)
        except Exception as exc:  # any decode/validation failure makes it a poison message
            decoded.poison.append(DeadLetter(record, f"{type(exc).__name__}: {exc}"[:500]))
            continue
        decoded.rows.append((row, record))
    return decoded


# -- duplicates -----------------------------------------------------------------------------------

def drop_repeats(rows: Sequence[tuple[SalesRow, Consumed]]
                 ) -> tuple[list[tuple[SalesRow, Consumed]], int, list[Conflict]]:
    """The first of each key in the batch; later repeats with the same content are dropped (counted),
    with other content they are conflicts."""
    first: dict[Key, SalesRow] = {}
    unique, conflicts, repeats = [], [], 0
    for row, record in rows:
        earlier = first.get(key_of(row))
        if earlier is None:
            first[key_of(row)] = row
            unique.append((row, record))
        elif canonical(earlier.raw) == canonical(row.raw):
            repeats += 1
        else:
            conflicts.append(Conflict(row, record, earlier.raw))
    return unique, repeats, conflicts


def _chunks(keys: Sequence[tuple[str, ...]]) -> Iterable[tuple[tuple[str, ...], ...]]:
    """Keys in chunks whose SQL literals stay under LOOKUP_BYTES (an id can be 128 characters)."""
    chunk: list[tuple[str, ...]] = []
    size = 0
    for key in keys:
        cost = sum(len(part.encode()) * 2 + 4 for part in key) + 4  # worst case: every byte escaped
        if chunk and size + cost > LOOKUP_BYTES:
            yield tuple(chunk)
            chunk, size = [], 0
        chunk.append(key)
        size += cost
    if chunk:
        yield tuple(chunk)


def stored_raw(store: AnalyticsStore, keys: Sequence[Key]) -> dict[Key, str]:
    """The stored content of those keys the raw table holds (primary-key look-ups)."""
    found: dict[Key, str] = {}
    for chunk in _chunks(list(dict.fromkeys(keys))):
        for source, event_id, raw in store.query(
                "SELECT source, event_id, any(raw) FROM {db}.sales_events WHERE (source, event_id) IN %(keys)s "
                "GROUP BY source, event_id", {"keys": chunk}):
            found[(source, event_id)] = raw
    return found


def drop_stored(store: AnalyticsStore, rows: Sequence[tuple[SalesRow, Consumed]]
                ) -> tuple[list[tuple[SalesRow, Consumed]], int, list[Conflict]]:
    """Rows whose key is not stored yet; a stored key with the same content is a repeat (or a batch
    redelivered after a crash), with other content a conflict."""
    stored = stored_raw(store, [key_of(row) for row, _ in rows])
    fresh, conflicts, repeats = [], [], 0
    for row, record in rows:
        raw = stored.get(key_of(row))
        if raw is None:
            fresh.append((row, record))
        elif canonical(raw) == canonical(row.raw):
            repeats += 1
        else:
            conflicts.append(Conflict(row, record, raw))
    return fresh, repeats, conflicts


# -- refunds follow their order ---------------------------------------------------------------------

def stored_orders(store: AnalyticsStore, keys: Sequence[OrderKey]) -> dict[OrderKey, list[OrderState]]:
    """Paid orders by (platform, order_id); one per source that reported the order."""
    found: dict[OrderKey, list[OrderState]] = {}
    for chunk in _chunks(list(dict.fromkeys(keys))):
        rows = store.query(
            """
            SELECT platform, order_id, source, anyIf(campaign, paid_fen > 0), anyIf(host, paid_fen > 0),
                   anyIf(enterprise, paid_fen > 0), anyIf(county, paid_fen > 0), anyIf(region_code, paid_fen > 0),
                   anyIf(category, paid_fen > 0), anyIf(sku, paid_fen > 0), anyIf(product_name, paid_fen > 0),
                   sum(paid_fen), sum(refunded_fen)
            FROM {db}.sales_orders
            WHERE (platform, order_id) IN %(keys)s
            GROUP BY platform, order_id, source
            HAVING sum(paid_fen) > 0
            """, {"keys": chunk})
        for (platform, order_id, source, campaign, host, enterprise, county, region_code, category, sku, product_name,
             paid, refunded) in rows:
            found.setdefault((platform, order_id), []).append(OrderState(
                source, campaign, host, enterprise, county, region_code, category, sku, product_name,
                paid_fen=int(paid), refunded_fen=int(refunded)))
    return found


def _order_of(refund: SalesRow, candidates: list[OrderState], scope_of: Callable[[str], SourceScope | None]
              ) -> tuple[OrderState | None, bool]:
    """(the order this refund refers to, whether one exists that the refund's source may not touch).
    The refunding source's own order first; another source's only where its scope covers it."""
    own = next((o for o in candidates if o.source == refund.source), None)
    if own is not None:
        return own, False
    scope = scope_of(refund.source)
    for order in candidates:
        if scope is not None and scope.covers_order(refund.platform, order.campaign, order.enterprise):
            return order, False
    return None, bool(candidates)


def resolve_refunds(store: AnalyticsStore, rows: Sequence[tuple[SalesRow, Consumed]],
                    scope_of: Callable[[str], SourceScope | None]) -> Resolved:
    """Each refund takes its paid order's campaign, host, enterprise and places (the refund's own
    fields do not decide), on the day the refund happened; a refund beyond what is left of the order
    is capped and flagged; one whose order is not stored yet is pending; one for an order of a
    source it may not speak for is refused."""
    refunds = [(row, record) for row, record in rows if row.type == REFUNDED]
    resolved = Resolved(rows=[(row, record) for row, record in rows if row.type != REFUNDED])
    if not refunds:
        return resolved
    orders = stored_orders(store, [(row.platform, row.order_id) for row, _ in refunds])
    for row, _ in rows:  # orders paid in this very batch
        if row.type == PAID:
            orders.setdefault((row.platform, row.order_id), []).append(OrderState.of_paid(row))
    for row, record in refunds:
        order, foreign = _order_of(row, orders.get((row.platform, row.order_id), []), scope_of)
        if order is None and foreign:
            resolved.foreign.append(DeadLetter(record, f"refund refused: order {row.order_id} was reported by "
                                                       f"another source this source may not speak for"))
            continue
        if order is None:
            resolved.pending.append(Pending(row, record))
            continue
        left = max(order.paid_fen - order.refunded_fen, 0)
        amount, adjustment = row.amount_fen, row.adjustment
        if amount > left:
            amount, adjustment = left, f"capped:{row.amount_fen}"
            resolved.capped += 1
        order.refunded_fen += amount
        resolved.rows.append((row._replace(campaign=order.campaign, host=order.host, enterprise=order.enterprise,
                                      county=order.county, region_code=order.region_code, category=order.category,
                                      sku=order.sku, product_name=order.product_name, amount_fen=amount,
                                      adjustment=adjustment), record))
    return resolved


def pending_for(store: AnalyticsStore, order_keys: Sequence[OrderKey]) -> list[tuple[SalesRow, Consumed]]:
    """Refunds waiting for these orders (not applied yet), rebuilt from their stored envelopes. Usually
    none are waiting at all: one query over the (small) table of held refunds says so before the
    look-up by every paid order of the batch. A refund counts as waiting while none of its versions
    is applied (an applied one keeps its unapplied version until the table merges)."""
    waiting: list[tuple[SalesRow, Consumed]] = []
    if not order_keys or not store.query(
            "SELECT 1 FROM {db}.pending_refunds GROUP BY platform, order_id, source, event_id "
            "HAVING max(applied) = 0 LIMIT 1"):
        return waiting
    for chunk in _chunks(list(dict.fromkeys(order_keys))):
        for value, topic, partition, offset in store.query(
                """
                SELECT envelope, log_topic, log_partition, log_offset FROM (
                    SELECT argMax(envelope, version) AS envelope, argMax(applied, version) AS applied,
                           argMax(log_topic, version) AS log_topic, argMax(log_partition, version) AS log_partition,
                           argMax(log_offset, version) AS log_offset
                    FROM {db}.pending_refunds WHERE (platform, order_id) IN %(keys)s
                    GROUP BY platform, order_id, source, event_id)
                WHERE applied = 0
                """, {"keys": chunk}):
            record = Consumed(topic, int(partition), int(offset), None, value.encode())
            waiting.append((row_from_record(record.value), record))
    return waiting


def park_pending(store: AnalyticsStore, pending: Sequence[Pending], *, applied: bool, at: datetime) -> None:
    """Record refunds as pending (applied=False) or as applied now (a later version of the same row)."""
    if pending:
        store.insert("{db}.pending_refunds",
                     ("source", "event_id", "platform", "order_id", "received_at", "envelope", "log_topic",
                      "log_partition", "log_offset", "applied", "version"),
                     [(p.row.source, p.row.event_id, p.row.platform, p.row.order_id, p.row.received_at,
                       p.record.value.decode("utf-8"), p.record.topic, p.record.partition, p.record.offset,
                       int(applied), int(applied)) for p in pending])


def record_conflicts(store: AnalyticsStore, conflicts: Sequence[Conflict], *, at: datetime) -> None:
    if conflicts:
        store.insert("{db}.sales_conflicts",
                     ("source", "event_id", "detected_at", "stored_raw", "incoming_raw", "log_topic",
                      "log_partition", "log_offset"),
                     [(c.row.source, c.row.event_id, at, c.stored_raw, c.row.raw, c.record.topic, c.record.partition,
                       c.record.offset) for c in conflicts])


# -- insert and dead letters ------------------------------------------------------------------------

def insert(store: AnalyticsStore, rows: Sequence[tuple[SalesRow, Consumed]]
           ) -> tuple[list[SalesRow], list[DeadLetter]]:
    """Insert; when the store refuses the data, bisect to set aside only the bad rows.
    StoreUnavailable propagates: the caller retries."""
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
