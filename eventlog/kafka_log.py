"""The event log on Apache Kafka (kafka-python).

The producer is idempotent with acks=all: append() returns only after every partition leader
and its in-sync replicas have the records; topics are created with min.insync.replicas (2 on a
cluster), so an acknowledged append survives the loss of a broker. Keys are "platform:order_id" for
order events and "source:event_id" otherwise (schemas.envelope.partition_key), so one order's events
stay in one partition, in order. Consumers never auto-commit: the writer commits after its insert.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Sequence

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, KafkaTimeoutError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata

from eventlog.base import Consumed, EventLogUnavailable, Record, highest_per_partition

log = logging.getLogger(__name__)
BREAKER_SECONDS = 2.0


def _close_quietly(producer: KafkaProducer) -> None:
    try:
        producer.close(timeout=5)
    except Exception:  # a producer given up on: nothing of it is waited for any more
        log.info("closing a discarded kafka producer failed", exc_info=True)


class KafkaEventLog:
    def __init__(self, bootstrap: str, sales_topic: str, dead_letter_topic: str, partitions: int = 6,
                 client_id: str = "liveboard", replication_factor: int = -1, max_poll_interval_ms: int = 120_000,
                 session_timeout_ms: int = 10_000, min_insync_replicas: int = -1,
                 extra_topics: dict[str, int] | None = None):
        """`extra_topics`: other topics `ensure_topics` creates, name -> partitions, with the same
        replication factor and min.insync.replicas as the sales topic."""
        self.bootstrap = bootstrap
        self.replication_factor = replication_factor  # -1: the brokers' default.replication.factor
        self.min_insync_replicas = min_insync_replicas  # -1: 2 on a cluster of 3 or more brokers, else 1
        self.consumer_options = {"max_poll_interval_ms": max_poll_interval_ms, "session_timeout_ms": session_timeout_ms}
        self.extra_topics = dict(extra_topics or {})
        self.sales_topic = sales_topic
        self.dead_letter_topic = dead_letter_topic
        self.partitions = partitions
        self.client_id = client_id
        self._producer: KafkaProducer | None = None
        self._producer_lock = threading.Lock()
        self._admin: KafkaAdminClient | None = None  # for group_position, opened on first use
        # After a failed connect, answer "unavailable" at once for a moment instead of making
        # every request wait out its own bootstrap timeout.
        self._unavailable_until = 0.0

    # -- topics ---------------------------------------------------------------------------
    def ensure_topics(self, timeout_s: float = 60.0) -> None:
        """Create the sales, dead-letter and extra topics when missing (idempotent). A broker lost
        while this runs (a process started during a broker failure) is retried through the others
        until `timeout_s`; then EventLogUnavailable."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return self._ensure_topics_once()
            except KafkaError as exc:
                if time.monotonic() > deadline:
                    raise EventLogUnavailable(f"kafka admin: {exc}") from exc
                log.warning("creating topics failed (%s); trying again", exc)
                time.sleep(1.0)

    def _ensure_topics_once(self) -> None:
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, client_id=f"{self.client_id}-admin",
                                 request_timeout_ms=15000)
        try:
            existing = set(admin.list_topics())
            names = [(self.sales_topic, self.partitions), (self.dead_letter_topic, 1), *self.extra_topics.items()]
            if all(name in existing for name, _ in names):
                wanted = [NewTopic(name, partitions, self.replication_factor) for name, partitions in names]
            else:
                configs = {"min.insync.replicas": str(self._min_insync_replicas(admin))}
                wanted = [NewTopic(name, partitions, self.replication_factor, topic_configs=configs)
                          for name, partitions in names]
            missing = [t for t in wanted if t.name not in existing]
            if missing:
                try:
                    admin.create_topics(missing, timeout_ms=15000)
                except TopicAlreadyExistsError:
                    pass  # another process won the race
            self._wait_for_leaders(admin, [t.name for t in wanted])
        finally:
            admin.close()

    def _min_insync_replicas(self, admin: KafkaAdminClient) -> int:
        """The topics' min.insync.replicas: the setting, or 2 on a cluster of 3 or more brokers (one
        may be lost while acks=all appends go on, and each is on two brokers), else 1."""
        if self.min_insync_replicas > 0:
            return self.min_insync_replicas
        brokers = len(admin.describe_cluster()["brokers"])
        replicas = self.replication_factor if self.replication_factor > 0 else brokers
        return 2 if min(replicas, brokers) >= 3 else 1

    @staticmethod
    def _wait_for_leaders(admin: KafkaAdminClient, topics: list[str], timeout_s: float = 15.0) -> None:
        # A consumer that joins its group before the new topic's metadata has spread gets no
        # partitions and, with the default 5-minute metadata age, keeps none: wait until every
        # partition has a leader so the first join already sees them.
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                described = admin.describe_topics(topics)
                ready = all(
                    t.get("error_code", 0) == 0 and t.get("partitions")
                    and all(p.get("error_code", 0) == 0 and p.get("leader_id", -1) >= 0 for p in t["partitions"])
                    for t in described
                )
            except KafkaError:
                ready = False
            if ready:
                return
            if time.monotonic() > deadline:
                raise EventLogUnavailable(f"kafka: topics {topics} have no partition leaders after {timeout_s:.0f}s")
            time.sleep(0.1)

    # -- producing ------------------------------------------------------------------------
    def _get_producer(self) -> KafkaProducer:
        if self._producer is None:
            with self._producer_lock:
                if time.monotonic() < self._unavailable_until:
                    raise EventLogUnavailable("kafka: broker unreachable (recently failed; retrying shortly)")
                if self._producer is None:
                    try:
                        self._producer = self._new_producer()
                    except (KafkaError, OSError):
                        self._unavailable_until = time.monotonic() + BREAKER_SECONDS
                        raise
        return self._producer

    def _new_producer(self) -> KafkaProducer:
        # One producer per process, shared by every request thread: records appended within
        # linger_ms of each other go out in one produce request (one round trip, one batch per
        # partition), while each caller still waits for its own records' acknowledgement. A
        # 500-event webhook (~250 KB) fits one batch per partition.
        return KafkaProducer(
            bootstrap_servers=self.bootstrap,
            client_id=self.client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            batch_size=256 * 1024,
            max_block_ms=5000,
            request_timeout_ms=10000,
            delivery_timeout_ms=15000,
            max_request_size=2 * 1024 * 1024,
            bootstrap_timeout_ms=5000,
        )

    def append(self, topic: str, records: Sequence[Record], timeout_s: float = 10.0) -> None:
        if not records:
            return
        try:
            producer = self._get_producer()
        except (KafkaError, OSError) as exc:
            raise EventLogUnavailable(f"kafka: {exc!r}") from exc
        try:
            futures = [
                producer.send(topic, key=r.key, value=r.value, headers=list(r.headers) or None) for r in records
            ]
            for future in futures:
                future.get(timeout=timeout_s)
        except KafkaTimeoutError as exc:
            self._discard_producer(producer)
            raise EventLogUnavailable(f"kafka: {exc!r}") from exc
        except (KafkaError, OSError) as exc:
            raise EventLogUnavailable(f"kafka: {exc!r}") from exc

    def _discard_producer(self, producer: KafkaProducer) -> None:
        """Records not acknowledged in time: the next append gets a new producer. kafka-python's
        idempotent producer can stay stuck after a broker restart (its batches expired, nothing after
        them ever sent): in the kill-and-restart test one gunicorn worker answered 503 for minutes
        while a worker started after the restart produced at once. The old one is closed aside."""
        with self._producer_lock:
            if self._producer is not producer:
                return  # another request thread already replaced it
            self._producer = None
        log.warning("kafka producer did not get records acknowledged in time; a new one takes over")
        threading.Thread(target=lambda: _close_quietly(producer), name="kafka-producer-close", daemon=True).start()

    def count(self, topic: str) -> int:
        """Records currently held in a topic (end minus beginning offsets); for the health view."""
        try:
            consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, client_id=f"{self.client_id}-count",
                                     request_timeout_ms=10000, enable_auto_commit=False)
        except KafkaError as exc:
            raise EventLogUnavailable(f"kafka: {exc}") from exc
        try:
            partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            if not partitions:
                return 0
            ends, begins = consumer.end_offsets(partitions), consumer.beginning_offsets(partitions)
            return sum(ends[tp] - begins[tp] for tp in partitions)
        except KafkaError as exc:
            raise EventLogUnavailable(f"kafka: {exc}") from exc
        finally:
            consumer.close()

    def group_position(self, group: str, topic: str) -> int:
        try:
            if self._admin is None:
                self._admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, client_id=f"{self.client_id}-position",
                                               request_timeout_ms=5000)
            offsets = self._admin.list_group_offsets({group: None}).get(group, {})
        except (KafkaError, OSError) as exc:
            if self._admin is not None:
                self._admin.close()
                self._admin = None
            raise EventLogUnavailable(f"kafka: {exc!r}") from exc
        return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset > 0)

    # -- consuming ------------------------------------------------------------------------
    def consumer(self, group: str, topic: str) -> "KafkaLogConsumer":
        return KafkaLogConsumer(self.bootstrap, group, topic, client_id=f"{self.client_id}-{group}",
                                **self.consumer_options)

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=5)
            self._producer = None
        if self._admin is not None:
            self._admin.close()
            self._admin = None


