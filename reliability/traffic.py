"""Signed webhook traffic as a well-behaved platform sends it, with every outcome accounted for.

A `Ledger` records what each event's sender finally learned: accepted (202 for that item),
rejected (a definitive 4xx, for the request or the item), or unresolved (still no answer when the
sender gave up). A `PacedSenders` pool posts batches at a steady rate and retries what may or may
not have landed (a 503, a 429, a 5xx, a connection cut mid-request) with the same body, as
Standard Webhooks senders do; idempotence by event id makes the retry safe.
"""
from __future__ import annotations

import itertools
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import orjson
import requests

from liveboard.sender import sign_headers

RETRYABLE = {429, 500, 502, 503, 504}


@dataclass
class Ledger:
    events: dict[str, dict] = field(default_factory=dict)  # every event sent, by id
    accepted: set[str] = field(default_factory=set)
    rejected: dict[str, str] = field(default_factory=dict)  # event id -> error code
    unresolved: set[str] = field(default_factory=set)
    requests: Counter = field(default_factory=Counter)  # outcome of every HTTP attempt
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record_attempt(self, outcome: str) -> None:
        with self.lock:
            self.requests[outcome] += 1

    def settle(self, accepted: list[str], rejected: dict[str, str], unresolved: list[str]) -> None:
        with self.lock:
            self.accepted.update(accepted)
            self.rejected.update(rejected)
            self.unresolved.update(unresolved)

    @property
    def settled(self) -> int:
        with self.lock:
            return len(self.accepted) + len(self.rejected) + len(self.unresolved)

    def server_errors(self, documented: frozenset[int] = frozenset({503})) -> dict[str, int]:
        """HTTP 5xx answers other than the documented ones (503: event log unavailable)."""
        return {k: v for k, v in self.requests.items()
                if k.isdigit() and int(k) >= 500 and int(k) not in documented}


@dataclass
class Batch:
    events: list[dict]
    forge_signature: bool = False  # sent with a wrong secret: must be refused whole


class PacedSenders:
    """`threads` senders sharing one queue of batches, posting about `rate` events/s in total. With
    several URLs (API nodes behind a balancer) batches take turns, and a delivery whose connection
    failed is retried at the next URL."""

    def __init__(self, url: str | list[str], secret: str, ledger: Ledger, *, threads: int = 6, rate: float = 1000,
                 give_up_after_s: float = 180):
        self.urls = [url] if isinstance(url, str) else list(url)
        self.secret, self.ledger = secret, ledger
        self._turn = itertools.count()
        self.threads_n, self.rate, self.give_up_after_s = threads, rate, give_up_after_s
        self.queue: queue.Queue[Batch | None] = queue.Queue(maxsize=threads * 4)
        self.posted_events = 0  # taken off the queue (for the fault schedule's progress)
        self._lock = threading.Lock()
        self._next_due = 0.0
        self._threads: list[threading.Thread] = []

    def start(self) -> "PacedSenders":
        self._next_due = time.perf_counter()
        for n in range(self.threads_n):
            thread = threading.Thread(target=self._run, name=f"sender-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def set_rate(self, rate: float) -> None:
        with self._lock:
            self.rate = rate
            self._next_due = time.perf_counter()

    def register(self, batch: Batch) -> None:
        with self.ledger.lock:
            for event in batch.events:
                self.ledger.events[event["event_id"]] = event

    def put(self, batch: Batch) -> None:
        """Queue a batch for the paced senders."""
        self.register(batch)
        self.queue.put(batch)

    def send_now(self, batch: Batch) -> None:
        """Send a registered batch at once, outside the pace (from the caller's thread)."""
        self._send(requests.Session(), batch)

    def finish(self) -> None:
        for _ in self._threads:
            self.queue.put(None)
        for thread in self._threads:
            thread.join()

    def _pace(self, size: int) -> None:
        with self._lock:
            due = self._next_due
            self._next_due = max(due, time.perf_counter() - 1.0) + size / self.rate
            self.posted_events += size
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)

    def _run(self) -> None:
        http = requests.Session()
        while (batch := self.queue.get()) is not None:
            self._pace(len(batch.events))
            self._send(http, batch)

    def _send(self, http: requests.Session, batch: Batch) -> None:
        body = orjson.dumps({"events": batch.events})
        ids = [e["event_id"] for e in batch.events]
        secret = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=" if batch.forge_signature else self.secret
        msg_id = f"msg_{ids[0]}"  # one id per delivery, the same on every retry
        deadline = time.monotonic() + self.give_up_after_s
        backoff = 0.2
        turn = next(self._turn)
        while True:
            url = self.urls[turn % len(self.urls)]
            try:
                response = http.post(url, data=body, headers=sign_headers(secret, body, msg_id=msg_id), timeout=30)
            except requests.RequestException as exc:
                self.ledger.record_attempt("connection_error" if isinstance(exc, requests.ConnectionError)
                                           else "timeout")
                http = requests.Session()  # the connection may be half-dead
                turn += 1  # that node may be gone: the next one
            else:
                self.ledger.record_attempt(str(response.status_code))
                if response.status_code == 202:
                    results = response.json()["results"]
                    self.ledger.settle(
                        accepted=[r["event_id"] for r in results if r["status"] == "accepted"],
                        rejected={r["event_id"]: r["errors"][0]["code"] for r in results if r["status"] != "accepted"},
                        unresolved=[])
                    return
                if response.status_code not in RETRYABLE:
                    code = _error_code(response)
                    self.ledger.settle(accepted=[], rejected={i: code for i in ids}, unresolved=[])
                    return
                backoff = max(backoff, float(response.headers.get("Retry-After", "0") or 0))
            if time.monotonic() > deadline:
                self.ledger.settle(accepted=[], rejected={}, unresolved=ids)
                return
            time.sleep(backoff)
            backoff = min(backoff * 2, 5.0)


def _error_code(response: requests.Response) -> str:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return f"http_{response.status_code}"
