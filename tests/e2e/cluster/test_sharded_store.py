"""The analytics store on two ClickHouse 18.16 shards: the migrations' sharded mode (every statement
on every shard against `<name>_local`, Distributed tables under the original names), the writer
through the Distributed tables (each event once, each order on one shard), and the same answers as
the unsharded schema on chDB for the same events. (Topics on the 3-broker cluster, RF 3 and min ISR 2,
are checked by the cluster run in test_cluster_reliability.py, on a cluster of its own.)"""
from __future__ import annotations

import time

import pytest

from analytics import open_shard_stores
from analytics.boards import campaign_totals
from analytics.fraud import hourly_net
from analytics.migrations import migrate_sharded, sharding_key
from analytics.reconcile import reconcile
from bench import workload
from configstore.registry import attribution
from services.boards import compute_board
from tests.e2e.conftest import build_stack

pytestmark = pytest.mark.e2e

SHARDED_TABLES = {"sales_events", "sales_daily", "sales_campaign", "sales_orders", "sales_conflicts", "pending_refunds"}


def _sharded_stack(clickhouse_cluster, tmp_path, request):
    database = f"s_{time.monotonic_ns() % 10**10}"
    return build_stack("embedded", tmp_path / "sharded", request, store="clickhouse",
                       clickhouse_url=clickhouse_cluster.url(1, database),
                       clickhouse_cluster=clickhouse_cluster.cluster_name)


def _tables(store) -> dict[str, str]:
    return dict(store.query("SELECT name, engine FROM system.tables WHERE database = %(db)s",
                            {"db": store.database}))


def test_migrations_shard_every_table_on_every_shard_and_bring_a_lagging_shard_up(clickhouse_cluster, tmp_path,
                                                                                  request):
    stack = _sharded_stack(clickhouse_cluster, tmp_path, request)
    try:
        shards = open_shard_stores(stack.settings)
        assert [s.port for s in shards] == [clickhouse_cluster.shard(i).port for i in (1, 2)]  # from system.clusters
        for shard in shards:
            tables = _tables(shard)
            assert {name for name, engine in tables.items() if engine == "Distributed"} == SHARDED_TABLES
            assert {f"{name}_local" for name in SHARDED_TABLES} <= set(tables)
            assert {name for name, engine in tables.items() if engine == "MaterializedView"} == {
                "sales_daily_mv", "sales_campaign_mv", "sales_orders_mv"}
            # the views read and fill the shard's own tables
            (view,) = shard.query("SELECT create_table_query FROM system.tables WHERE database = %(db)s "
                                  "AND name = 'sales_orders_mv'", {"db": shard.database})[0]
            assert f"TO {shard.database}.sales_orders_local" in view and f"FROM {shard.database}.sales_events_local" in view
            (engine,) = shard.query("SELECT engine_full FROM system.tables WHERE database = %(db)s "
                                    "AND name = 'sales_events'", {"db": shard.database})[0]
            assert "sales_events_local" in engine and "cityHash64(platform, order_id)" in engine
            # the Distributed table has exactly the local table's columns (002 renamed the tables)
            columns = "SELECT name, type FROM system.columns WHERE database = %(db)s AND table = %(t)s"
            assert (shard.query(columns, {"db": shard.database, "t": "sales_events"})
                    == shard.query(columns, {"db": shard.database, "t": "sales_events_local"}))
            assert "region_code" in {c for c, _ in shard.query(columns, {"db": shard.database, "t": "sales_events"})}
        assert migrate_sharded(shards, clickhouse_cluster.cluster_name) == []  # idempotent
        # a shard that lost everything (a new, empty server) is brought up by the next run
        shards[1].command("DROP DATABASE {db}")
        assert migrate_sharded(shards, clickhouse_cluster.cluster_name) == [
            "001_sales_events", "002_source_scoped_events_orders_regions", "003_sales_campaign"]
        assert _tables(shards[1]) == _tables(shards[0])
    finally:
        stack.close()


