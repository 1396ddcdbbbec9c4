"""KafkaEventLog.append over producers standing in for kafka-python's: records not acknowledged in
time make the next append use a new producer (kafka-python's idempotent producer could stay stuck
after a broker restart, one gunicorn worker answering 503 for minutes); other failures keep it."""
from __future__ import annotations

import threading

import pytest
from kafka.errors import KafkaTimeoutError, NotLeaderForPartitionError

from eventlog.base import EventLogUnavailable, Record
from eventlog.kafka_log import KafkaEventLog


class Future:
    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def get(self, timeout: float) -> None:
        if self.error is not None:
            raise self.error


class Producer:
    def __init__(self, error: Exception | None) -> None:
        self.error, self.sent, self.closed = error, 0, False

    def send(self, topic, key, value, headers):
        self.sent += 1
        return Future(self.error)

    def close(self, timeout: float) -> None:
        self.closed = True


def _log_with(producers: list[Producer]) -> tuple[KafkaEventLog, list[Producer]]:
    log = KafkaEventLog("127.0.0.1:1", "sales", "dlq")
    made: list[Producer] = []

    def new_producer():
        made.append(producers[len(made)])
        return made[-1]

    log._new_producer = new_producer  # type: ignore[method-assign]
    return log, made


def test_records_not_acknowledged_in_time_hand_over_to_a_new_producer():
    stuck, fresh = Producer(KafkaTimeoutError("Timeout after waiting for 10.0 secs.")), Producer(None)
    log, made = _log_with([stuck, fresh])
    with pytest.raises(EventLogUnavailable, match="Timeout after waiting for 10.0 secs"):
        log.append("sales", [Record(key=b"k", value=b"v")])
    log.append("sales", [Record(key=b"k", value=b"v1"), Record(key=b"k", value=b"v2")])
    assert made == [stuck, fresh] and (stuck.sent, fresh.sent) == (1, 2)
    for thread in threading.enumerate():  # closed aside, on a thread of its own
        if thread.name == "kafka-producer-close":
            thread.join()
    assert stuck.closed and not fresh.closed


def test_an_error_the_broker_answered_keeps_the_producer():
    answering = Producer(NotLeaderForPartitionError())
    log, made = _log_with([answering])
    for _ in range(3):
        with pytest.raises(EventLogUnavailable, match="NotLeaderForPartitionError"):
            log.append("sales", [Record(key=b"k", value=b"v")])
    assert made == [answering] and answering.sent == 3 and not answering.closed
