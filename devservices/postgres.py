"""A PostgreSQL 15 server (Debian's postgresql package) on 127.0.0.1 with trust auth.

PostgreSQL refuses to run as root: when we are root, initdb and postgres run as the 'postgres'
OS user, and the data dir belongs to that user. Its base dir must then be reachable by that user
(make_base_dir() gives such a dir; pytest's tmp_path, mode 0700 under /tmp/pytest-of-root, is not).
"""
from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

from devservices._process import Service, free_port, run_checked, user_can_traverse

PG_VERSION = "15"


def bin_dir() -> Path:
    candidates = [os.environ.get("LIVEBOARD_PG_BIN"), f"/usr/lib/postgresql/{PG_VERSION}/bin"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "postgres").is_file():
            return Path(candidate)
    found = shutil.which("postgres")
    if found:
        return Path(found).parent
    raise RuntimeError(f"PostgreSQL {PG_VERSION} is not installed (apt-get install postgresql; "
                       "scripts/bootstrap.sh does it)")


class PostgresService(Service):
    """PostgreSQL on 127.0.0.1:``port``; superuser 'postgres', trust auth, database 'postgres'.

    ``url`` is a SQLAlchemy URL: postgresql+psycopg2://postgres@127.0.0.1:<port>/postgres.
    """

    name = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown: SIGTERM ("smart") would wait for clients

    def __init__(self, base_dir, *, port: int | None = None, startup_timeout: float = 60,
                 stop_timeout: float = 30):
        super().__init__(base_dir, startup_timeout=startup_timeout, stop_timeout=stop_timeout)
        self._port = port
        self.run_as = "postgres" if os.geteuid() == 0 else None

    host = "127.0.0.1"

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("PostgresService has not been started")
        return self._port

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def url_for(self, database: str, driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://postgres@{self.host}:{self.port}/{database}"

    def create_database(self, prefix: str = "db") -> str:
        """A new, empty database with a unique name; its SQLAlchemy URL (one per test)."""
        import uuid

        import psycopg2

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        conn = psycopg2.connect(self.dsn)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return self.url_for(name)

    @property
    def dsn(self) -> str:
        """libpq connection string (psycopg2.connect(dsn), psql)."""
        return f"host={self.host} port={self.port} user=postgres dbname=postgres"

    @property
    def data_dir(self) -> Path:
        return self._root / "data"

    # -- Service hooks ---------------------------------------------------------------------
    def _prepare(self) -> None:
        self._bin = bin_dir()
        self._port = self._port or free_port()
        root = self._root
        if self.run_as:
            if not user_can_traverse(root, self.run_as):
                raise RuntimeError(
                    f"postgres: the OS user {self.run_as!r} cannot reach {root}; construct PostgresService "
                    "with a base dir every user can traverse (devservices.make_base_dir())")
            shutil.chown(root, user=self.run_as, group=self.run_as)
        (self.log_path).touch()
        run_checked([str(self._bin / "initdb"), "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
                     "--encoding=UTF8", "--locale=C", "--no-sync"],
                    log_path=root / "initdb.log", what="postgres initdb", user=self.run_as, cwd=root,
                    env=self._env())

    def _env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", TZ="UTC")
        if self.run_as:
            env.update(HOME=str(self._root), USER=self.run_as, LOGNAME=self.run_as)
        return env

    def _command(self) -> list[str]:
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self._port),
            "unix_socket_directories": "",  # TCP only: no socket in /var/run/postgresql
            "max_connections": "200",
            # Throwaway data: skip fsync, which only guards against an OS crash; a killed server
            # keeps every commit, since WAL is written to the OS before COMMIT returns. Never
            # synchronous_commit=off here: it would lose recent commits on kill().
            "fsync": "off",
            "full_page_writes": "off",
            "logging_collector": "off",
        }
        cmd = [str(self._bin / "postgres"), "-D", str(self.data_dir)]
        for key, value in settings.items():
            cmd += ["-c", f"{key}={value}"]
        return cmd

    def _log_files(self) -> list[Path]:
        return [self._root / "initdb.log", self.log_path]

    def _ready(self) -> bool:
        import psycopg2  # imported lazily

        conn = psycopg2.connect(host=self.host, port=self.port, user="postgres", dbname="postgres",
                                connect_timeout=2)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
                return cur.fetchone() == (1,)
        finally:
            conn.close()
