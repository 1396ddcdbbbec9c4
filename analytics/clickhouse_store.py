"""The store on a ClickHouse server, through clickhouse-driver's native protocol."""
from __future__ import annotations

import os
import threading
from typing import Any, Sequence
from urllib.parse import urlparse

# clickhouse-driver builds a Date lookup table for 1900-2299 when imported (~19 MiB in every API
# worker, writer and scheduler). Its documented switch (sic: "LASY") makes the table lazy, warmed
# for the years sales can have (schemas: 2015 on); other dates are computed on first use.
# https://clickhouse-driver.readthedocs.io/en/latest/types.html (Date/Date32)
os.environ.setdefault("CLICKHOUSE_DRIVER_LASY_DATE_LUT", "2015-01-01:2040-12-31")

from clickhouse_driver import Client  # noqa: E402  (after the switch above)
from clickhouse_driver import errors as ch_errors  # noqa: E402

from analytics.base import StoreError, StoreUnavailable, bind, classify


def _bind_server(sql: str, params: dict[str, Any] | None, database: str) -> tuple[str, dict[str, Any] | None]:
    """The query text with its parameters bound as literals (analytics.base.bind, the same as chDB's:
    datetimes as epoch seconds). The driver's own substitution escapes a look-up's thousands of keys
    one Python call each; ours renders a key list in one pass."""
    return bind(sql, params, database), None


class ClickHouseStore:
    """`settings` go with every query: on a cluster, insert_distributed_sync=1 makes an insert into a
    Distributed table return only once every shard has its rows."""

    def __init__(self, url: str, connect_timeout: float = 5, send_receive_timeout: float = 60,
                 settings: dict[str, Any] | None = None):
        parsed = urlparse(url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 9000
        self.database = (parsed.path or "/liveboard").strip("/") or "liveboard"
        self.user = parsed.username or "default"
        self.password = parsed.password or ""
        self._timeouts = dict(connect_timeout=connect_timeout, send_receive_timeout=send_receive_timeout)
        self.settings = dict(settings or {})
        self._local = threading.local()  # a Client is not thread-safe: one per thread

    def _client(self) -> Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = Client(self.host, port=self.port, user=self.user, password=self.password,
                            database="default", **self._timeouts)
            self._local.client = client
        return client

    def _run(self, fn):
        client = self._client()
        try:
            return fn(client)
        except ch_errors.ServerException as exc:
            error = classify(exc.code, str(exc).splitlines()[0])
            if isinstance(error, StoreUnavailable):
                client.disconnect()
            raise error from exc
        except (ch_errors.Error, OSError, EOFError) as exc:
            client.disconnect()
            raise StoreUnavailable(f"clickhouse: {exc!r}") from exc

    def command(self, sql: str, params: dict[str, Any] | None = None) -> None:
        text, bound = _bind_server(sql, params, self.database)
        self._run(lambda c: c.execute(text, bound, settings=self.settings))

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple]:
        text, bound = _bind_server(sql, params, self.database)
        return self._run(lambda c: c.execute(text, bound, settings=self.settings))

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        cols = ", ".join(columns)
        target = table.replace("{db}", self.database)
        columnar = [list(col) for col in zip(*rows, strict=True)]
        self._run(lambda c: c.execute(f"INSERT INTO {target} ({cols}) VALUES", columnar, columnar=True,
                                      settings=self.settings))

    def ping(self) -> bool:
        try:
            self.query("SELECT 1")
            return True
        except StoreError:
            return False

    def close(self) -> None:
        client = getattr(self._local, "client", None)
        if client is not None:
            client.disconnect()
            self._local.client = None
