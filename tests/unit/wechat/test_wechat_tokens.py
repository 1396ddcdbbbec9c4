"""Shared access token: one row per appid, one refresher, stable_token, no stampede."""
from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest

from configstore.db import make_engine, make_sessionmaker, transaction
from configstore.wechat_models import WeChatAccessToken, utcnow
from tests.fakes.fake_wechat import DEFAULT_APPID, DEFAULT_SECRET, STABLE_TOKEN, TOKEN, FakeWeChat
from wechat.errors import TokenUnavailable, WeChatError
from wechat.tokens import SharedTokenProvider


def process(db_url: str, fake: FakeWeChat, **kw) -> SharedTokenProvider:
    """A provider with its own engine: what a separate process would have."""
    factory = make_sessionmaker(make_engine(db_url))
    return SharedTokenProvider(factory, DEFAULT_APPID, DEFAULT_SECRET, base_url=fake.url, **kw)


def read_row(db_url: str) -> WeChatAccessToken:
    with make_sessionmaker(make_engine(db_url))() as s:
        return s.get(WeChatAccessToken, DEFAULT_APPID)


def test_two_processes_share_one_token(fake, db_url) -> None:
    a, b = process(db_url, fake), process(db_url, fake)
    token_a = a.get_token()
    token_b = b.get_token()
    assert token_a == token_b == fake.valid_token()
    assert fake.calls[STABLE_TOKEN] == 1
    assert fake.calls[TOKEN] == 0  # never the per-process /cgi-bin/token
    assert fake.calls["stable_token_force"] == 0
    row = read_row(db_url)
    assert row.token == token_a and row.lease_owner is None and row.lease_until is None
    assert timedelta(seconds=7190) < row.expires_at - row.refreshed_at <= timedelta(seconds=7200)
    # a third "process" started later also reads it from the DB
    assert process(db_url, fake).get_token() == token_a
    assert fake.token_issue_count == 1


def test_concurrent_first_fetch_single_refresher(fake, db_url) -> None:
    fake.delay(STABLE_TOKEN, 0.3)  # make the race window wide
    providers = [process(db_url, fake) for _ in range(6)]
    barrier = threading.Barrier(len(providers))
    results: list[str] = []
    errors: list[BaseException] = []

    def run(p: SharedTokenProvider) -> None:
        try:
            barrier.wait()
            results.append(p.get_token())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in providers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(results) == 6 and len(set(results)) == 1
    assert fake.token_issue_count == 1


def test_cached_in_process(fake, db_url) -> None:
    p = process(db_url, fake)
    assert p.get_token() == p.get_token() == p.get_token()
    assert fake.calls[STABLE_TOKEN] == 1


def test_refresh_ahead_of_expiry(fake, db_url) -> None:
    now = [utcnow()]
    p = process(db_url, fake, clock=lambda: now[0])
    p.get_token()
    expires_at = read_row(db_url).expires_at
    now[0] = expires_at - timedelta(minutes=6)  # outside the 5 min margin: reuse
    p.get_token()
    assert fake.calls[STABLE_TOKEN] == 1
    now[0] = expires_at - timedelta(minutes=4)  # inside the margin: refresh
    other = process(db_url, fake, clock=lambda: now[0])
    other.get_token()
    assert fake.calls[STABLE_TOKEN] == 2
    assert read_row(db_url).expires_at > expires_at
    p.get_token()  # the first process now picks up the refreshed row
    assert fake.calls[STABLE_TOKEN] == 2


def test_force_refresh_after_40001_no_stampede(fake, db_url) -> None:
    providers = [process(db_url, fake) for _ in range(5)]
    old = providers[0].get_token()
    for p in providers:
        assert p.get_token() == old
    fake.expire_all_tokens()  # every process now gets 40001 with `old`
    fresh = [p.force_refresh(stale_token=old) for p in providers]
    assert len(set(fresh)) == 1 and fresh[0] != old
    assert fresh[0] == fake.valid_token()
    assert fake.calls[STABLE_TOKEN] == 2  # the first fetch + exactly one refresh


def test_force_refresh_concurrent_no_stampede(fake, db_url) -> None:
    providers = [process(db_url, fake) for _ in range(5)]
    old = providers[0].get_token()
    fake.expire_all_tokens()
    fake.delay(STABLE_TOKEN, 0.3)
    barrier = threading.Barrier(len(providers))
    results: list[str] = []

    def run(p: SharedTokenProvider) -> None:
        barrier.wait()
        results.append(p.force_refresh(stale_token=old))

    threads = [threading.Thread(target=run, args=(p,)) for p in providers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 5 and len(set(results)) == 1 and results[0] != old
    assert fake.calls[STABLE_TOKEN] == 2


def test_force_refresh_without_stale_reuses_recent_refresh(fake, db_url) -> None:
    a, b = process(db_url, fake), process(db_url, fake)
    token = a.get_token()
    assert b.force_refresh() == token  # refreshed < 10 s ago by someone: reuse
    assert fake.calls[STABLE_TOKEN] == 1


def test_force_refresh_when_wechat_returns_the_rejected_token(fake, db_url) -> None:
    """40001 although WeChat still considers the token current: normal mode would hand the
    same token back, so the provider escalates to force_refresh=true (once)."""
    p = process(db_url, fake)
    old = p.get_token()
    new = p.force_refresh(stale_token=old)
    assert new != old
    assert fake.calls[STABLE_TOKEN] == 3  # initial, normal-mode (same token), forced
    assert fake.calls["stable_token_force"] == 1


def test_dead_refresher_lease_is_taken_over(fake, db_url) -> None:
    start = utcnow()
    factory = make_sessionmaker(make_engine(db_url))
    with transaction(factory) as s:
        s.add(WeChatAccessToken(appid=DEFAULT_APPID, lease_owner="crashed-process",
                                lease_until=start + timedelta(seconds=30)))
    impatient = process(db_url, fake, wait_timeout=0.3, clock=lambda: start)
    with pytest.raises(TokenUnavailable):
        impatient.get_token()  # lease still held, no token to serve
    assert fake.calls[STABLE_TOKEN] == 0
    later = process(db_url, fake, clock=lambda: start + timedelta(seconds=31))
    assert later.get_token() == fake.valid_token()
    row = read_row(db_url)
    assert row.lease_owner is None


def test_refresh_failure_releases_lease_and_raises(fake, db_url) -> None:
    fake.fail_next(STABLE_TOKEN, 40164, errmsg="invalid ip, not in whitelist")
    p = process(db_url, fake)
    with pytest.raises(WeChatError) as err:
        p.get_token()
    assert err.value.errcode == 40164
    assert read_row(db_url).lease_owner is None
    assert p.get_token() == fake.valid_token()  # next call retries right away


def test_refresh_does_not_log_secret_or_token(fake, db_url, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    p = process(db_url, fake)
    token = p.get_token()
    fake.expire_all_tokens()
    p.force_refresh(stale_token=token)
    assert DEFAULT_SECRET not in caplog.text
    assert token not in caplog.text
    assert fake.valid_token() not in caplog.text
    assert DEFAULT_SECRET not in repr(p)


def test_lease_must_exceed_http_timeout(fake, db_url) -> None:
    with pytest.raises(ValueError):
        process(db_url, fake, lease_seconds=5, http_timeout=10)
