"""The store in-process: chDB (ClickHouse's engine as a library) under the data dir."""
from __future__ import annotations

import fcntl
import json
import re
import threading
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from analytics.base import StoreUnavailable, bind, classify

_CODE = re.compile(r"Code: (\d+)")


def chdb_error(exc: Exception) -> Exception:
    """chDB raises a plain RuntimeError for everything: classify it by the code in its message, so a
    transient failure is retried like a server outage instead of dead-lettering valid rows."""
    message = str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__
    match = _CODE.search(str(exc))
    return classify(int(match.group(1)) if match else None, message)

_session_lock = threading.Lock()
_sessions: dict[str, Any] = {}


def _held_by_another_process(path: Path) -> bool:
    """chDB holds an flock on <path>/status while open, and refuses a second process with a
    confusing error (after printing its own to stderr); ask the lock first."""
    status = path / "status"
    if not status.exists():
        return False
    with open(status, "rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def _open_session(path: Path):
    # chDB allows one session per process; every store object in this process shares it.
    from chdb import session as chdb_session

    key = str(path.resolve())
    with _session_lock:
        if key not in _sessions:
            path.mkdir(parents=True, exist_ok=True)
            if _held_by_another_process(path):
                raise StoreUnavailable(
                    f"分析库目录 {key} 正被另一个进程使用（例如正在运行的 liveboard run 或 demo）；"
                    "内嵌模式下同一时间只能有一个进程打开它。请先停止那个进程，或在控制台 / HTTP 接口查看。")
            try:
                _sessions[key] = chdb_session.Session(key)
            except Exception as exc:
                raise chdb_error(exc) from exc
        return _sessions[key]


def _convert(value: Any, type_name: str) -> Any:
    if value is None:
        return None
    base = type_name
    if base.startswith("Nullable("):
        base = base[len("Nullable("):-1]
    if base.startswith("DateTime"):
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    if base == "Date":
        return date.fromisoformat(value)
    if base.startswith(("Int", "UInt")):
        return int(value)
    if base.startswith("Array("):
        inner = base[len("Array("):-1]
        return [_convert(v, inner) for v in value]
    return value


class ChdbStore:
    def __init__(self, path: Path, database: str = "liveboard"):
        self.path = Path(path)
        self.database = database
        self._session = _open_session(self.path)
        self._lock = threading.Lock()

    def _exec(self, text: str, fmt: str = "JSONCompact"):
        with self._lock:
            try:
                return self._session.query(text, fmt)
            except Exception as exc:  # chDB raises plain RuntimeError for every failure
                raise chdb_error(exc) from exc

    def command(self, sql: str, params: dict[str, Any] | None = None) -> None:
        self._exec(bind(sql, params, self.database), "CSV")

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple]:
        text = bind(sql, params, self.database)
        result = self._exec(text + " SETTINGS output_format_json_quote_64bit_integers = 0", "JSONCompact")
        raw = result.bytes() if hasattr(result, "bytes") else bytes(result)
        if not raw.strip():
            return []
        payload = json.loads(raw)
        types = [m["type"] for m in payload["meta"]]
        return [tuple(_convert(v, t) for v, t in zip(row, types, strict=True)) for row in payload["data"]]

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        target = table.replace("{db}", self.database)
        lines = []
        for row in rows:
            record = {}
            for name, value in zip(columns, row, strict=True):
                if isinstance(value, datetime):
                    value = int(value.astimezone(timezone.utc).timestamp())
                elif isinstance(value, date):
                    value = value.isoformat()
                record[name] = value
            lines.append(json.dumps(record, ensure_ascii=False))
        self._exec(f"INSERT INTO {target} ({', '.join(columns)}) FORMAT JSONEachRow\n" + "\n".join(lines), "CSV")

    def ping(self) -> bool:
        return True

    def close(self) -> None:  # the process-wide session stays open until exit
        return None