class KafkaLogConsumer:
    # Before an insert the writer needs this share of its poll interval left (at most 30 s): the
    # look-ups are done, the insert must land before the heartbeat thread could give the partitions away.
    INSERT_BUDGET_SHARE, INSERT_BUDGET_MAX_S = 0.25, 30.0
    _UNSET = object()  # no uncommitted records handed out
    _MIXED = object()  # a batch whose records came from two group generations (or one while unjoined)

    def __init__(self, bootstrap: str, group: str, topic: str, client_id: str,
                 max_poll_interval_ms: int = 120_000, session_timeout_ms: int = 10_000):
        self.max_poll_interval_s = max_poll_interval_ms / 1000
        self._batch_generation: object = self._UNSET  # the generation of the uncommitted records handed out
        # the last offset handed out per partition: the generation is forgotten only once commits
        # cover all of them (a writer fetching ahead commits one batch while the next is out)
        self._handed_out: dict[TopicPartition, int] = {}
        self._consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=group,
            client_id=client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=5000,
            # What kafka-python fetches ahead is held decoded in memory: 256 KiB a partition (~500
            # events; kafka-python's 1 MiB default cost a writer catching up 30 MiB more at the same
            # speed). A larger single batch still comes whole (the broker returns the first one).
            max_partition_fetch_bytes=256 * 1024,
            # store outages are waited out paused and polling (keep_alive), not inside one poll cycle
            max_poll_interval_ms=max_poll_interval_ms,
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=max(100, session_timeout_ms // 3),
            # Notice partitions added (or a topic created) after joining within seconds, not 5 minutes.
            metadata_max_age_ms=10000,
        )
        # Join the group only once this client knows the topic's partitions: a leader that
        # assigns before its metadata has them gives everyone nothing (seen under load in CI).
        deadline = time.monotonic() + 15
        while not self._consumer.partitions_for_topic(topic) and time.monotonic() < deadline:
            time.sleep(0.1)
        self._consumer.subscribe([topic])

    def poll(self, max_records: int, timeout_ms: int) -> list[Consumed]:
        try:
            batches = self._consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        except KafkaError as exc:  # broker gone for a moment: nothing to hand out, try again later
            log.warning("kafka poll failed (%r); retrying", exc)
            time.sleep(min(timeout_ms, 1000) / 1000)
            return []
        if any(batches.values()) and self._generation() is None:
            # Records from a consumer outside a stable generation would only be refused by owns():
            # they go back, and the group is made to finish joining first.
            self._put_back(batches)
            self._finish_join()
            return []
        out: list[Consumed] = []
        for tp, messages in batches.items():
            for m in messages:
                out.append(Consumed(tp.topic, tp.partition, m.offset, m.key, m.value))
            if messages:
                self._handed_out[tp] = messages[-1].offset
        if out:
            generation = self._generation()
            if self._batch_generation is self._UNSET:
                self._batch_generation = generation
            elif not self._same_generation(self._batch_generation, generation):
                self._batch_generation = self._MIXED
        return out

    def _generation(self):
        # kafka-python keeps the group state on its coordinator; None while unjoined or rebalancing
        return self._consumer._coordinator.generation_if_stable()

    def _finish_join(self) -> None:
        """kafka-python 3.0.12 can be left mid-rebalance with nothing to finish it: state REBALANCING,
        a JoinGroup task started, yet need_rejoin() False, so poll() never awaits the join and goes on
        handing out records. Seen after an offset commit refused with RebalanceInProgressError: every
        batch was dropped as not owned, and the writer stored nothing more (the bench's freshness probe,
        in CI). Asking for a rejoin makes the next poll await the join already in flight (no second
        JoinGroup; a finished one is followed by a new one) until the group is stable."""
        coordinator = self._consumer._coordinator
        if coordinator.generation_if_stable() is None and not coordinator.need_rejoin():
            log.info("kafka consumer left between generations with no rejoin pending; rejoining")
            coordinator.request_rejoin()

    def _put_back(self, batches) -> None:
        """Seek each partition back to the first record a poll handed out: it comes again. A partition
        no longer assigned (a rebalance in between) is left: its new owner starts at the committed offset."""
        for tp, messages in batches.items():
            if messages:
                try:
                    self._consumer.seek(tp, messages[0].offset)
                except ValueError:  # kafka-python: 'Unassigned partition'
                    log.info("not putting back %s: no longer assigned", tp)

    @classmethod
    def _same_generation(cls, a: object, b: object) -> bool:
        """Equal group generations. kafka-python's Generation.__eq__ assumes the other side is a
        Generation too and raises on None (unjoined) or a marker: those compare by identity."""
        if any(a is m or b is m for m in (None, cls._UNSET, cls._MIXED)):
            return a is b
        return a == b

    def is_assigned(self) -> bool:
        """False while the group is still rebalancing (e.g. waiting out a killed member's session)."""
        return bool(self._consumer.assignment())

    def partitions(self) -> set[int]:
        """The partitions this consumer owns now (empty while unjoined or rebalancing)."""
        return {tp.partition for tp in self._consumer.assignment()}

    def owns(self, records: Sequence[Consumed]) -> bool:
        generation = self._generation()
        if generation is None:
            self._finish_join()
            return False  # a rebalance is under way
        if not self._same_generation(self._batch_generation, generation):
            return False  # a rebalance happened since these records were fetched
        assigned = self._consumer.assignment()
        if any(TopicPartition(r.topic, r.partition) not in assigned for r in records):
            return False
        since_poll = time.monotonic() - self._consumer._coordinator.heartbeat.last_poll
        budget = min(self.INSERT_BUDGET_MAX_S, self.max_poll_interval_s * self.INSERT_BUDGET_SHARE)
        return since_poll < self.max_poll_interval_s - budget

    def caught_up(self) -> bool:
        """True when this consumer owns partitions and has read up to their ends as of now."""
        assignment = list(self._consumer.assignment())
        if not assignment:
            return False
        try:
            ends = self._consumer.end_offsets(assignment)
            return all(self._consumer.position(tp) >= ends[tp] for tp in assignment)
        except KafkaError:
            return False

    def rewind(self) -> None:
        """Back to the committed offsets, discarding uncommitted progress (a dropped batch)."""
        self._batch_generation = self._UNSET
        self._handed_out.clear()
        for tp in self._consumer.assignment():
            committed = self._consumer.committed(tp)
            if committed is None:
                self._consumer.seek_to_beginning(tp)
            else:
                self._consumer.seek(tp, committed)

    def pause(self) -> None:
        self._consumer.pause(*self._consumer.assignment())

    def resume(self) -> None:
        self._consumer.resume(*self._consumer.paused())

    def keep_alive(self) -> None:
        """A poll that takes nothing: partitions assigned meanwhile are paused too, and anything a
        poll still hands out is put back (seek to its first offset), so no record is skipped."""
        self.pause()
        try:
            batches = self._consumer.poll(timeout_ms=0)
        except KafkaError as exc:
            log.warning("kafka keep-alive poll failed (%r)", exc)
            return
        self._put_back(batches)
        self.pause()

    def lag(self) -> int:
        assigned = list(self._consumer.assignment())
        if not assigned:
            return 0
        ends = self._consumer.end_offsets(assigned)
        return sum(max(0, ends[tp] - (self._consumer.committed(tp) or 0)) for tp in assigned)

    def commit(self, records: Sequence[Consumed]) -> None:
        offsets = {
            TopicPartition(topic, partition): OffsetAndMetadata(offset + 1, "", -1)
            for (topic, partition), offset in highest_per_partition(records).items()
        }
        if offsets:
            try:
                self._consumer.commit(offsets)
            except KafkaError as exc:
                raise EventLogUnavailable(f"kafka commit: {exc!r}") from exc
        for tp, position in offsets.items():
            if self._handed_out.get(tp, -1) < position.offset:
                self._handed_out.pop(tp, None)
        if not self._handed_out:
            self._batch_generation = self._UNSET

    def close(self) -> None:
        self._consumer.close(autocommit=False)
