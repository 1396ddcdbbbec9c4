"""The sales writer's stages as plain functions (consumers/stages.py), and how store errors are
classified (analytics/base.py), without any server."""
from __future__ import annotations

from datetime import datetime, timezone

import orjson
import pytest

from analytics.base import StoreFailed, StoreRejected, StoreUnavailable
from analytics.chdb_store import chdb_error
from analytics.rows import SalesRow
from consumers import stages
from domain.scope import SourceScope
from eventlog.base import Consumed

NOW = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)


def _row(event_id: str, *, source: str = "a", type: str = "order.paid", order_id: str = "o1", amount: int = 100,
         host: str = "H1", enterprise: str = "E1", **extra) -> SalesRow:
    event = {"event_id": event_id, "type": type, "order_id": order_id, "amount_fen": amount, "host": host, **extra}
    return SalesRow(event_id, type, NOW, NOW, source, "douyin", "c", host, enterprise, order_id, "", "", "sku", "名",
                    "tea", "433101", "", 1, amount, 0, 0, orjson.dumps(event).decode())


def _record(offset: int) -> Consumed:
    return Consumed("sales", 0, offset, None, b"{}")


def test_lookups_are_cut_by_bytes_whatever_the_ids_length():
    keys = [("source-" + "s" * 57, f"{n:04d}" + "x" * 124) for n in range(2000)]  # 64 + 128 characters
    chunks = list(stages._chunks(keys))
    assert sum(len(c) for c in chunks) == 2000 and len(chunks) > 4
    for chunk in chunks:  # a query with the chunk's literals stays far under 262,144 bytes
        literal = ", ".join(f"('{s}', '{e}')" for s, e in chunk)
        assert len(literal.encode()) < stages.LOOKUP_BYTES


def test_a_repeat_with_other_content_is_a_conflict_and_the_first_stays():
    first, same, other = _row("e1"), _row("e1"), _row("e1", amount=999)
    kept, repeats, conflicts = stages.drop_repeats([(first, _record(1)), (same, _record(2)), (other, _record(3))])
    assert [r for r, _ in kept] == [first] and repeats == 1
    assert [(c.row.amount_fen, orjson.loads(c.stored_raw)["amount_fen"]) for c in conflicts] == [(999, 100)]
    assert stages.drop_repeats([(_row("e1", source="a"), _record(1)), (_row("e1", source="b"), _record(2))])[1:] == (
        0, [])  # the same id from two sources: two events


class _Orders:
    """A store that knows a few paid orders (for one look-up function's unit test)."""

    def __init__(self, rows):
        self.rows = rows

    def query(self, sql, params=None):
        assert "sales_orders" in sql
        wanted = set(params["keys"])
        return [r for r in self.rows if (r[0], r[1]) in wanted]


def test_refunds_take_their_orders_attribution_capped_pending_or_refused():
    store = _Orders([("douyin", "o1", "a", "c", "H9", "E1", "433125", "433125101", "meat", "s", "腊肉", 5_000, 1_000),
                     ("douyin", "o2", "other", "c", "H2", "E2", "433101", "", "tea", "s", "茶", 1_000, 0)])
    rows = [(_row("r1", type="order.refunded", order_id="o1", amount=3_000, host="H1"), _record(1)),
            (_row("r2", type="order.refunded", order_id="o1", amount=3_000), _record(2)),
            (_row("r3", type="order.refunded", order_id="missing"), _record(3)),
            (_row("r4", type="order.refunded", order_id="o2"), _record(4))]
    scopes = {"a": SourceScope(platforms=frozenset({"douyin"}), enterprises=frozenset({"E1"}),
                               enterprise_ids=frozenset({"E1"}))}
    resolved = stages.resolve_refunds(store, rows, scopes.get)
    applied = [r for r, _ in resolved.rows]
    assert [(r.event_id, r.host, r.county, r.region_code, r.amount_fen, r.adjustment) for r in applied] == [
        ("r1", "H9", "433125", "433125101", 3_000, ""),     # the order's host, not the H1 the refund named
        ("r2", "H9", "433125", "433125101", 1_000, "capped:3000")]  # 5,000 paid - 1,000 - 3,000 left 1,000
    assert [p.row.event_id for p in resolved.pending] == ["r3"] and resolved.capped == 1
    assert [letter.record.offset for letter in resolved.foreign] == [4]  # source b's order, not a's to refund


@pytest.mark.parametrize(("message", "kind"), [
    ("Code: 62. DB::Exception: Max query size exceeded", StoreFailed),
    ("Code: 241. DB::Exception: Memory limit (total) exceeded", StoreUnavailable),
    ("Code: 252. DB::Exception: Too many parts (300)", StoreUnavailable),
    ("Code: 27. DB::Exception: Cannot parse input", StoreRejected),
    ("Code: 60. DB::Exception: Table liveboard.sales_events doesn't exist", StoreUnavailable),
    ("something without a code", StoreFailed),
])
def test_chdb_errors_are_classified_by_their_code(message, kind):
    error = chdb_error(RuntimeError(message))
    assert type(error) is kind and str(error) == message
