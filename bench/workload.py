"""The benchmark's workload: a campaign with the demo's 100 hosts and 128 enterprises, and
sales events shaped like liveboard.demo_data's (long-tail hosts, county products, refunds)."""
from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta, timezone

import orjson

from configstore import registry
from configstore.participants_import import import_participants
from configstore.secretbox import SecretBox
from configstore.sources import create_source
from liveboard.demo_data import (
    COUNTIES,
    PRODUCTS,
    SHANGHAI,
    participants,
    participants_rows,
)
from settings import Settings

PROBE_HOST_ID = "HPROBE"
PROBE_ACCOUNT = ("douyin", "probe-0001")

_ids = itertools.count()


def setup_campaign(sessions, slug: str, *, days_back: int = 13, days_ahead: int = 16, probe: bool = False) -> dict:
    """Register the campaign (active, today inside it) and its participants; returns a description."""
    today = datetime.now(timezone.utc).astimezone(SHANGHAI).date()
    campaign = registry.upsert_campaign(sessions, slug=slug, name=f"基准活动 {slug}",
                                        first_day=today - timedelta(days=days_back),
                                        last_day=today + timedelta(days=days_ahead), status="active")
    hosts, enterprises = participants()
    rows = participants_rows(hosts, enterprises)
    if probe:
        rows.append({"kind": "host", "id": PROBE_HOST_ID, "name": "探针主播", "county": "433101",
                     "accounts": f"{PROBE_ACCOUNT[0]}:{PROBE_ACCOUNT[1]}"})
    report = import_participants(sessions, rows)
    if report.bad_rows:
        raise RuntimeError(f"participant import failed: {report.errors[:3]}")
    return {"campaign": campaign, "hosts": hosts, "enterprises": enterprises}


def ensure_source(sessions, name: str, settings: Settings) -> str:
    """A new source; its secret sealed with the deployment's keys (those `settings` name)."""
    return create_source(sessions, name, "benchmark load", box=SecretBox(settings.with_secret_key().secrets_key))


class EventFactory:
    """Unique, valid sales events for `campaign`, occurring now-ish (Shanghai time)."""

    def __init__(self, campaign: str, hosts, enterprises, seed: int = 7, tag: str = "e"):
        self.campaign = campaign
        self.rng = random.Random(seed)
        self.hosts = hosts
        weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(hosts))]
        self.rng.shuffle(weights)
        self.cum = list(itertools.accumulate(weights))
        self.by_county = {code: [e for e in enterprises if e.county == code] for code in COUNTIES}
        self.tag = f"{tag}{seed}"
        self.open_orders: list[list] = []  # [paid event, unit price, units not refunded yet]

    def event(self, occurred: datetime | None = None) -> dict:
        """A paid order, or (6 %) a refund of part of an earlier order of this workload: refunds follow
        their order (same order_id, platform, host and enterprise, never more than is left of it)."""
        rng = self.rng
        n = next(_ids)
        occurred = occurred or datetime.now(SHANGHAI) - timedelta(seconds=rng.randrange(0, 3600))
        if self.open_orders and rng.random() < 0.06:
            return self._refund(n, occurred)
        host = rng.choices(self.hosts, cum_weights=self.cum)[0]
        enterprise = rng.choice(self.by_county[host.county])
        sku, name, category, price = rng.choice(PRODUCTS[host.county])
        quantity = rng.choices([1, 2, 3, 5], [70, 20, 7, 3])[0]
        event = {
            "event_id": f"{self.campaign}-{self.tag}-{n:09d}", "type": "order.paid",
            "occurred_at": occurred.isoformat(timespec="seconds"), "platform": host.platform,
            "campaign": self.campaign, "host": host.account_id, "enterprise": enterprise.id,
            "order_id": f"{host.platform}-{self.tag}-{n:09d}", "product": {"sku": sku, "name": name, "category": category},
            "county": host.county, "quantity": quantity, "amount_fen": price * quantity,
            "buyer": f"b{rng.randrange(1_000_000):06d}",
        }
        self.open_orders.append([event, price, quantity])
        if len(self.open_orders) > 1000:
            self.open_orders.pop(0)
        return event

    def _refund(self, n: int, occurred: datetime) -> dict:
        index = self.rng.randrange(len(self.open_orders))
        order, price, quantity_left = self.open_orders[index]
        units = self.rng.randint(1, quantity_left)
        if units == quantity_left:
            self.open_orders.pop(index)
        else:
            self.open_orders[index][2] -= units
        refunded_at = max(occurred, datetime.fromisoformat(order["occurred_at"]))
        return {**order, "event_id": f"{self.campaign}-{self.tag}-{n:09d}", "type": "order.refunded",
                "occurred_at": refunded_at.isoformat(timespec="seconds"), "quantity": units,
                "amount_fen": price * units, "refund_id": f"rf-{self.tag}-{n:09d}"}
    def events(self, count: int) -> list[dict]:
        return [self.event() for _ in range(count)]

    def single_bodies(self, count: int) -> list[bytes]:
        return [orjson.dumps(e) for e in self.events(count)]

    def batch_bodies(self, count: int, size: int) -> list[bytes]:
        return [orjson.dumps({"events": self.events(size)}) for _ in range(count)]


def probe_event(campaign: str, k: int, tag: str) -> dict:
    """An order for the probe host large enough to keep it first on the board."""
    return {
        "event_id": f"{campaign}-probe-{tag}-{k:05d}", "type": "order.paid",
        "occurred_at": datetime.now(SHANGHAI).isoformat(timespec="seconds"), "platform": PROBE_ACCOUNT[0],
        "campaign": campaign, "host": PROBE_ACCOUNT[1], "enterprise": "E001",
        "order_id": f"probe-{tag}-{k:05d}", "product": {"sku": "JS-EGG-30", "name": "湘西土鸡蛋 30枚", "category": "eggs"},
        "county": "433101", "quantity": 1, "amount_fen": 1_000_000_000, "buyer": f"probe-buyer-{k}",
    }
