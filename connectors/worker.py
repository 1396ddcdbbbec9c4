"""The connector worker: raw platform messages -> enriched sales events on the sales topic.

Runs beside the sales writer under ``liveboard run`` and alone as ``liveboard connect`` (start
several to scale out; they share the raw topic's consumer group and the pending table).

1. Take in: read the raw topic, add each message to the pending table (``connector_messages``;
   a message id the connection already has — a platform retry, a replayed record — is not added
   again), then commit the offsets. A record that cannot be read goes to the connector
   dead-letter topic with its bytes and the reason.
2. Enrich: claim due pending messages (a lease, so several workers never take the same one and a
   dead worker's claims lapse), up to ``connector_worker_threads`` at a time, each on its own
   thread so one slow order never holds up the others; fetch details through the platform's API
   at the connection's rate limit, map them, append the events (envelope ``source`` = connection
   name) durably, and only then mark the message done.
3. Failures leave the message pending with a backoff: rate limits wait what the platform says,
   outages back off exponentially (5 s doubling to 15 min), an expired authorisation retries
   every 10 minutes until the merchant re-authorises. Nothing is dropped: a message the
   platform keeps refusing (6 attempts) or that cannot be mapped goes, with the reason and its
   original bytes, to the connector dead-letter topic.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from configstore import connections as store
from configstore.connections import NewMessage, PendingMessage
from configstore.secretbox import SecretUnreadable
from connectors import raw
from connectors.access import PlatformAccess
from connectors.base import MappingError, PlatformRateLimited, PlatformRefused, PlatformUnavailable, TokenExpired
from connectors.enrich import NotConfigured, events_for
from eventlog.base import Consumed, EventLogUnavailable, LogConsumer, Record
from schemas import envelope
from services.runtime import Runtime

log = logging.getLogger(__name__)

CLAIM_LEASE_S = 120.0
RETRY_BASE_S = 5.0
RETRY_CAP_S = 900.0
TOKEN_RETRY_S = 600.0
NOT_CONFIGURED_RETRY_S = 300.0
REFUSED_ATTEMPTS = 6


def backoff(attempts: int) -> float:
    return min(RETRY_CAP_S, RETRY_BASE_S * 2 ** max(0, attempts - 1))


@dataclass
class WorkerStats:
    ingested: int = 0
    duplicates: int = 0
    completed: int = 0
    events: int = 0
    retried: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)
    last_error: str = ""  # the last failure the worker waited out itself (the log or the config store)
    last_error_at: float | None = None


class ConnectorWorker:
    def __init__(self, runtime: Runtime, *, threads: int | None = None, owner: str | None = None,
                 group: str | None = None) -> None:
        """`group`: the raw topic's consumer group (default `connector_group`; another one replays the topic)."""
        self.runtime = runtime
        self.settings = runtime.settings
        self.sessions = runtime.sessions
        self.clock = runtime.clock
        self.threads = max(1, threads or self.settings.connector_worker_threads)
        self.group = group or self.settings.connector_group
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.stop_event = threading.Event()
        self.access = PlatformAccess(runtime, wait=self.stop_event.wait)
        self.stats = WorkerStats()
        self._consumer: LogConsumer | None = None

    @property
    def consumer(self) -> LogConsumer:
        if self._consumer is None:
            self._consumer = self.runtime.event_log.consumer(self.group, self.settings.connector_raw_topic)
        return self._consumer

    # -- 1. take in ---------------------------------------------------------------------------
    def ingest(self, *, max_records: int = 500, timeout_ms: int = 100) -> int:
        records = self.consumer.poll(max_records, timeout_ms)
        if not records:
            return 0
        fresh: list[NewMessage] = []
        letters: list[tuple[Consumed, str]] = []
        for record in records:
            try:
                message = raw.decode(record.value)
                connection = self.access.directory.get(message.connection)
                if connection is None:
                    raise ValueError(f"未知的平台连接 {message.connection}")
            except Exception as exc:  # unreadable or orphaned: set aside with its bytes, never lost
                letters.append((record, f"{type(exc).__name__}: {exc}"[:500]))
                continue
            fresh.append(NewMessage(connection_id=connection.id, message_id=message.message_id, origin="push",
                                    kind=message.kind, order_id=message.order_id, refund_id=message.refund_id,
                                    received_at=message.received_at or self.clock.time(),
                                    payload=record.value.decode("utf-8"), raw_partition=record.partition,
                                    raw_offset=record.offset))
        try:
            added = store.enqueue(self.sessions, fresh)
            for record, reason in letters:
                self._dead_letter(record.value, reason, partition=record.partition, offset=record.offset)
        except Exception:
            # the config store or the dead-letter topic failed: read these records again next time
            # (the consumer's position already moved past them; nothing of theirs was committed)
            self.consumer.rewind()
            raise
        try:
            self.consumer.commit(records)
        except EventLogUnavailable as exc:
            # the messages are in the pending table; after a rebalance whoever gets these records
            # again finds their ids there and takes nothing twice
            log.warning("raw-topic offset commit failed (%s); carrying on", exc)
        self.stats.ingested += added
        self.stats.duplicates += len(fresh) - added
        return len(records)

    # -- 2. enrich -------------------------------------------------------------------------------
    def process(self, message: PendingMessage) -> str:
        """Enrich one claimed message; "done", "retry" or "dead"."""
        connection = self.access.directory.by_id(message.connection_id)
        now = self.clock.time()
        if connection is None:  # connections are never deleted; a cascade took the row with it
            return "dead"
        started = now
        try:
            events = events_for(connection, self.access.client(connection), kind=message.kind,
                                 order_id=message.order_id, refund_id=message.refund_id,
                                 campaigns=self.access.directory.campaign_days(connection.info.campaigns),
                                 now=self.clock.now())
            self._append(connection.name, connection.info.platform, message, events)
        except PlatformRateLimited as exc:
            return self._retry(message, max(1.0, exc.retry_after), f"平台限流：{exc}")
        except (PlatformUnavailable, EventLogUnavailable) as exc:
            return self._retry(message, backoff(message.attempts + 1), f"暂时不可用：{exc}")
        except TokenExpired as exc:
            return self._retry(message, TOKEN_RETRY_S, f"平台授权失效，需要商家重新授权：{exc}", connection.id)
        except (NotConfigured, SecretUnreadable) as exc:
            return self._retry(message, NOT_CONFIGURED_RETRY_S, str(exc), connection.id)
        except PlatformRefused as exc:
            if message.attempts + 1 >= REFUSED_ATTEMPTS:
                return self._bury(message, f"平台多次拒绝：{exc}", connection.id)
            return self._retry(message, backoff(message.attempts + 1), f"平台拒绝：{exc}", connection.id)
        except MappingError as exc:
            return self._bury(message, f"无法映射为销售事件：{exc}", connection.id)
        except Exception as exc:  # a bug of ours must not lose the message either
            log.exception("connector message %s failed", message.message_id)
            return self._retry(message, backoff(message.attempts + 1), f"{type(exc).__name__}: {exc}",
                               connection.id)
        store.complete(self.sessions, message.id, self.owner, fetched_at=started, now=self.clock.time(),
                       events=len(events))
        self.stats.completed += 1
        self.stats.events += len(events)
        return "done"

    def _append(self, source: str, platform: str, message: PendingMessage, events: list[dict]) -> None:
        if not events:
            return
        received_at = self.clock.now()
        records = [Record(key=envelope.partition_key(e),
                          value=envelope.wrap(e, source=source, received_at=received_at,
                                              webhook_id=f"{platform}:{message.message_id}"[:200]))
                   for e in events]
        self.runtime.event_log.append(self.runtime.event_log.sales_topic, records)

    def _retry(self, message: PendingMessage, delay: float, error: str, connection_id: int | None = None) -> str:
        now = self.clock.time()
        store.retry_later(self.sessions, message.id, self.owner, attempts=message.attempts + 1, at=now + delay,
                          error=error)
        if connection_id is not None:
            store.note_error(self.sessions, connection_id, error, now)
        self.stats.retried += 1
        log.info("connector message %s retried in %.0fs: %s", message.message_id, delay, error)
        return "retry"

    def _bury(self, message: PendingMessage, reason: str, connection_id: int) -> str:
        try:
            self._dead_letter(message.payload.encode("utf-8"), reason, partition=message.raw_partition,
                              offset=message.raw_offset)
        except EventLogUnavailable as exc:
            return self._retry(message, backoff(message.attempts + 1), f"死信主题不可用：{exc}")
        now = self.clock.time()
        store.bury(self.sessions, message.id, self.owner, attempts=message.attempts + 1, now=now, error=reason)
        store.note_error(self.sessions, connection_id, reason, now)
        self.stats.dead += 1
        log.warning("connector message %s dead-lettered: %s", message.message_id, reason)
        return "dead"

    def _dead_letter(self, original: bytes, reason: str, *, partition: int, offset: int) -> None:
        value = envelope.dead_letter(original, reason, topic=self.settings.connector_raw_topic, partition=partition,
                                     offset=offset)
        self.runtime.event_log.append(self.settings.connector_dead_letter_topic, [Record(key=b"", value=value)])

    # -- the loop ----------------------------------------------------------------------------------
    def _claim(self, free: int, in_flight: dict[Future, PendingMessage]) -> list[PendingMessage]:
        """Due messages for the free threads; one connection never takes every thread, so a
        platform that is slow or rate-limited cannot hold up the others."""
        if free <= 0:
            return []
        cap = max(1, self.threads - 1)
        busy: dict[int, int] = {}
        for message in in_flight.values():
            busy[message.connection_id] = busy.get(message.connection_id, 0) + 1
        chosen = []
        for message_id, connection_id in store.due_candidates(self.sessions, self.clock.time(), free * 4):
            if busy.get(connection_id, 0) < cap:
                busy[connection_id] = busy.get(connection_id, 0) + 1
                chosen.append(message_id)
                if len(chosen) == free:
                    break
        return store.claim(self.sessions, chosen, self.owner, self.clock.time(), CLAIM_LEASE_S)

    def _step(self, pool: ThreadPoolExecutor, in_flight: dict[Future, PendingMessage], poll_ms: int) -> bool:
        """One round: take in, top up the threads, settle what finished. True when anything happened.

        Every thread busy: wait for one to finish (briefly), then take in what arrived meanwhile.
        Otherwise take in (waiting for new messages only when nothing is in flight), claim due
        messages for the free threads and settle the finished ones without waiting."""
        if len(in_flight) >= self.threads:
            self._settle(in_flight, timeout=0.2)
            self.ingest(timeout_ms=0)
            return True
        took = self.ingest(timeout_ms=20 if in_flight else poll_ms)
        claimed = self._claim(self.threads - len(in_flight), in_flight)
        for message in claimed:
            in_flight[pool.submit(self.process, message)] = message
        self._settle(in_flight, timeout=0)
        return bool(took or claimed or in_flight)

    def _settle(self, in_flight: dict[Future, PendingMessage], timeout: float) -> None:
        if not in_flight:
            return
        done, _ = wait(list(in_flight), timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            message = in_flight.pop(future)
            try:
                future.result()
            except Exception:  # the config store failed while settling: the claim lapses, it is retried
                log.exception("connector message %s could not be settled", message.message_id)

    def run(self, stop: threading.Event) -> None:
        log.info("connector worker %s started (%d threads)", self.owner, self.threads)
        in_flight: dict[Future, PendingMessage] = {}
        with ThreadPoolExecutor(self.threads, thread_name_prefix="connector") as pool:
            while not stop.is_set():
                try:
                    self._step(pool, in_flight, poll_ms=200)
                except Exception as exc:  # the log or the config store went away: wait, then go on
                    log.warning("connector worker: %s; retrying", exc)
                    self.stats.last_error = f"{type(exc).__name__}: {exc}"[:500]
                    self.stats.last_error_at = self.clock.time()  # shown in /healthz and the console
                    stop.wait(1.0)
            self.stop_event.set()  # calls waiting for a rate-limit slot give up; their messages stay pending
            wait(list(in_flight))
        self.close()

    def figures(self) -> dict:
        """What the heartbeat reports (/healthz, /metrics, the console's overview)."""
        s = self.stats
        return {"ingested": s.ingested, "duplicates": s.duplicates, "completed": s.completed, "events": s.events,
                "retried": s.retried, "dead_lettered": s.dead, "last_error": s.last_error,
                "last_error_at": s.last_error_at}

    @staticmethod
    def summary(before: dict, now: dict) -> str:
        """The minute's line for `liveboard run` and `connect`."""
        def delta(name: str) -> int:
            return int(now.get(name) or 0) - int(before.get(name) or 0)

        text = f"平台消息 {delta('ingested')} 条，完成 {delta('completed')}（事件 {delta('events')}）"
        if delta("retried") or delta("dead_lettered"):
            text += f"，重试 {delta('retried')}，死信 {delta('dead_lettered')}"
        return text

    def run_until_idle(self, *, idle_rounds: int = 3, timeout_s: float = 60.0) -> WorkerStats:
        """Take in and enrich until nothing is left to do now (tests, `liveboard connect --once`):
        messages waiting out a backoff stay pending."""
        deadline = self.clock.monotonic() + timeout_s
        in_flight: dict[Future, PendingMessage] = {}
        quiet = 0
        with ThreadPoolExecutor(self.threads, thread_name_prefix="connector") as pool:
            while quiet < idle_rounds:
                if self.clock.monotonic() > deadline:
                    raise TimeoutError("connector worker did not become idle")
                active = self._step(pool, in_flight, poll_ms=100)
                quiet = 0 if active or not self._caught_up() else quiet + 1
        return self.stats

    def _caught_up(self) -> bool:
        """Read the raw topic to its end (a consumer that cannot tell: owns partitions)."""
        caught_up = getattr(self.consumer, "caught_up", None)
        return caught_up() if caught_up is not None else self.consumer.is_assigned()

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None

