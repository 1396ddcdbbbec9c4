"""What the native-connector end-to-end tests share: a stack with its own connector topics, a
registered campaign, enterprise and 达人, one fake platform per test with a connection to it, and
each platform's way of seeding and pushing (its fake's own methods)."""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import requests

from configstore import registry, snapshots
from configstore.participants_import import import_participants
from connectors import service
from connectors.access import PlatformAccess
from connectors.worker import ConnectorWorker
from scheduler.jobs import run_rankings
from tests.e2e.conftest import Stack, build_stack
from tests.fakes.platforms.base import FakePlatform, SeedItem, SeedOrder, SeedRefund, SentPush
from tests.fakes.platforms.douyin_shop import FakeDouyinShop
from tests.fakes.platforms.kuaishou_shop import SELLER_ID, FakeKuaishouShop
from tests.fakes.platforms.wechat_shop import FakeWechatShop
from tests.fakes.platforms.youzan import FakeYouzan

SHANGHAI = timezone(timedelta(hours=8))
CAMPAIGN, PAST_CAMPAIGN = "cx-now", "cx-past"
HOST_ACCOUNT, STRANGER = "71001", "79999"  # the registered 达人 (H1) and one nobody registered
OTHER_KEY_B64 = "QUJDREVGR0hJSktMTU5PUA=="  # a well-formed AES key that is not the connection's


def connector_topics() -> dict[str, str]:
    suffix = uuid.uuid4().hex[:10]
    return {"connector_raw_topic": f"raw-{suffix}", "connector_dead_letter_topic": f"cdlq-{suffix}",
            "connector_group": f"cw-{suffix}"}


@dataclass
class PlatformCase:
    """One platform as the tests drive it."""

    platform: str
    event_platform: str
    make: Callable[[], FakePlatform]
    shop_id: Callable[[Any], str]
    credentials: Callable[[Any], dict[str, str]]
    push_paid: Callable[..., SentPush]
    push_refund: Callable[..., SentPush]
    forge: Callable[[Any, str, str], SentPush]  # a push the platform did not sign / we cannot decrypt
    success: bytes
    names_hosts: bool = True
    refund_sub: Callable[[str, str], str] = lambda order_id, sub_id: sub_id


def _creds(fake: Any, *names: str) -> dict[str, str]:
    return {n: getattr(fake.credentials, n) for n in names if getattr(fake.credentials, n)}


def _douyin_forge(fake: FakeDouyinShop, url: str, order_id: str) -> SentPush:
    return fake.push(url, [("101", {"p_id": int(order_id), "shop_id": int(fake.shop_id)})], sign="0" * 32)


def _kuaishou_forge(fake: FakeKuaishouShop, url: str, order_id: str) -> SentPush:
    return fake.push_paid(url, order_id, key=OTHER_KEY_B64)


def _wechat_forge(fake: FakeWechatShop, url: str, order_id: str) -> SentPush:
    return fake.push_paid(url, order_id, token="not-our-token")


def _youzan_forge(fake: FakeYouzan, url: str, order_id: str) -> SentPush:
    return fake.push_paid(url, order_id, secret="not-our-secret")


CASES = {
    "douyin_shop": PlatformCase(
        "douyin_shop", "douyin", FakeDouyinShop, lambda f: f.shop_id, lambda f: _creds(f, "app_key", "app_secret"),
        lambda f, url, oid, lose=False: f.push_paid(url, oid, lose=lose),
        lambda f, url, rid, lose=False: f.push_refund_success(url, rid, lose=lose), _douyin_forge,
        b'{"code":0,"msg":"success"}'),
    "kuaishou_shop": PlatformCase(
        "kuaishou_shop", "kuaishou", FakeKuaishouShop, lambda f: SELLER_ID,
        lambda f: _creds(f, "app_key", "app_secret", "sign_secret", "message_key", "refresh_token"),
        lambda f, url, oid, lose=False: f.push_paid(url, oid, lose=lose),
        lambda f, url, rid, lose=False: f.push_refund(url, rid, lose=lose), _kuaishou_forge, b'{"result":1}',
        refund_sub=lambda order_id, sub_id: order_id),
    "wechat_shop": PlatformCase(
        "wechat_shop", "wechat_channels", FakeWechatShop, lambda f: f.app_id,
        lambda f: _creds(f, "app_id", "app_secret", "token", "encoding_aes_key"),
        lambda f, url, oid, lose=False: f.push_paid(url, oid, lose=lose),
        lambda f, url, rid, lose=False: f.push_aftersale(url, rid, lose=lose), _wechat_forge, b"success"),
    "youzan": PlatformCase(
        "youzan", "youzan", FakeYouzan, lambda f: f.kdt_id, lambda f: _creds(f, "client_id", "client_secret"),
        lambda f, url, oid, lose=False: f.push_paid(url, oid, lose=lose),
        lambda f, url, rid, lose=False: f.push_refund(url, rid, lose=lose), _youzan_forge,
        b'{"code":0,"msg":"success"}', names_hosts=False),
}


