"""Benchmark plumbing: the real services, per-run names, child processes, RSS, machine facts.

Everything a run creates is named with the run's suffix (topics, ClickHouse databases, the
PostgreSQL config database, the consumer groups), so runs never see each other's data.
Every child process started here is tracked and killed by `Children.close()`.
"""
from __future__ import annotations

import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from settings import Settings

REPO = Path(__file__).resolve().parents[1]
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --------------------------------------------------------------------------------------------
# services

@dataclass
class Services:
    """The real services (started here, or handed in by the test suite's fixtures). Redis holds the
    API's rate-limit counters at scale-out, as a deployment with Redis does; without it they count
    in the config store (the fallback)."""

    kafka: object
    clickhouse: object
    postgres: object
    owned: bool = False
    base_dir: Path | None = None
    redis: object | None = None

    @classmethod
    def start(cls) -> "Services":
        from devservices import (
            ClickHouseService,
            KafkaService,
            PostgresService,
            RedisService,
            make_base_dir,
        )

        base = make_base_dir(prefix="liveboard-bench-services-")
        started = []
        try:
            for service in (KafkaService(base), ClickHouseService(base), PostgresService(base), RedisService(base)):
                service.start()
                started.append(service)
        except BaseException:
            for service in started:
                service.stop()
            shutil.rmtree(base, ignore_errors=True)
            raise
        kafka, clickhouse, postgres, redis = started
        return cls(kafka, clickhouse, postgres, owned=True, base_dir=base, redis=redis)

    def close(self) -> None:
        if not self.owned:
            return
        for service in (self.kafka, self.clickhouse, self.postgres, self.redis):
            try:
                service.stop()
            except Exception:
                pass
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def ch_client(self, **kwargs):
        from clickhouse_driver import Client

        return Client("127.0.0.1", port=self.clickhouse.port, send_receive_timeout=3600, **kwargs)

    def pg_connect(self, database: str = "postgres"):
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.postgres.port, user="postgres", dbname=database)
        conn.autocommit = True
        return conn


def new_suffix() -> str:
    return uuid.uuid4().hex[:8]


def create_pg_database(services: Services, name: str) -> str:
    conn = services.pg_connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    return services.postgres.url_for(name)


def drop_pg_database(services: Services, name: str) -> None:
    conn = services.pg_connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        conn.close()


def scale_settings(services: Services, *, suffix: str, tag: str, config_db_url: str, data_dir: Path,
                   **overrides) -> Settings:
    """Production-like settings (Kafka + ClickHouse server + PostgreSQL config store) with
    names of their own; batch sizes and intervals stay at the product defaults unless overridden."""
    name = f"bench_{suffix}_{tag}"
    base = dict(data_dir=data_dir, event_log="kafka", store="clickhouse",
                kafka_bootstrap=services.kafka.bootstrap_servers, sales_topic=f"{name}-sales",
                dead_letter_topic=f"{name}-dlq", clickhouse_url=services.clickhouse.url_for(name),
                database_url=config_db_url, consumer_group=f"{name}-writer",
                # counted on every request (so its cost is in the figures) but never reached
                webhook_rate_limit="100000000 per minute",
                redis_url=getattr(services.redis, "url", "") if services.redis is not None else "")
    base.update(overrides)
    return Settings(**base)


def settings_env(settings: Settings, **extra: str) -> dict[str, str]:
    """LIVEBOARD_* for a child process running the same deployment."""
    return settings.to_env(LIVEBOARD_SECRET_KEY=settings.secret_key or "bench-only", **extra)


# --------------------------------------------------------------------------------------------
# child processes

class Children:
    """Child processes of one benchmark run; each is killed (by its own pid/group) on close()."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen] = []

    def spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "ab")
        proc = subprocess.Popen(args, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        proc.bench_name = name  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def liveboard(self, name: str, settings: Settings, *args: str, **extra_env: str) -> subprocess.Popen:
        return self.spawn(name, [sys.executable, "-m", "liveboard.cli", *args], settings_env(settings, **extra_env))

    def stop(self, proc: subprocess.Popen, timeout: float = 10) -> None:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        if proc.poll() is None or _group_alive(proc.pid):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        if proc in self.procs:
            self.procs.remove(proc)

    def close(self) -> None:
        for proc in list(self.procs):
            self.stop(proc, timeout=5)

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.log_dir / f"{name}.log"
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def wait_http(url: str, proc: subprocess.Popen | None = None, timeout: float = 60, what: str = "server") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}")
        try:
            with _NO_PROXY.open(url, timeout=2) as resp:
                if resp.status < 500:
                    return
        except Exception:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer {url} within {timeout:.0f}s")


def free_port() -> int:
    from devservices._process import free_port as _free_port

    return _free_port()


# --------------------------------------------------------------------------------------------
# memory (from /proc, no extra dependency)

def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def peak_rss_mib(pid: int) -> float:
    """VmHWM: the peak resident set size of the process so far."""
    return _status_kb(pid, "VmHWM") / 1024


def rss_mib(pid: int) -> float:
    return _status_kb(pid, "VmRSS") / 1024


def child_pids(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def worker_pids(master: subprocess.Popen) -> list[int]:
    """gunicorn workers are the children of `liveboard serve` (the master)."""
    return child_pids(master.pid)


# --------------------------------------------------------------------------------------------
# machine and versions

def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _wrk_version() -> str | None:
    wrk = shutil.which("wrk")
    if not wrk:
        return None
    out = subprocess.run([wrk, "-v"], capture_output=True, text=True)
    text = (out.stdout + out.stderr).strip().splitlines()
    return text[0].split(" [")[0] if text else "wrk"


def machine_info(services: Services) -> dict:
    from devservices.kafka import KAFKA_VERSION

    client = services.ch_client()
    try:
        ch_version = client.execute("SELECT version()")[0][0]
    finally:
        client.disconnect()
    conn = services.pg_connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW server_version")
            pg_version = cur.fetchone()[0]
    finally:
        conn.close()
    return {
        "cores": os.cpu_count(), "memory_gib": _mem_gib(), "cpu_model": _cpu_model(),
        "kernel": platform.release(), "python": platform.python_version(), "kafka": KAFKA_VERSION,
        "clickhouse": ch_version, "chdb": _version("chdb"), "postgresql": pg_version,
        "gunicorn": _version("gunicorn"), "flask": _version("flask"), "kafka_python": _version("kafka-python"),
        "clickhouse_driver": _version("clickhouse-driver"), "load_generator": _wrk_version() or "python (threads)",
    }


@dataclass
class Timer:
    started: float = field(default_factory=time.perf_counter)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started
