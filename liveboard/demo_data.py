"""A realistic, seeded Xiangxi data set: hosts, enterprises, products and a sales stream.

Deterministic for a given seed, so re-running the demo posts the same event ids (and the
pipeline counts them once). Also used by tests and benchmarks as a ready-made workload.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from domain.periods import SHANGHAI

COUNTIES = {
    "433101": "吉首市", "433122": "泸溪县", "433123": "凤凰县", "433124": "花垣县",
    "433125": "保靖县", "433126": "古丈县", "433127": "永顺县", "433130": "龙山县",
}
# One county, one product (一县一品): (sku, name, category, price in fen)
PRODUCTS = {
    "433101": [("JS-EGG-30", "湘西土鸡蛋 30枚", "eggs", 4590), ("JS-PEACH-5", "湘西桃 5斤", "fruit", 5990)],
    "433122": [("LX-PONKAN-10", "泸溪椪柑 10斤", "citrus", 3990), ("LX-NAVEL-10", "湘西脐橙 10斤", "citrus", 4990)],
    "433123": [("FH-KIWI-24", "凤凰猕猴桃 24枚", "kiwi", 6980), ("FH-LAROU-1", "湘西腊肉 1kg", "cured_meat", 12800)],
    "433124": [("HY-LAROU-2", "花垣腊肉 2kg", "cured_meat", 23800), ("HY-HONEY-1", "花垣土蜂蜜 1斤", "honey", 8800)],
    "433125": [("BJ-GOLDTEA-100", "保靖黄金茶 100g", "tea", 16800), ("BJ-GOLDTEA-250", "保靖黄金茶 250g", "tea", 36800)],
    "433126": [("GZ-MAOJIAN-100", "古丈毛尖 100g", "tea", 12800), ("GZ-MAOJIAN-250", "古丈毛尖 250g", "tea", 29800)],
    "433127": [("YS-KIWI-30", "永顺猕猴桃 30枚", "kiwi", 7990), ("YS-KIWI-GIFT", "永顺猕猴桃礼盒", "kiwi", 12990)],
    "433130": [("LS-LILY-500", "龙山百合 500g", "lily", 6800), ("LS-LILY-DRY", "龙山百合干 250g", "lily", 5200)],
}
PLATFORMS = ["douyin", "kuaishou", "taobao", "jd", "pinduoduo", "wechat_channels", "mango"]
_SURNAMES = "向彭田龙石吴杨张麻滕王李刘黄唐符梁瞿宋覃"
_GIVEN = ["阿妹", "小哥", "秀英", "春花", "建国", "翠翠", "金凤", "山妹", "二哥", "满妹", "桂香", "晓燕", "文军",
          "明亮", "小燕", "茶姑", "橘子哥", "果妹", "腊肉叔", "百合姐"]
_ENTERPRISE_WORDS = ["生态农业", "农产品", "电子商务", "茶业", "果业", "食品", "农业开发", "特产", "合作社", "供销"]


@dataclass(frozen=True)
class DemoHost:
    id: str
    name: str
    county: str
    platform: str
    account_id: str


@dataclass(frozen=True)
class DemoEnterprise:
    id: str
    name: str
    county: str
    credit_code: str


def participants(seed: int = 2020, hosts: int = 100, enterprises: int = 128) -> tuple[list[DemoHost], list[DemoEnterprise]]:
    rng = random.Random(seed)
    codes = list(COUNTIES)
    host_list, used = [], set()
    for i in range(hosts):
        county = codes[i % len(codes)]
        while True:
            name = f"{rng.choice(_SURNAMES)}{rng.choice(_GIVEN)}"
            if name not in used:
                used.add(name)
                break
            name = None
            if len(used) > 300:
                break
        platform = PLATFORMS[i % len(PLATFORMS)]
        host_list.append(DemoHost(f"H{i + 1:03d}", name or f"主播{i + 1:03d}", county, platform, f"{platform[:2]}{100000 + i}"))
    enterprise_list = []
    for i in range(enterprises):
        county = codes[i % len(codes)]
        word = _ENTERPRISE_WORDS[(i // len(codes)) % len(_ENTERPRISE_WORDS)]
        name = f"湘西{COUNTIES[county][:-1]}{word}有限公司" + ("" if i < 80 else f"（{i // 80 + 1}）")
        name = name if i < len(codes) * len(_ENTERPRISE_WORDS) else f"湘西{COUNTIES[county][:-1]}第{i}农产品有限公司"
        credit = f"91433{i:03d}MA4{rng.randrange(10**8):08d}"[:17] + "X"
        enterprise_list.append(DemoEnterprise(f"E{i + 1:03d}", name, county, credit))
    return host_list, enterprise_list


def participants_rows(hosts: list[DemoHost], enterprises: list[DemoEnterprise]) -> list[dict[str, str]]:
    """The same people as rows for configstore.participants_import (what a spreadsheet would hold)."""
    rows = [{"kind": "host", "id": h.id, "name": h.name, "county": h.county,
             "accounts": f"{h.platform}:{h.account_id}"} for h in hosts]
    year = datetime.now(SHANGHAI).year  # tax status is per year
    rows += [{"kind": "enterprise", "id": e.id, "name": e.name, "county": e.county, "credit_code": e.credit_code,
              f"依法纳税({year})": "是"} for e in enterprises]
    return rows


def sales_stream(hosts: list[DemoHost], enterprises: list[DemoEnterprise], *, campaign: str, first_day: date,
                 last_day: date, orders: int, seed: int = 7, refund_share: float = 0.06,
                 now: datetime | None = None) -> list[dict]:
    """Paid orders spread over the campaign days (never in the future), plus later refunds.

    Some hosts sell a lot more than others (a long tail), as on real platforms. Hosts post
    with their platform account id, which the registry resolves to the host.
    """
    rng = random.Random(seed)
    now = now or datetime.now(timezone.utc)
    start = datetime.combine(first_day, time(8), SHANGHAI)
    end = min(datetime.combine(last_day, time(23, 59), SHANGHAI), now.astimezone(SHANGHAI) - timedelta(minutes=1))
    span = max(60, int((end - start).total_seconds()))
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(hosts))]
    rng.shuffle(weights)
    by_county = {code: [e for e in enterprises if e.county == code] for code in COUNTIES}
    events = []
    for n in range(orders):
        host = rng.choices(hosts, weights)[0]
        enterprise = rng.choice(by_county[host.county])
        sku, name, category, price = rng.choice(PRODUCTS[host.county])
        quantity = rng.choices([1, 2, 3, 5], [70, 20, 7, 3])[0]
        occurred = start + timedelta(seconds=rng.randrange(span))
        event = {
            "event_id": f"{campaign}-{seed}-o{n:07d}", "type": "order.paid",
            "occurred_at": occurred.isoformat(timespec="seconds"), "platform": host.platform, "campaign": campaign,
            "host": host.account_id, "enterprise": enterprise.id, "order_id": f"{host.platform}-{seed}-{n:07d}",
            "product": {"sku": sku, "name": name, "category": category}, "county": host.county,
            "quantity": quantity, "amount_fen": price * quantity, "buyer": f"b{rng.randrange(orders // 2 + 1):06d}",
        }
        events.append(event)
        if rng.random() < refund_share:
            refund_at = min(occurred + timedelta(hours=rng.randrange(1, 72)), end)
            partial = rng.random() < 0.4
            events.append({**event, "event_id": f"{event['event_id']}-r", "type": "order.refunded",
                           "occurred_at": refund_at.isoformat(timespec="seconds"),
                           "refund_id": f"rf-{seed}-{n:07d}", "quantity": 0 if partial else quantity,
                           "amount_fen": event["amount_fen"] // 2 if partial else event["amount_fen"]})
    return events