def test_sharding_key_keeps_an_order_together_and_an_event_with_its_repeats():
    events = {"event_id", "source", "platform", "order_id", "amount_fen"}
    assert sharding_key(events) == ("if(order_id = '', cityHash64(source, event_id), "
                                    "cityHash64(platform, order_id))")
    assert sharding_key({"platform", "order_id", "paid_fen"}) == "cityHash64(platform, order_id)"
    assert sharding_key({"source", "event_id", "stored_raw"}) == "cityHash64(source, event_id)"
    assert sharding_key({"campaign", "day", "paid_fen"}) == "rand()"


def _events(campaign: str, described: dict) -> list[dict]:
    """Orders with refunds (capped ones too), a refund that comes before its order, repeats."""
    factory = workload.EventFactory(campaign, described["hosts"], described["enterprises"], seed=31, tag="sh")
    events = factory.events(1500)
    paid = [e for e in events if e["type"] == "order.paid"]
    early_order = paid[-1]
    early_refund = {**early_order, "event_id": early_order["event_id"] + "-rf", "type": "order.refunded",
                    "refund_id": "rf-early", "amount_fen": early_order["amount_fen"] * 2}  # capped at the order
    events.remove(early_order)
    return [early_refund, *events, early_order, *events[:200]]  # the first 200 again: repeats


def test_writer_through_distributed_tables_matches_the_unsharded_schema(clickhouse_cluster, tmp_path, request):
    sharded = _sharded_stack(clickhouse_cluster, tmp_path, request)
    single = build_stack("embedded", tmp_path / "single", request)  # chDB: the same SQL, unsharded
    try:
        slug = "sharded-same"
        answers, events = [], None
        for stack in (sharded, single):
            described = workload.setup_campaign(stack.sessions, slug)
            events = events or _events(slug, described)  # the very same events for both
            responses = stack.sender.post_batches(events, batch_size=250)
            assert all(r.status_code == 202 for r in responses), [r.text[:200] for r in responses]
            stack.drain(len({e["event_id"] for e in events}))
            assert stack.raw_row_count() == len({e["event_id"] for e in events})  # each event once
            campaign = described["campaign"]
            store, sessions = stack.store, stack.sessions
            boards = {}
            for board in ("hosts", "enterprises", "county", "platform"):
                computed = compute_board(sessions, store, dimension=board, campaign=slug,
                                         first_day=campaign.first_day, last_day=campaign.last_day)
                boards[board] = [(e.rank, e.participant_id, e.net_gmv_fen, e.order_count, e.refund_count, e.buyers, e.reached_at)
                                 for e in computed.entries]
            answers.append({
                "reconcile": reconcile(store),
                "totals": campaign_totals(store, campaign=slug, first_day=campaign.first_day,
                                          last_day=campaign.last_day),
                "boards": boards,
                "hourly": hourly_net(store, campaign=slug, board="hosts",
                                     attribution=attribution(sessions, "hosts")),
                "capped": store.query("SELECT amount_fen, adjustment FROM {db}.sales_events "
                                      "WHERE refund_id = 'rf-early'"),
            })
        assert answers[0]["reconcile"]["matches"]
        assert answers[0] == answers[1]
        assert answers[0]["capped"][0][1].startswith("capped:")

        # Every order's rows (paid, refunds) and its sales_orders row sit on one shard; both shards hold some.
        placement: dict[tuple[str, str], set[int]] = {}
        for number, shard in enumerate(open_shard_stores(sharded.settings), start=1):
            for table in ("sales_events_local", "sales_orders_local"):
                for platform, order_id in shard.query(f"SELECT DISTINCT platform, order_id FROM {{db}}.{table}"):
                    placement.setdefault((platform, order_id), set()).add(number)
        assert {frozenset(s) for s in placement.values()} == {frozenset({1}), frozenset({2})}
    finally:
        sharded.close()
        single.close()
