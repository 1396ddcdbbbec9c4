"""The system under test, assembled the way `liveboard run` / `serve` + `consume` assemble it.

`stack` is parametrized over both deployments: "scale" (real Kafka + ClickHouse server started
by devservices) and "embedded" (durable SQLite log + chDB). Each test gets its own topics,
database and config store, so tests never see each other's events.
"""
from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest
from werkzeug.serving import make_server

from analytics import open_store
from analytics.reconcile import reconcile
from backend.app import create_app
from configstore.migrate import upgrade as migrate_config
from configstore.sources import create_source
from liveboard.sender import WebhookSender
from liveboard.wiring import build_writer
from operations.migrations import migrate_all
from services.runtime import Runtime
from settings import Settings
from tests.clocks import ShiftedClock

REPO = Path(__file__).resolve().parents[2]
logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request drowns real failures


@dataclass
class Stack:
    mode: str
    settings: Settings
    base_url: str
    app: Any
    source: str
    secret: str
    store_in_process: bool = True
    clock: ShiftedClock = field(default_factory=ShiftedClock)  # the API's clock: advance it to skip a TTL
    _server: Any = None
    _writer: Any = None
    _children: list = field(default_factory=list)

    @property
    def runtime(self):
        return self.app.extensions["liveboard"]

    @property
    def sessions(self):
        return self.runtime.sessions

    @property
    def sender(self) -> WebhookSender:
        return WebhookSender(self.base_url, self.source, self.secret)

    @property
    def store(self):
        return open_store(self.settings)

    def writer(self):
        if self._writer is None:
            self._writer = build_writer(self.settings)
        return self._writer

    def stored_events(self) -> int:
        if not self.store_in_process:
            return sum(c["events"] for c in self.reconcile()["raw"].values())
        (count,) = self.store.query("SELECT uniqExact(event_id) FROM {db}.sales_events")[0]
        return int(count)

    def drain(self, expected_events: int, timeout_s: float = 60) -> None:
        """Run the in-process writer until `expected_events` distinct events are stored."""
        deadline = time.monotonic() + timeout_s
        writer = self.writer()
        while self.stored_events() < expected_events:
            if time.monotonic() > deadline:
                raise AssertionError(f"writer did not catch up: {self.stored_events()}/{expected_events}")
            writer.run_once()
        # one more pass so anything beyond the expectation (a bug) would show up too
        writer.run_once()

    def reconcile(self) -> dict:
        if not self.store_in_process:  # chDB: only one process may hold the data dir
            return self.cli_json("stats", "--json")
        return reconcile(self.store)

    def raw_row_count(self) -> int:
        if not self.store_in_process:
            return self.cli_json("stats", "--json", "--rows")["rows"]
        (count,) = self.store.query("SELECT count() FROM {db}.sales_events")[0]
        return int(count)

    def env(self, **extra: str) -> dict[str, str]:
        """LIVEBOARD_* for a child process running the same deployment."""
        return self.settings.to_env(**extra)

    def spawn(self, *args: str, module: str = "liveboard.cli", **extra_env: str) -> subprocess.Popen:
        """A `liveboard` command (or another module) in a child process on this deployment."""
        child = subprocess.Popen([sys.executable, "-m", module, *args], env=self.env(**extra_env),
                                 cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self._children.append(child)
        return child

    def spawn_killed_writer(self, after_inserts: int = 1, **extra_env: str) -> subprocess.Popen:
        """A writer that SIGKILLs itself right after its Nth insert, before committing."""
        return self.spawn(str(after_inserts), module="tests.faults.killed_writer", **extra_env)

    def cli(self, *args: str) -> str:
        """Run a `liveboard` command to completion in a child process; its stdout."""
        out = subprocess.run([sys.executable, "-m", "liveboard.cli", *args], env=self.env(), cwd=REPO,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout

    def cli_json(self, *args: str) -> dict:
        return json.loads(self.cli(*args).strip().splitlines()[-1])

    def close(self) -> None:
        for child in self._children:
            if child.poll() is None:
                child.kill()
            child.wait(timeout=10)
        if self._server is not None:
            self._server.shutdown()
        if self._writer is not None:
            self._writer.close()
            self._writer.event_log.close()
        self.runtime.event_log.close()
        self.runtime.engine.dispose()


def _unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def shared_chdb_dir(tmp_path_factory) -> Path:
    # chDB holds one session per process: every in-process embedded test shares one directory and
    # gets a database of its own inside it (the one already open, when a test outside e2e opened it).
    from analytics import chdb_store

    opened = next(iter(chdb_store._sessions), None)
    return Path(opened) if opened else tmp_path_factory.mktemp("chdb")


def build_stack(mode: str, tmp_path: Path, request, *, chdb_dir: Path | None = None,
                store_in_process: bool = True, **overrides) -> Stack:
    suffix = uuid.uuid4().hex[:10]
    common = dict(data_dir=tmp_path / "data", sales_topic=f"sales-{suffix}", dead_letter_topic=f"dlq-{suffix}",
                  consumer_group=f"writer-{suffix}", consumer_batch_rows=500, consumer_batch_ms=200,
                  topic_partitions=3, ranking_interval_seconds=1.0)
    if mode == "scale":
        kafka = request.getfixturevalue("kafka_service")
        clickhouse = request.getfixturevalue("clickhouse_service")
        settings = Settings(event_log="kafka", store="clickhouse", kafka_bootstrap=kafka.bootstrap_servers,
                            clickhouse_url=f"clickhouse://127.0.0.1:{clickhouse.port}/t_{suffix}", **common)
    else:
        settings = Settings(event_log="sqlite", store="chdb",
                            chdb_dir=chdb_dir or request.getfixturevalue("shared_chdb_dir"),
                            chdb_database=f"t_{suffix}", **common)
    settings = settings.with_(**overrides) if overrides else settings
    if store_in_process:
        migrate_all(settings)
    else:  # config store here; the analytics store is migrated by a child process below
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        migrate_config(settings.config_db_url)
    clock = ShiftedClock()
    app = create_app(runtime=Runtime.build(settings, clock=clock))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    source = "shop-" + suffix[:6]
    secret = create_source(app.extensions["liveboard"].sessions, source, box=app.extensions["liveboard"].secrets)
    stack = Stack(mode, settings, f"http://127.0.0.1:{server.server_port}", app, source, secret,
                  store_in_process=store_in_process, clock=clock, _server=server)
    if not store_in_process:
        subprocess.run([sys.executable, "-m", "liveboard.cli", "migrate"], env=stack.env(), cwd=REPO, check=True,
                       capture_output=True, timeout=120)
    return stack


@pytest.fixture(params=["scale", "embedded"])
def stack(request, tmp_path) -> Iterator[Stack]:
    built = build_stack(request.param, tmp_path, request)
    yield built
    built.close()


@pytest.fixture(params=["scale", "embedded"])
def crash_stack(request, tmp_path) -> Iterator[Stack]:
    """Like `stack`, but the analytics store is used only by child processes (writers that get
    SIGKILLed, `liveboard stats`), as chDB allows one process per data dir."""
    built = build_stack(request.param, tmp_path, request, chdb_dir=tmp_path / "chdb-private",
                        store_in_process=request.param == "scale")
    yield built
    built.close()


@pytest.fixture
def scale_stack(request, tmp_path) -> Iterator[Stack]:
    built = build_stack("scale", tmp_path, request)
    yield built
    built.close()
