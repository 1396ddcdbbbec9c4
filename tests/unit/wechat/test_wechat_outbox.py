"""Push outbox: credits, error handling, crash-safety, concurrent workers."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from configstore.db import make_engine, make_sessionmaker, transaction
from configstore.secretbox import SecretBox
from configstore.wechat_models import PushOutbox, WeChatUser, utcnow
from tests.fakes.fake_wechat import DEFAULT_APPID, DEFAULT_SECRET, STABLE_TOKEN, SUBSCRIBE_SEND, FakeWeChat
from wechat.adapter import WeChatClient
from wechat.outbox import (
    NO_CREDIT_MESSAGE,
    DeliveryReport,
    add_subscribe_credits,
    deliver_pending,
    enqueue_push,
    get_credits,
)
from wechat.tokens import SharedTokenProvider
from wechat.users import login_with_code

TPL = "tpl-rank-changed-0001"
BOX = SecretBox(Fernet.generate_key().decode())


@pytest.fixture
def db(db_url) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def make_client(fake: FakeWeChat, factory: sessionmaker[Session]) -> WeChatClient:
    provider = SharedTokenProvider(factory, DEFAULT_APPID, DEFAULT_SECRET, base_url=fake.url)
    return WeChatClient(DEFAULT_APPID, DEFAULT_SECRET, base_url=fake.url, token_provider=provider)


def login(db, client: WeChatClient, name: str, credits: int = 0) -> tuple[int, str]:
    with transaction(db) as s:
        user = login_with_code(s, client, f"code-{name}.{utcnow().timestamp()}", box=BOX)
        if credits:
            add_subscribe_credits(s, user.id, TPL, credits)
        return user.id, user.openid


def enqueue(db, user_id: int, key: str, text: str | None = None) -> bool:
    with transaction(db) as s:
        return enqueue_push(s, user_id, TPL, {"thing1": {"value": text or key}}, dedupe_key=key,
                            page="pages/rank/index")


def rows(db) -> dict[str, PushOutbox]:
    with db() as s:
        return {r.dedupe_key: r for r in s.scalars(select(PushOutbox))}


def credits(db, user_id: int) -> int:
    with db() as s:
        return get_credits(s, user_id, TPL)


def sent_values(fake: FakeWeChat) -> list[str]:
    return [m["data"]["thing1"]["value"] for m in fake.sent_messages()]


# -- basics ---------------------------------------------------------------------------------


def test_three_pending_two_credits(fake, db) -> None:
    client = make_client(fake, db)
    uid, openid = login(db, client, "alice", credits=2)
    for k in ("e1", "e2", "e3"):
        assert enqueue(db, uid, k) is True
    report = deliver_pending(db, client)
    assert report == DeliveryReport(sent=2, no_credit=1)
    assert sent_values(fake) == ["e1", "e2"]
    assert {m["touser"] for m in fake.sent_messages()} == {openid}
    r = rows(db)
    assert [r[k].status for k in ("e1", "e2", "e3")] == ["sent", "sent", "no_credit"]
    assert r["e1"].wechat_msgid is not None and r["e1"].sent_at is not None and r["e1"].attempts == 1
    assert r["e3"].attempts == 0 and r["e3"].last_error == NO_CREDIT_MESSAGE
    assert credits(db, uid) == 0
    assert deliver_pending(db, client) == DeliveryReport()  # nothing left
    assert fake.calls[SUBSCRIBE_SEND] == 2


def test_dedupe_key_enqueues_once(fake, db) -> None:
    uid, _ = login(db, make_client(fake, db), "bob", credits=5)
    assert enqueue(db, uid, "award:42:host:7") is True
    assert enqueue(db, uid, "award:42:host:7", text="changed") is False
    r = rows(db)
    assert list(r) == ["award:42:host:7"]
    assert r["award:42:host:7"].data == {"thing1": {"value": "award:42:host:7"}}
    deliver_pending(db, make_client(fake, db))
    assert enqueue(db, uid, "award:42:host:7") is False  # also after it was sent
    assert len(fake.sent_messages()) == 1


def test_enqueue_inside_business_transaction_dedupe_does_not_poison_it(fake, db) -> None:
    uid, _ = login(db, make_client(fake, db), "bob2", credits=1)
    enqueue(db, uid, "k")
    with transaction(db) as s:
        assert enqueue_push(s, uid, TPL, {"thing1": "x"}, dedupe_key="k") is False
        # the surrounding transaction is still usable
        s.execute(update(WeChatUser).where(WeChatUser.id == uid).values(unionid="u-after-dup"))
    with db() as s:
        assert s.get(WeChatUser, uid).unionid == "u-after-dup"


def test_enqueue_plain_values_are_fitted(fake, db) -> None:
    uid, _ = login(db, make_client(fake, db), "carl", credits=1)
    with transaction(db) as s:
        enqueue_push(s, uid, TPL, {"thing1": "湘西州第一届直播带货大赛总决赛排行榜更新通知", "number2": 3},
                     dedupe_key="plain")
    assert rows(db)["plain"].data == {"thing1": {"value": "湘西州第一届直播带货大赛总决赛排行榜更…"},
                                      "number2": {"value": "3"}}
    assert deliver_pending(db, make_client(fake, db)).sent == 1


def test_login_upserts_user(fake, db) -> None:
    client = make_client(fake, db)
    uid1, openid1 = login(db, client, "dora")
    with db() as s:
        key1 = BOX.open(s.get(WeChatUser, uid1).session_key)
    uid2, openid2 = login(db, client, "dora")
    with db() as s:
        user = s.get(WeChatUser, uid2)
        assert (uid1, openid1) == (uid2, openid2)
        key2 = BOX.open(user.session_key)
        assert key2 != key1 and key2 == fake.codes_issued[-1]["session_key"]
        assert key2 not in user.session_key  # stored sealed
        assert user.session_key not in repr(user) and key2 not in repr(user)


# -- WeChat errors --------------------------------------------------------------------------------


def test_43101_no_credit_no_retry(fake, db) -> None:
    client = make_client(fake, db)
    uid, openid = login(db, client, "eve", credits=3)
    enqueue(db, uid, "r1")
    enqueue(db, uid, "r2")
    fake.refuse_subscription(openid, TPL)
    report = deliver_pending(db, client)
    assert report == DeliveryReport(no_credit=2)
    r = rows(db)
    assert r["r1"].status == r["r2"].status == "no_credit"
    assert r["r1"].attempts == 1 and "43101" in r["r1"].last_error
    assert r["r2"].attempts == 0  # credit was already zeroed, never attempted
    assert credits(db, uid) == 0
    assert fake.calls[SUBSCRIBE_SEND] == 1
    later = utcnow() + timedelta(days=1)
    assert deliver_pending(db, client, now=later) == DeliveryReport()
    assert fake.calls[SUBSCRIBE_SEND] == 1
    assert fake.sent_messages() == []


def test_45009_backoff_then_sent_on_later_run(fake, db) -> None:
    client = make_client(fake, db)
    uid, _ = login(db, client, "fay", credits=2)
    enqueue(db, uid, "a")
    enqueue(db, uid, "b")
    t0 = utcnow() + timedelta(seconds=1)
    fake.rate_limit(1)
    report = deliver_pending(db, client, now=t0)
    assert report == DeliveryReport(retried=1, rate_limited=True)
    assert fake.calls[SUBSCRIBE_SEND] == 1  # the run stopped: "b" was not hammered
    r = rows(db)
    assert r["a"].status == "pending" and r["a"].attempts == 1
    assert r["a"].next_attempt_at == t0 + timedelta(seconds=30)
    assert "45009" in r["a"].last_error
    assert r["b"].status == "pending" and r["b"].attempts == 0
    assert credits(db, uid) == 2  # reservation refunded

    report = deliver_pending(db, client, now=t0 + timedelta(seconds=10))
    assert report == DeliveryReport(sent=1)  # "b" is due, "a" is still backing off
    report = deliver_pending(db, client, now=t0 + timedelta(seconds=31))
    assert report == DeliveryReport(sent=1)
    assert sorted(sent_values(fake)) == ["a", "b"]
    assert rows(db)["a"].attempts == 2
    assert credits(db, uid) == 0


def test_backoff_grows_exponentially(fake, db) -> None:
    client = make_client(fake, db)
    uid, _ = login(db, client, "gus", credits=1)
    enqueue(db, uid, "x")
    t = utcnow() + timedelta(seconds=1)
    fake.rate_limit(3, errcode=45011)
    expected = [30, 60, 120]
    for delay in expected:
        assert deliver_pending(db, client, now=t).rate_limited is True
        assert rows(db)["x"].next_attempt_at == t + timedelta(seconds=delay)
        t = t + timedelta(seconds=delay)
    assert deliver_pending(db, client, now=t).sent == 1


def test_40001_refreshes_token_once_and_sends(fake, db) -> None:
    client = make_client(fake, db)
    uid, _ = login(db, client, "hal", credits=2)
    enqueue(db, uid, "before")
    deliver_pending(db, client)
    fake.expire_all_tokens()
    enqueue(db, uid, "after")
    assert deliver_pending(db, client) == DeliveryReport(sent=1)
    assert sent_values(fake) == ["before", "after"]
    assert fake.calls[STABLE_TOKEN] == 2
    assert rows(db)["after"].attempts == 1


def test_other_errors_retry_then_fail(fake, db) -> None:
    client = make_client(fake, db)
    uid, _ = login(db, client, "ida", credits=1)
    enqueue(db, uid, "x")
    fake.fail_next(SUBSCRIBE_SEND, -1, count=3, errmsg="system error")
    t = utcnow() + timedelta(seconds=1)
    assert deliver_pending(db, client, now=t, max_attempts=3) == DeliveryReport(retried=1)
    assert deliver_pending(db, client, now=t + timedelta(seconds=30), max_attempts=3) == DeliveryReport(retried=1)
    r = rows(db)["x"]
    assert (r.status, r.attempts, r.next_attempt_at) == ("pending", 2, t + timedelta(seconds=90))
    assert credits(db, uid) == 1
    report = deliver_pending(db, client, now=t + timedelta(seconds=90), max_attempts=3)
    assert report == DeliveryReport(failed=1)
    r = rows(db)["x"]
    assert (r.status, r.attempts) == ("failed", 3)
    assert r.last_error == "WeChatError: errcode=-1 system error"
    assert credits(db, uid) == 1  # WeChat never took the credit
    assert fake.sent_messages() == []


def test_permanent_error_fails_immediately(fake, db) -> None:
    client = make_client(fake, db)
    uid, _ = login(db, client, "jay", credits=1)
    enqueue(db, uid, "x")
    fake.fail_next(SUBSCRIBE_SEND, 40037, errmsg="invalid template_id")
    assert deliver_pending(db, client) == DeliveryReport(failed=1)
    assert rows(db)["x"].status == "failed"
    assert credits(db, uid) == 1


# -- crash safety ------------------------------------------------------------------------------


class Crash(BaseException):
    """Stands in for the process dying (not caught by `except Exception`)."""


class CrashingClient:
    """Dies before (or after) the real send."""

    def __init__(self, real: WeChatClient, after_send: bool) -> None:
        self.real, self.after_send, self.timeout = real, after_send, real.timeout

    def send_subscribe_message(self, *args, **kwargs):
        if self.after_send:
            self.real.send_subscribe_message(*args, **kwargs)
        raise Crash()


def test_crash_after_enqueue_new_process_sends_exactly_once(fake, db_url) -> None:
    # process 1: the business transaction enqueues, then the process dies
    engine1 = make_engine(db_url)
    factory1 = make_sessionmaker(engine1)
    uid, _ = login(factory1, make_client(fake, factory1), "kim", credits=1)
    enqueue(factory1, uid, "rank:7:up")
    engine1.dispose()
    assert fake.sent_messages() == []
    # process 2: fresh engine, fresh client
    engine2 = make_engine(db_url)
    factory2 = make_sessionmaker(engine2)
    client2 = make_client(fake, factory2)
    assert deliver_pending(factory2, client2) == DeliveryReport(sent=1)
    assert deliver_pending(factory2, client2, now=utcnow() + timedelta(hours=1)) == DeliveryReport()
    assert sent_values(fake) == ["rank:7:up"]
    engine2.dispose()


def test_crash_while_sending_is_retried_after_lease(fake, db) -> None:
    client = make_client(fake, db)
    uid, _ = login(db, client, "lou", credits=1)
    enqueue(db, uid, "x")
    t0 = utcnow() + timedelta(seconds=1)
    with pytest.raises(Crash):
        deliver_pending(db, CrashingClient(client, after_send=False), now=t0)
    r = rows(db)["x"]
    assert (r.status, r.attempts, r.lease_until) == ("sending", 1, t0 + timedelta(seconds=60))
    assert credits(db, uid) == 0  # reserved by the dead worker
    # lease still running: nobody touches it
    assert deliver_pending(db, client, now=t0 + timedelta(seconds=30)) == DeliveryReport()
    # lease lapsed: re-claimed (keeping the reservation) and sent once
    assert deliver_pending(db, client, now=t0 + timedelta(seconds=61)) == DeliveryReport(sent=1)
    r = rows(db)["x"]
    assert (r.status, r.attempts) == ("sent", 2)
    assert credits(db, uid) == 0
    assert sent_values(fake) == ["x"]


def test_at_least_once_window_is_only_after_wechat_accepted(fake, db) -> None:
    """The documented gap: WeChat accepted, the process died before recording it."""
    client = make_client(fake, db)
    uid, _ = login(db, client, "max", credits=1)
    enqueue(db, uid, "x")
    t0 = utcnow() + timedelta(seconds=1)
    with pytest.raises(Crash):
        deliver_pending(db, CrashingClient(client, after_send=True), now=t0)
    assert sent_values(fake) == ["x"]
    deliver_pending(db, client, now=t0 + timedelta(seconds=61))
    assert sent_values(fake) == ["x", "x"]  # the one duplicate this design allows
    assert rows(db)["x"].status == "sent"


def test_stalled_worker_cannot_overwrite_new_owner(fake, db) -> None:
    """A worker whose lease lapsed mid-call finds its claim token gone and records nothing."""
    client = make_client(fake, db)
    uid, _ = login(db, client, "ned", credits=1)
    enqueue(db, uid, "x")
    t0 = utcnow() + timedelta(seconds=1)
    reports: list[DeliveryReport] = []

    class StallingClient:
        timeout = client.timeout

        def send_subscribe_message(self, *args, **kwargs):
            # while "stalled", another worker re-claims after the lease and fails it
            fake.fail_next(SUBSCRIBE_SEND, 40037)
            reports.append(deliver_pending(db, client, now=t0 + timedelta(seconds=61)))
            return client.send_subscribe_message(*args, **kwargs)

    stalled = deliver_pending(db, StallingClient(), now=t0)
    assert reports == [DeliveryReport(failed=1)]
    assert stalled == DeliveryReport()  # its late success was not recorded over the new outcome
    assert rows(db)["x"].status == "failed"


# -- concurrency ------------------------------------------------------------------------------


def run_concurrently(n: int, fn) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = fn(i)
        except BaseException as exc:  # pragma: no cover - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    return results


def test_two_concurrent_workers_send_each_row_once(fake, db_url) -> None:
    setup = make_sessionmaker(make_engine(db_url))
    client0 = make_client(fake, setup)
    keys = []
    for i in range(4):
        uid, _ = login(setup, client0, f"host{i}", credits=3)
        for j in range(3):
            keys.append(f"u{i}-e{j}")
            enqueue(setup, uid, keys[-1])
    fake.delay(SUBSCRIBE_SEND, 0.02)
    # two "processes": own engine and client each
    workers = [make_sessionmaker(make_engine(db_url)) for _ in range(2)]
    clients = [make_client(fake, w) for w in workers]
    reports = run_concurrently(2, lambda i: deliver_pending(workers[i], clients[i]))
    assert sum(r.sent for r in reports) == 12
    assert all(r.sent > 0 for r in reports)  # both really worked
    assert sorted(sent_values(fake)) == sorted(keys)  # each exactly once
    assert {r.status for r in rows(setup).values()} == {"sent"}
    with setup() as s:
        assert all(get_credits(s, uid, TPL) == 0 for uid in range(1, 5))


def test_concurrent_workers_respect_credits(fake, db_url) -> None:
    setup = make_sessionmaker(make_engine(db_url))
    uid, _ = login(setup, make_client(fake, setup), "olly", credits=2)
    for k in ("a", "b", "c", "d", "e"):
        enqueue(setup, uid, k)
    fake.delay(SUBSCRIBE_SEND, 0.05)
    workers = [make_sessionmaker(make_engine(db_url)) for _ in range(3)]
    clients = [make_client(fake, w) for w in workers]
    run_concurrently(3, lambda i: deliver_pending(workers[i], clients[i]))
    deliver_pending(setup, make_client(fake, setup))  # settle rows deferred while credits were in flight
    statuses = sorted(r.status for r in rows(setup).values())
    assert statuses == ["no_credit", "no_credit", "no_credit", "sent", "sent"]
    assert len(fake.sent_messages()) == 2
    with setup() as s:
        assert get_credits(s, uid, TPL) == 0


def test_lease_must_exceed_http_timeout(fake, db) -> None:
    with pytest.raises(ValueError):
        deliver_pending(db, make_client(fake, db), lease_seconds=5)
