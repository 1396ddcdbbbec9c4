"""Event log seam. `open_event_log(settings)` picks Kafka or the durable SQLite log."""
from __future__ import annotations

from eventlog.base import Consumed, EventLog, EventLogUnavailable, Record


def open_event_log(settings, client_id: str = "liveboard") -> EventLog:
    if settings.event_log == "kafka":
        from eventlog.kafka_log import KafkaEventLog

        return KafkaEventLog(settings.kafka_bootstrap, settings.sales_topic, settings.dead_letter_topic,
                             settings.topic_partitions, client_id=client_id,
                             replication_factor=settings.topic_replication_factor,
                             max_poll_interval_ms=settings.consumer_max_poll_interval_ms,
                             session_timeout_ms=settings.consumer_session_timeout_ms,
                             extra_topics={settings.connector_raw_topic: settings.topic_partitions,
                                           settings.connector_dead_letter_topic: 1})
    from eventlog.sqlite_log import SqliteEventLog

    return SqliteEventLog(settings.event_log_path, settings.sales_topic, settings.dead_letter_topic)


__all__ = ["Consumed", "EventLog", "EventLogUnavailable", "Record", "open_event_log"]
