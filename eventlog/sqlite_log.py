"""A durable event log in one SQLite file: the embedded stand-in for Kafka.

One partition per topic; offsets are the row sequence. Appends are fsync'd (synchronous=FULL)
before they return, so a 202 means the event is on disk. Consumer-group offsets live in the
same file, so "commit after insert" has the same meaning as with Kafka.

Group commit: appends that arrive while another is being written wait for it and then go to disk
together, in one transaction and one fsync (in arrival order), so concurrent requests share the
disk's round trip the way Kafka appends share a produce request. Each caller still returns only
once its own records are durable, and gets EventLogUnavailable if that transaction failed.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Sequence

from eventlog.base import Consumed, EventLogUnavailable, Record, highest_per_partition
from settings import make_private_file

_SCHEMA = """
CREATE TABLE IF NOT EXISTS log (
    topic TEXT NOT NULL,
    seq INTEGER NOT NULL,
    key BLOB,
    value BLOB NOT NULL,
    appended_at REAL NOT NULL,
    PRIMARY KEY (topic, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS group_offsets (
    grp TEXT NOT NULL,
    topic TEXT NOT NULL,
    next_seq INTEGER NOT NULL,
    PRIMARY KEY (grp, topic)
);
"""


class _Append:
    __slots__ = ("topic", "records", "done", "error")

    def __init__(self, topic: str, records: Sequence[Record]) -> None:
        self.topic, self.records = topic, records
        self.done = False
        self.error: Exception | None = None


class SqliteEventLog:
    def __init__(self, path: Path, sales_topic: str, dead_letter_topic: str):
        self.path = Path(path)
        make_private_file(self.path)  # 0600 before SQLite opens it; its -wal and -shm files follow
        self.sales_topic = sales_topic
        self.dead_letter_topic = dead_letter_topic
        self._local = threading.local()
        self._appends = threading.Condition()
        self._waiting: list[_Append] = []
        self._writing = False  # one thread writes a group at a time; the others queue behind it
        with self._connect() as conn:
            conn.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def ensure_topics(self) -> None:  # topics are implicit rows
        return None

    def append(self, topic: str, records: Sequence[Record], timeout_s: float = 10.0) -> None:
        if not records:
            return
        mine = _Append(topic, records)
        with self._appends:
            self._waiting.append(mine)
            while self._writing and not mine.done:  # a group is being written: ours goes in the next one
                self._appends.wait()
            if mine.done:  # written by the thread that wrote the group it was in
                if mine.error is not None:
                    raise mine.error
                return
            self._writing = True
            group, self._waiting = self._waiting, []
        error: Exception | None = None
        try:
            self._write(group)
        except sqlite3.Error as exc:
            error = EventLogUnavailable(f"sqlite event log: {exc}")
        except BaseException as exc:  # whatever stopped the write: nobody of the group may take it as durable
            error = EventLogUnavailable(f"sqlite event log: {exc!r}")
            raise
        finally:
            with self._appends:
                for append in group:
                    append.done, append.error = True, error
                self._writing = False
                self._appends.notify_all()
        if error is not None:
            raise error

    def _write(self, group: list[_Append]) -> None:
        """One transaction (one fsync) for a group of appends, in the order they arrived."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")  # SQLite serialises writers across processes
        try:
            now = time.time()
            last: dict[str, int] = {}
            rows = []
            for append in group:
                if append.topic not in last:
                    (last[append.topic],) = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM log WHERE topic = ?",
                                                         (append.topic,)).fetchone()
                for record in append.records:
                    last[append.topic] += 1
                    rows.append((append.topic, last[append.topic], record.key, record.value, now))
            conn.executemany("INSERT INTO log (topic, seq, key, value, appended_at) VALUES (?, ?, ?, ?, ?)", rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def consumer(self, group: str, topic: str) -> "SqliteConsumer":
        return SqliteConsumer(self, group, topic)

    def count(self, topic: str) -> int:
        """Records held in a topic; for the health view."""
        return self._conn().execute("SELECT count(*) FROM log WHERE topic = ?", (topic,)).fetchone()[0]

    def group_position(self, group: str, topic: str) -> int:
        try:
            row = self._conn().execute("SELECT next_seq FROM group_offsets WHERE grp = ? AND topic = ?",
                                       (group, topic)).fetchone()
        except sqlite3.Error as exc:
            raise EventLogUnavailable(f"sqlite event log: {exc}") from exc
        return int(row[0]) if row else 0

    def read_all(self, topic: str) -> list[Consumed]:
        """Every record of a topic (for the dead-letter view and tests)."""
        rows = self._conn().execute("SELECT seq, key, value FROM log WHERE topic = ? ORDER BY seq", (topic,)).fetchall()
        return [Consumed(topic, 0, seq, key, value) for seq, key, value in rows]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class SqliteConsumer:
    def __init__(self, log: SqliteEventLog, group: str, topic: str):
        self._conn = log._connect()
        self.group, self.topic = group, topic
        self._position = self._committed()

    def _committed(self) -> int:
        row = self._conn.execute(
            "SELECT next_seq FROM group_offsets WHERE grp = ? AND topic = ?", (self.group, self.topic)
        ).fetchone()
        return row[0] if row else 1

    def poll(self, max_records: int, timeout_ms: int) -> list[Consumed]:
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            rows = self._conn.execute(
                "SELECT seq, key, value FROM log WHERE topic = ? AND seq >= ? ORDER BY seq LIMIT ?",
                (self.topic, self._position, max_records),
            ).fetchall()
            if rows or time.monotonic() >= deadline:
                break
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        if rows:
            self._position = rows[-1][0] + 1
        return [Consumed(self.topic, 0, seq, key, value) for seq, key, value in rows]

    def is_assigned(self) -> bool:
        return True  # one partition, always ours

    def owns(self, records: Sequence[Consumed]) -> bool:
        return True  # one consumer per group on the embedded log: nobody can take its partition

    def caught_up(self) -> bool:
        """True when this consumer has read everything the topic holds as of now."""
        (last,) = self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM log WHERE topic = ?", (self.topic,)).fetchone()
        return self._position > last

    def rewind(self) -> None:
        """Forget uncommitted progress (what a restarted consumer would see)."""
        self._position = self._committed()

    def pause(self) -> None:
        return None  # no group to stay in

    def resume(self) -> None:
        return None

    def keep_alive(self) -> None:
        return None

    def commit(self, records: Sequence[Consumed]) -> None:
        for (_topic, _partition), offset in highest_per_partition(records).items():
            self._conn.execute(
                "INSERT INTO group_offsets (grp, topic, next_seq) VALUES (?, ?, ?) "
                "ON CONFLICT (grp, topic) DO UPDATE SET next_seq = MAX(next_seq, excluded.next_seq)",
                (self.group, self.topic, offset + 1),
            )

    def lag(self) -> int:
        (last,) = self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM log WHERE topic = ?", (self.topic,)).fetchone()
        return max(0, last - self._committed() + 1)

    def close(self) -> None:
        self._conn.close()
