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


def test_records_put_back_seek_each_assigned_partition_to_its_first_record():
    from collections import namedtuple

    from kafka import TopicPartition

    class Consumer:  # kafka-python's seek rule (consumer/group.py): only assigned partitions, else ValueError
        def __init__(self, assigned):
            self.assigned, self.seeks = assigned, []

        def seek(self, tp, offset):
            if tp not in self.assigned:
                raise ValueError("Unassigned partition")
            self.seeks.append((tp.partition, offset))

    Record = namedtuple("Record", "offset")
    kept, lost, empty = TopicPartition("t", 0), TopicPartition("t", 1), TopicPartition("t", 2)
    consumer = KafkaLogConsumer.__new__(KafkaLogConsumer)
    consumer._consumer = Consumer({kept, empty})
    consumer._put_back({kept: [Record(40), Record(41)], lost: [Record(7)], empty: []})
    assert consumer._consumer.seeks == [(0, 40)]  # the lost partition is its new owner's