@dataclass
class Connected:
    """A stack, a fake platform and one connection between them."""

    stack: Stack
    case: PlatformCase
    fake: Any
    name: str
    worker: ConnectorWorker
    access: PlatformAccess
    _next_id: int = 0
    sent: list[SentPush] = field(default_factory=list)

    @property
    def runtime(self):
        return self.stack.runtime

    @property
    def push_url(self) -> str:
        return self.stack.base_url + service.push_path(self.name)

    def new_id(self) -> str:
        self._next_id += 1
        return f"{6920000000000000000 + self._next_id}"

    def order(self, fen: int, *, host: str | None, paid_at: float | None = None, quantity: int = 1) -> tuple[str, str]:
        """Seed a one-item order (快手 orders hold one item); (order id, sub-order id)."""
        order_id, sub_id = self.new_id(), self.new_id()
        item = SeedItem(sub_order_id=sub_id, sku_id=f"{3000 + self._next_id}", title="古丈毛尖 250g",
                        quantity=quantity, paid_fen=fen, host_id=host, host_name="茶妹小田" if host else None)
        now = int(time.time())
        self.fake.add_order(SeedOrder(order_id, [item], paid_at=int(paid_at or now - 120), updated_at=now))
        return order_id, sub_id

    def refund(self, order_id: str, sub_id: str, fen: int) -> str:
        refund_id = self.new_id()
        self.fake.add_refund(SeedRefund(refund_id=refund_id, order_id=order_id,
                                        sub_order_id=self.case.refund_sub(order_id, sub_id), refunded_fen=fen,
                                        quantity=1, done=True, updated_at=int(time.time())))
        return refund_id

    def push_paid(self, order_id: str, *, lose: bool = False) -> SentPush:
        push = self.case.push_paid(self.fake, self.push_url, order_id, lose=lose)
        self.sent.append(push)
        return push

    def push_refund(self, refund_id: str) -> SentPush:
        push = self.case.push_refund(self.fake, self.push_url, refund_id)
        self.sent.append(push)
        return push

    def repush(self, push: SentPush) -> requests.Response:
        """The platform's retry of a push: the very same request again."""
        return requests.request(push.method, push.url, params=push.query, data=push.body, headers=push.headers,
                                timeout=10)

    def enrich(self) -> None:
        """Take in and enrich what is due now (what waits out a backoff stays pending)."""
        self.worker.run_until_idle()

    def enrich_all(self, rounds: int = 10) -> None:
        """Enrich until nothing is pending: on a loaded machine the log or the config store can time
        out now and then, and the message waits out its backoff (the clock skips it)."""
        self.enrich()
        for _ in range(rounds):
            if self.status().pending == 0:
                return
            self.stack.clock.advance(61)
            self.enrich()
        raise AssertionError(f"still pending: {self.status()}")

    def raw_count(self) -> int:
        return self.runtime.event_log.count(self.stack.settings.connector_raw_topic)

    def board(self, board: str, campaign: str = CAMPAIGN) -> dict[str, int]:
        snap = snapshots.latest(self.stack.sessions, campaign, board, "campaign", campaign)
        return {e["id"]: e["net_gmv_fen"] for e in snap.entries} if snap else {}

    def settle(self, events: int) -> None:
        """Writer until `events` distinct events are stored, then one ranking run."""
        self.stack.drain(events)
        run_rankings(self.runtime)

    def status(self):
        info = service.store.get_connection(self.stack.sessions, self.name)
        return service.store.status_of(self.stack.sessions, [info.id])[info.id]

    def close(self) -> None:
        self.worker.close()
        self.fake.stop()
        self.stack.close()


def register(stack: Stack, event_platform: str) -> None:
    today = datetime.now(SHANGHAI).date()
    registry.upsert_campaign(stack.sessions, slug=CAMPAIGN, name="千村千红·当期", first_day=today - timedelta(days=2),
                             last_day=today + timedelta(days=5), status="active")
    registry.upsert_campaign(stack.sessions, slug=PAST_CAMPAIGN, name="千村千红·上期",
                             first_day=today - timedelta(days=40), last_day=today - timedelta(days=20), status="active")
    report = import_participants(stack.sessions, [
        {"kind": "enterprise", "id": "E1", "name": "古丈毛尖茶业有限公司", "county": "433126", "accounts": ""},
        {"kind": "host", "id": "H1", "name": "茶妹小田", "county": "433126",
         "accounts": f"{event_platform}:{HOST_ACCOUNT}"},
    ])
    assert report.bad_rows == 0, report.errors


def connect(mode: str, platform: str, tmp_path, request, *, rate_limit: float = 200.0, threads: int = 4,
            **overrides: Any) -> Connected:
    case = CASES[platform]
    stack = build_stack(mode, tmp_path, request, **connector_topics(), **overrides)
    fake = case.make().start()
    register(stack, case.event_platform)
    name = f"{platform.replace('_', '-')}-e1"
    service.create(stack.sessions, stack.runtime.secrets, platform=platform, name=name, shop_id=case.shop_id(fake),
                   enterprise_id="E1", campaigns=[CAMPAIGN, PAST_CAMPAIGN], county="433126",
                   credentials=case.credentials(fake), api_base_url=fake.url, rate_limit_per_second=rate_limit)
    worker = ConnectorWorker(stack.runtime, threads=threads)
    return Connected(stack, case, fake, name, worker, PlatformAccess(stack.runtime))
