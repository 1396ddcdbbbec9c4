"""Two connector workers (two `liveboard connect` processes, as the cluster topology runs them) on
real Kafka and ClickHouse: they share the raw topic's consumer group, so each takes in the
partitions it was assigned and nothing twice, and they share the pending table, where a claim keeps
them from enriching the same message twice. Every order reaches the board once, to the fen."""
from __future__ import annotations

import threading

import pytest

from connectors.worker import ConnectorWorker
from tests.e2e.connectors.helpers import HOST_ACCOUNT, connect

pytestmark = pytest.mark.e2e

ORDERS = 30


def test_two_workers_split_the_raw_topic_and_enrich_each_message_once(tmp_path, request):
    c = connect("scale", "douyin_shop", tmp_path, request, threads=2)
    second = ConnectorWorker(c.runtime, threads=2)  # another process: its own consumer, owner and claims
    workers = [c.worker, second]
    try:
        # both join the group before anything arrives: the 3 partitions are split between them
        for _ in range(300):
            for worker in workers:
                worker.ingest(timeout_ms=100)
            owned = [worker.consumer.partitions() for worker in workers]
            if all(owned) and not owned[0] & owned[1] and owned[0] | owned[1] == {0, 1, 2}:
                break
        else:
            raise AssertionError(f"the group never split the partitions: {owned}")

        fens = [100 + n for n in range(ORDERS)]
        for fen in fens:
            assert c.push_paid(c.order(fen, host=HOST_ACCOUNT)[0]).status == 200
        assert c.raw_count() == ORDERS
        threads = [threading.Thread(target=worker.run_until_idle) for worker in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        stats = [worker.stats for worker in workers]
        assert [worker.consumer.partitions() for worker in workers] == owned  # no rebalance meanwhile
        assert all(s.ingested > 0 for s in stats), [s.ingested for s in stats]  # both took their share
        assert sum(s.ingested for s in stats) == ORDERS and sum(s.duplicates for s in stats) == 0
        assert sum(s.completed for s in stats) == ORDERS and sum(s.events for s in stats) == ORDERS
        assert sum(s.dead for s in stats) == 0
        status = c.status()
        assert (status.pending, status.done, status.dead) == (0, ORDERS, 0)
        c.settle(ORDERS)
        assert c.stack.stored_events() == ORDERS
        assert c.board("hosts") == {"H1": sum(fens)}
    finally:
        second.close()
