"""A Redis server (Debian's redis-server package) on 127.0.0.1, in memory only."""
from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

from devservices._process import Service, free_port


def server_binary() -> str:
    for candidate in (os.environ.get("REDIS_SERVER"), shutil.which("redis-server"), "/usr/bin/redis-server"):
        if candidate and Path(candidate).is_file():
            return candidate
    raise RuntimeError("redis-server is not installed (apt-get install redis-server; scripts/bootstrap.sh does it)")


def _encode(*args: str | int | bytes) -> bytes:
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts += [f"${len(data)}\r\n".encode(), data, b"\r\n"]
    return b"".join(parts)


def _read_reply(stream):
    """One RESP2 reply: str, int, bytes, None or a list; an error reply raises RuntimeError."""
    line = stream.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("redis closed the connection")
    kind, body = line[:1], line[1:-2]
    if kind == b"+":
        return body.decode()
    if kind == b"-":
        raise RuntimeError(f"redis error: {body.decode()}")
    if kind == b":":
        return int(body)
    if kind == b"$":
        size = int(body)
        return None if size < 0 else stream.read(size + 2)[:-2]
    if kind == b"*":
        count = int(body)
        return None if count < 0 else [_read_reply(stream) for _ in range(count)]
    raise ConnectionError(f"unexpected redis reply {line!r}")


class RedisService(Service):
    """Redis on 127.0.0.1:``port`` without persistence; ``url`` is redis://127.0.0.1:<port>/0.

    ``command("INCR", "k")`` sends one command over a fresh connection (readiness and tests need
    no client library)."""

    name = "redis"

    def __init__(self, base_dir, *, port: int | None = None, startup_timeout: float = 30, stop_timeout: float = 15):
        super().__init__(base_dir, startup_timeout=startup_timeout, stop_timeout=stop_timeout)
        self._port = port

    host = "127.0.0.1"

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("RedisService has not been started")
        return self._port

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def command(self, *args: str | int | bytes, timeout: float = 5):
        with socket.create_connection((self.host, self.port), timeout=timeout) as sock:
            sock.sendall(_encode(*args))
            with sock.makefile("rb") as stream:
                return _read_reply(stream)

    # -- Service hooks ---------------------------------------------------------------------
    def _prepare(self) -> None:
        self._binary = server_binary()
        self._port = self._port or free_port()

    def _command(self) -> list[str]:
        return [self._binary, "--bind", self.host, "--port", str(self._port), "--dir", str(self._root),
                # Throwaway data: no RDB snapshots, no AOF; log to stdout (the service log).
                "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "",
                "--loglevel", "warning"]

    def _ready(self) -> bool:
        return self.command("PING", timeout=2) == "PONG"
