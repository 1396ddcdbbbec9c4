"""What an unauthenticated caller can make the API keep, and how many passwords it can try.

- 10,000 webhooks to made-up 4 KB source names: every one a 401 unknown_source, the process's RSS
  and the config store's file do not grow (no cache entry, no rate-limit row); then made-up names
  that could be sources: one rate-limit row for the client, a capped cache.
- 20 concurrent wrong passwords for one user: only the per-(user, client) limit of them reach the
  password verifier (counted before the check, atomically).
- A flood of wrong passwords from one client does not keep the right one out from another client,
  and successful logins are not counted against anyone.

Runs the real app (embedded: SQLite config store and event log) through its WSGI interface, in
threads where concurrency matters; the figures are printed. The counters live where the embedded
default keeps them (in process), and the flood and password tests run again on Redis (scale-out).
"""
from __future__ import annotations

import gc
import random
import re
import string
import threading
import time
from pathlib import Path

import pytest
import redis

from backend import auth
from backend.app import create_app
from backend.connector_push import EXTENSION_KEY
from configstore import accounts
from configstore.sources import create_source
from connectors.service import UNKNOWN_CACHED
from operations.migrations import migrate_all
from services.runtime import Runtime
from tests.security.fuzz_embedded import embedded_settings

PASSWORD = "correct-horse-42"
NAME_ALPHABET = string.ascii_lowercase + string.digits


def _app(tmp_path, **overrides):
    settings = embedded_settings(tmp_path / "data", **overrides)
    migrate_all(settings)
    app = create_app(runtime=Runtime.build(settings))
    runtime = app.extensions["liveboard"]
    create_source(runtime.sessions, "real-shop", box=runtime.secrets)
    accounts.create_user(runtime.sessions, "zhang.wei", PASSWORD, "operator")
    return app


@pytest.fixture(params=["in process", "redis"])
def counters(request) -> dict:
    """Settings overrides for where rate-limit counters live: the embedded default's own memory, or
    a Redis database of this test's own (emptied first)."""
    if request.param == "in process":
        return {}
    url = request.getfixturevalue("redis_service").url.rsplit("/", 1)[0] + f"/{random.randrange(1, 16)}"
    redis.Redis.from_url(url).flushdb()
    return {"ratelimit_storage_uri": url}


@pytest.fixture
def app(tmp_path, counters):
    app = _app(tmp_path, **counters)
    yield app
    app.extensions["liveboard"].close()


PROXY = "10.9.9.9"  # a reverse proxy in front (LIVEBOARD_PROXY_HOPS=1)


