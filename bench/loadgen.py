"""Load generators: `wrk` (C, epoll) when installed, else a Python thread client.

Why wrk: on 2 cores every CPU cycle the client burns is taken from the server under test.
wrk drives hundreds of keep-alive connections from one thread at a small fraction of the
cost of a Python client, and it reports latency percentiles itself. Webhooks must be signed
per request (HMAC over id + timestamp + body) with a timestamp within 5 minutes, which wrk's
Lua cannot do cheaply: we precompute a pool of signed raw HTTP requests just before each run
(valid for 5 minutes, runs are seconds long) and the Lua script cycles through it. Repeated
event ids are harmless: the pipeline dedupes them.

Both generators are closed-loop (each connection sends its next request when the previous
answered); `paced_get` is open-loop (requests at fixed times, latency measured from the time a
request was due, so a slow server cannot hide its queueing).
"""
from __future__ import annotations

import http.client
import json
import math
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from liveboard.sender import sign_headers


@dataclass
class LoadResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    tool: str

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def raw_request(method: str, host: str, port: int, path: str, body: bytes = b"",
                headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    for key, value in (headers or {}).items():
        lines.append(f"{key}: {value}")
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def signed_pool(host: str, port: int, source: str, secret: str, bodies: list[bytes]) -> list[bytes]:
    """Raw signed POSTs to /v1/webhooks/<source>, one per body, all signed now."""
    now = time.time()
    return [raw_request("POST", host, port, f"/v1/webhooks/{source}", body,
                        sign_headers(secret, body, msg_id=f"msg_bench_{i}_{int(now)}", timestamp=now))
            for i, body in enumerate(bodies)]


def have_wrk() -> bool:
    return shutil.which("wrk") is not None and os.environ.get("BENCH_NO_WRK") != "1"


_LUA_ESCAPES = {b: (chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\{b:03d}") for b in range(256)}


def _lua_string(data: bytes) -> str:
    """A quoted Lua string with every byte kept (long brackets would turn CRLF into LF)."""
    return '"' + "".join(_LUA_ESCAPES[b] for b in data) + '"'


_LUA_TAIL = r"""
local n = #pool
local counter = 0
local next_offset = 0
setup = function(thread)
  thread:set("offset", next_offset)
  next_offset = next_offset + 7919
end
init = function(args)
  counter = (offset or 0) % n
end
request = function()
  counter = counter + 1
  if counter > n then counter = 1 end
  return pool[counter]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def wrk(host: str, port: int, pool: list[bytes], *, connections: int, seconds: float,
        threads: int = 1, timeout_s: float = 10) -> LoadResult:
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script = Path(tmp) / "pool.lua"
        script.write_text("pool = {\n" + ",\n".join(_lua_string(r) for r in pool) + "\n}\n" + _LUA_TAIL,
                          encoding="utf-8")
        cmd = ["wrk", "-t", str(max(1, min(threads, connections))), "-c", str(connections),
               "-d", f"{max(1, math.ceil(seconds))}s", "--timeout", f"{int(timeout_s)}s", "-s", str(script),
               f"http://{host}:{port}/"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    line = next((l for l in out.stdout.splitlines() if l.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result: {out.stdout[-2000:]} {out.stderr[-2000:]}")
    data = json.loads(line.split(" ", 1)[1])
    secs = data["duration_us"] / 1e6
    return LoadResult(requests=data["requests"], seconds=secs, rps=data["requests"] / secs if secs else 0.0,
                      p50_ms=data["p50_us"] / 1000, p99_ms=data["p99_us"] / 1000, max_ms=data["max_us"] / 1000,
                      errors=data["errors"], tool="wrk")


# --------------------------------------------------------------------------------------------
# Python fallback (closed loop) and the paced (open loop) client

def _split_raw(raw: bytes) -> tuple[str, str, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = dict(l.split(": ", 1) for l in lines[1:])
    headers.pop("Host", None)
    headers.pop("Content-Length", None)
    return method, path, headers, body


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, math.ceil(q / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def summarize(latencies_s: list[float], seconds: float, errors: int, tool: str) -> LoadResult:
    values = sorted(latencies_s)
    return LoadResult(requests=len(values), seconds=seconds, rps=len(values) / seconds if seconds else 0.0,
                      p50_ms=_percentile(values, 50) * 1000, p99_ms=_percentile(values, 99) * 1000,
                      max_ms=(values[-1] * 1000 if values else 0.0), errors=errors, tool=tool)


def python_load(host: str, port: int, pool: list[bytes], *, connections: int, seconds: float) -> LoadResult:
    parsed = [_split_raw(r) for r in pool]
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(offset: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        mine, bad, i = [], 0, offset
        while time.perf_counter() < stop_at:
            method, path, headers, body = parsed[i % len(parsed)]
            i += 1
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body or None, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status >= 400:
                    bad += 1
                mine.append(time.perf_counter() - t0)
            except (OSError, http.client.HTTPException):
                bad += 1
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k * 7919,), daemon=True) for k in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return summarize(latencies, time.perf_counter() - started, errors[0], "python-threads")


def load(host: str, port: int, pool: list[bytes], *, connections: int, seconds: float) -> LoadResult:
    if have_wrk():
        return wrk(host, port, pool, connections=connections, seconds=seconds)
    return python_load(host, port, pool, connections=connections, seconds=seconds)


def paced_get(host: str, port: int, path: str, *, clients: int, interval_s: float, seconds: float) -> LoadResult:
    """`clients` independent clients, each GETs `path` every `interval_s` (staggered): open loop."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = time.perf_counter() + 0.2
    stop_at = start + seconds

    def client(k: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        due = start + interval_s * k / clients
        mine, bad = [], 0
        while due < stop_at:
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                if resp.status >= 400:
                    bad += 1
                mine.append(time.perf_counter() - due)  # from when it was due: no coordinated omission
            except (OSError, http.client.HTTPException):
                bad += 1
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
            due += interval_s
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return summarize(latencies, seconds, errors[0], "python-paced")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


Probe = Callable[[], None]
