"""The analytics-store seam: ClickHouse server (clickhouse-driver) or chDB in-process.

SQL is written once for both. Conventions that keep it portable (ClickHouse 18.16 .. 26.x):
- table names are written `{db}.table`; the store fills in its database;
- parameters are `%(name)s`; times are passed as epoch seconds and wrapped in
  `toDateTime(%(x)s, 'UTC')`, so no server timezone can shift them;
- no DateTime64, TTL, window functions, JSONExtract, Map or async_insert.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Iterable, Protocol, Sequence


class StoreError(Exception):
    """Any failure of the store; the three kinds below say what to do about it."""


class StoreUnavailable(StoreError):
    """The store cannot be reached right now (retry later; nothing was written)."""


class StoreRejected(StoreError):
    """The store refused the data itself (a bad row); retrying the same rows will not help."""


class StoreFailed(StoreError):
    """The store answered with an error that is neither a bad row nor an outage: a query of ours it
    cannot run. Retried a few times, then what keeps failing is set aside with the reason."""


# ClickHouse error codes, classified once for the server and chDB alike.
# The data itself is wrong (a value that does not fit its column, a malformed row):
DATA_ERROR_CODES = frozenset({6, 27, 32, 33, 38, 41, 53, 69, 70, 72, 117, 130, 131})
# The store cannot do it now (network, timeouts, memory, too many parts, read-only, starting up or
# misconfigured: a missing database or table is never the rows' fault) - wait and retry:
TRANSIENT_ERROR_CODES = frozenset({3, 60, 81, 159, 164, 202, 203, 209, 210, 236, 241, 242, 252, 279, 285, 319, 394,
                                   425, 1000})


def classify(code: int | None, message: str) -> Exception:
    """The seam's exception for a ClickHouse error code (None: no code in the message)."""
    if code in DATA_ERROR_CODES:
        return StoreRejected(message)
    if code in TRANSIENT_ERROR_CODES:
        return StoreUnavailable(message)
    return StoreFailed(message)


class AnalyticsStore(Protocol):
    database: str

    def command(self, sql: str, params: dict[str, Any] | None = None) -> None: ...

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple]: ...

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None: ...

    def ping(self) -> bool: ...

    def close(self) -> None: ...


_ESCAPES = str.maketrans({"\\": "\\\\", "'": "\\'", "\0": "\\0"})


def _tuples_literal(value: tuple) -> str | None:
    """A tuple of tuples of strings (a look-up's key list) in one pass; None when it is not one."""
    try:
        return "(" + ", ".join(["(" + ", ".join(["'" + part.translate(_ESCAPES) + "'" for part in key]) + ")"
                                for key in value]) + ")"
    except (AttributeError, TypeError):
        return None


def escape_literal(value: Any) -> str:
    """A ClickHouse SQL literal (both stores bind parameters with it)."""
    if type(value) is tuple and value and type(value[0]) is tuple:
        fast = _tuples_literal(value)
        if fast is not None:
            return fast
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, datetime):
        return str(int(value.astimezone(timezone.utc).timestamp()))
    if isinstance(value, date):
        return f"'{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.translate(_ESCAPES) + "'"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(escape_literal(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    raise TypeError(f"cannot bind {type(value).__name__} into SQL")


def bind(sql: str, params: dict[str, Any] | None, database: str) -> str:
    text = sql.replace("{db}", database)
    if params:
        text = text % {k: escape_literal(v) for k, v in params.items()}
    return text


def epoch(ts: datetime) -> int:
    return int(ts.astimezone(timezone.utc).timestamp())


def as_rows(columnar: dict[str, Iterable[Any]], columns: Sequence[str]) -> list[tuple]:
    return list(zip(*(columnar[c] for c in columns), strict=True))