@pytest.fixture(params=["direct", "behind a proxy"])
def client_app(request, tmp_path):
    """(app, how a request from a client address is made): straight, or through one trusted proxy."""
    proxied = request.param == "behind a proxy"
    app = _app(tmp_path, proxy_hops=1 if proxied else 0)

    def environ(remote: str) -> dict:
        return {"environ_base": {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": remote}} if proxied \
            else {"environ_base": {"REMOTE_ADDR": remote}}

    yield app, environ
    app.extensions["liveboard"].close()


def _rss_kib() -> int:
    gc.collect()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


def _store_bytes(runtime) -> int:
    """The config store's size on disk, its write-ahead log included."""
    path = Path(runtime.engine.url.database)
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def _counter_keys(app) -> list[str]:
    """The rate-limit counters the app keeps (in process, or in its Redis database)."""
    limits = app.extensions["liveboard.ratelimits"]
    keys = limits.keys()
    if keys is None:
        keys = [key.decode() for key in redis.Redis.from_url(limits.uri).keys("*")]
    return keys


def _random_name(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(NAME_ALPHABET) for _ in range(length))


def test_ten_thousand_made_up_source_names_grow_nothing(app):
    runtime = app.extensions["liveboard"]
    client = app.test_client()
    rng = random.Random(20261202)

    def flood(count: int, length: int) -> dict[tuple[int, str], int]:
        outcomes: dict[tuple[int, str], int] = {}
        for _ in range(count):
            response = client.post(f"/v1/webhooks/{_random_name(rng, length)}", data=b"{}",
                                   headers={"content-type": "application/json"})
            key = (response.status_code, response.get_json()["error"]["code"])
            outcomes[key] = outcomes.get(key, 0) + 1
        return outcomes

    flood(1_000, 4_000)  # warm-up: the interpreter's and Flask's own first-use allocations
    rss_before, store_before = _rss_kib(), _store_bytes(runtime)
    started = time.monotonic()
    outcomes = flood(10_000, 4_000)
    elapsed = time.monotonic() - started
    rss_growth_kib, store_growth = _rss_kib() - rss_before, _store_bytes(runtime) - store_before
    print(f"\n[abuse] 10,000 POSTs to made-up 4 KB source names in {elapsed:.1f} s: {outcomes}; "
          f"RSS {rss_before / 1024:.1f} MiB -> {rss_growth_kib / 1024:+.2f} MiB; "
          f"config store {store_before / 1024:.0f} KiB -> {store_growth / 1024:+.1f} KiB; "
          f"source cache (active, unknown) {runtime.sources.sizes()}; rate-limit counters {len(_counter_keys(app))}")
    assert outcomes == {(401, "unknown_source"): 10_000}
    assert rss_growth_kib < 5 * 1024
    assert store_growth < 100 * 1024
    assert runtime.sources.sizes() == (0, 0)
    assert _counter_keys(app) == []

    # names that could be sources: one bucket for this client, a capped negative cache
    outcomes = flood(3_000, 64)
    rows = _counter_keys(app)
    print(f"[abuse] 3,000 POSTs to made-up valid source names: {outcomes}; source cache (active, unknown) "
          f"{runtime.sources.sizes()}; rate-limit counters {rows}")
    limit = int(auth.UNKNOWN_SOURCE_LIMIT.split()[0])
    assert outcomes == {(401, "unknown_source"): limit, (429, "rate_limited"): 3_000 - limit}
    assert len(rows) == 1 and "webhook-unknown" in rows[0]
    assert runtime.sources.sizes()[1] <= 1024
    # the real source keeps its own bucket: made-up names do not use it up
    response = client.post("/v1/webhooks/real-shop", data=b"{}", headers={"content-type": "application/json"})
    assert (response.status_code, response.get_json()["error"]["code"]) == (401, "missing_signature")


def test_made_up_connection_names_grow_nothing_and_share_one_bucket(app):
    client = app.test_client()
    rng = random.Random(20261201)

    def flood(count: int, length: int, alphabet: str = NAME_ALPHABET) -> dict[tuple[int, str], int]:
        outcomes: dict[tuple[int, str], int] = {}
        for _ in range(count):
            name = "".join(rng.choice(alphabet) for _ in range(length))
            response = client.post(f"/v1/connectors/{name}/push", data=b"{}",
                                   headers={"content-type": "application/json"})
            key = (response.status_code, response.get_json()["error"]["code"])
            outcomes[key] = outcomes.get(key, 0) + 1
        return outcomes

    # names that cannot be a connection: refused before any look-up or counter
    assert flood(500, 4_000) == {(404, "unknown_connection"): 500}
    assert flood(500, 8, string.ascii_uppercase) == {(404, "unknown_connection"): 500}
    assert _counter_keys(app) == []
    assert EXTENSION_KEY not in app.extensions or app.extensions[EXTENSION_KEY].directory.sizes() == (0, 0)

    # names that could be connections: one bucket for this client, a capped negative cache
    limit = int(auth.UNKNOWN_SOURCE_LIMIT.split()[0])
    outcomes = flood(1_500, 64)
    assert outcomes == {(404, "unknown_connection"): limit, (429, "rate_limited"): 1_500 - limit}
    rows = _counter_keys(app)
    assert len(rows) == 1 and "push-unknown" in rows[0]
    assert app.extensions[EXTENSION_KEY].directory.sizes() == (UNKNOWN_CACHED, UNKNOWN_CACHED)


def _direct(remote: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": remote}}


def _csrf(client, remote: str, environ=_direct) -> str:
    page = client.get("/console/login", **environ(remote)).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _login(client, remote: str, password: str, token: str | None = None, environ=_direct) -> int:
    token = token or _csrf(client, remote, environ)
    return client.post("/console/login", data={"username": "zhang.wei", "password": password, "csrf_token": token},
                       **environ(remote)).status_code


class CountingHasher:
    """The argon2 hasher of configstore.accounts, counting how often a password is verified."""

    def __init__(self, hasher) -> None:
        self._hasher, self.verified, self._lock = hasher, 0, threading.Lock()

    def verify(self, *args, **kwargs):
        with self._lock:
            self.verified += 1
        return self._hasher.verify(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._hasher, name)


def test_concurrent_wrong_passwords_never_pass_the_limit(app, monkeypatch):
    hasher = CountingHasher(accounts._hasher)
    monkeypatch.setattr(accounts, "_hasher", hasher)
    attempts = 20
    clients = [app.test_client() for _ in range(attempts)]
    tokens = [_csrf(c, "10.0.0.7") for c in clients]
    barrier, statuses = threading.Barrier(attempts), [0] * attempts

    def guess(i: int) -> None:
        barrier.wait()
        statuses[i] = _login(clients[i], "10.0.0.7", f"wrong-guess-{i:02d}", token=tokens[i])

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(attempts)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    limit = int(auth.LOGIN_LIMIT_PER_USER_CLIENT.split()[0])
    print(f"\n[abuse] {attempts} concurrent wrong passwords from one client in {time.monotonic() - started:.1f} s: "
          f"{statuses.count(401)} checked (401), {statuses.count(429)} refused unchecked (429); "
          f"password verifier called {hasher.verified} times (limit {limit})")
    assert hasher.verified == statuses.count(401) == limit
    assert statuses.count(429) == attempts - limit


def test_a_flood_from_one_client_does_not_lock_the_user_out_elsewhere(client_app, monkeypatch, request):
    app, environ = client_app
    hasher = CountingHasher(accounts._hasher)
    monkeypatch.setattr(accounts, "_hasher", hasher)
    attacker, user = app.test_client(), app.test_client()
    flood = [_login(attacker, "203.0.113.9", f"guess-{i}", environ=environ) for i in range(60)]
    own = _login(user, "198.51.100.20", PASSWORD, environ=environ)
    per_client = int(auth.LOGIN_LIMIT_PER_USER_CLIENT.split()[0])
    print(f"\n[abuse] {request.node.callspec.id}: 60 wrong passwords from 203.0.113.9: {flood.count(401)} checked, "
          f"{flood.count(429)} refused; the right password from 198.51.100.20: {own}; verifier calls {hasher.verified}")
    assert flood.count(401) == per_client and flood.count(429) == 60 - per_client
    assert own == 302
    # the attacker's address stays refused, even with the right password; the user's does not
    assert _login(attacker, "203.0.113.9", PASSWORD, environ=environ) == 429
    # successful logins are given back: a user logging in often is never limited
    repeated = [_login(user, "198.51.100.20", PASSWORD, environ=environ) for _ in range(per_client * 2)]
    assert repeated == [302] * (per_client * 2)
