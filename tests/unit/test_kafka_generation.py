"""The writer's generation bookkeeping compares kafka-python Generations with None (a consumer
between generations) and its own markers; Generation.__eq__ raises on either. A batch polled across
a rebalance crashed the writer with AttributeError before this comparison existed."""
from __future__ import annotations

from kafka.coordinator.base import Generation

from eventlog.kafka_log import KafkaLogConsumer

same = KafkaLogConsumer._same_generation


def test_generations_compare_by_id_member_and_protocol():
    assert same(Generation(3, "m-1", "range"), Generation(3, "m-1", "range"))
    assert not same(Generation(3, "m-1", "range"), Generation(4, "m-1", "range"))


def test_none_and_markers_compare_by_identity_without_raising():
    g = Generation(3, "m-1", "range")
    for marker in (None, KafkaLogConsumer._UNSET, KafkaLogConsumer._MIXED):
        assert not same(g, marker) and not same(marker, g)
        assert same(marker, marker)
    assert not same(None, KafkaLogConsumer._MIXED)
    assert not same(KafkaLogConsumer._UNSET, None)
