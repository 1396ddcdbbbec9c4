"""A realistic, seeded Xiangxi data set: hosts, enterprises, products and a sales stream.

Deterministic for a given seed, so re-running the demo posts the same event ids (and the
pipeline counts them once). Also used by tests and benchmarks as a ready-made workload.

The names follow the place: each county sells what it is known for (一县一品: 古丈毛尖, 保靖黄金茶,
龙山百合, 泸溪椪柑, 永顺猕猴桃, 花垣腊肉, ...), its enterprises are named after its towns and
villages and what they sell, and hosts are people of the prefecture (土家族 and 苗族 surnames) or go
by the handles livestream hosts use. Sales follow livestream hours, with the launch evening (the
first day from 19:30) the busiest of the campaign.
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
    "433124": [("HY-LAROU-2", "花垣腊肉 2kg", "cured_meat", 23800), ("HY-EGG-40", "湘西土鸡蛋 40枚", "eggs", 5980)],
    "433125": [("BJ-GOLDTEA-100", "保靖黄金茶 100g", "tea", 16800), ("BJ-GOLDTEA-250", "保靖黄金茶 250g", "tea", 36800)],
    "433126": [("GZ-MAOJIAN-100", "古丈毛尖 100g", "tea", 12800), ("GZ-MAOJIAN-250", "古丈毛尖 250g", "tea", 29800)],
    "433127": [("YS-KIWI-30", "永顺猕猴桃 30枚", "kiwi", 7990), ("YS-KIWI-GIFT", "永顺猕猴桃礼盒", "kiwi", 12990)],
    "433130": [("LS-LILY-500", "龙山百合 500g", "lily", 6800), ("LS-LILY-DRY", "龙山百合干 250g", "lily", 5200)],
}
PLATFORMS = ["douyin", "kuaishou", "taobao", "jd", "pinduoduo", "wechat_channels", "mango"]

# Towns and villages of each county, and the trades its enterprises name themselves after.
_PLACES = {
    "433101": ["乾州", "矮寨", "马颈坳", "河溪", "丹青", "太平", "己略", "寨阳", "德夯", "峒河"],
    "433122": ["浦市", "武溪", "兴隆场", "潭溪", "达岚", "合水", "洗溪", "白沙", "解放岩", "小章"],
    "433123": ["沱江", "廖家桥", "阿拉营", "山江", "禾库", "腊尔山", "吉信", "千工坪", "麻冲", "竿子坪"],
    "433124": ["边城", "十八洞", "双龙", "龙潭", "民乐", "吉卫", "雅酉", "长乐", "麻栗场", "石栏"],
    "433125": ["迁陵", "葫芦", "吕洞山", "毛沟", "清水坪", "复兴", "比耳", "水田河", "夯沙", "黄金村"],
    "433126": ["古阳", "默戎", "红石林", "断龙山", "高峰", "岩头寨", "坪坝", "牛角山", "翁草", "高望界"],
    "433127": ["灵溪", "芙蓉镇", "石堤", "首车", "泽家", "砂坝", "高坪", "松柏", "小溪", "塔卧"],
    "433130": ["民安", "里耶", "洗车河", "苗儿滩", "茨岩塘", "洛塔", "靛房", "石牌", "红岩溪", "八面山"],
}
_TRADES = {
    "433101": ["土鸡蛋", "生态养殖", "鲜桃", "果蔬", "农产品", "电子商务"],
    "433122": ["椪柑", "柑橘", "脐橙", "果业", "农产品", "电子商务"],
    "433123": ["猕猴桃", "腊味", "苗家食品", "果业", "特产", "电子商务"],
    "433124": ["腊肉", "苗家腊味", "土鸡蛋", "生态养殖", "食品", "电子商务"],
    "433125": ["黄金茶", "茶业", "茶叶", "生态农业", "茶旅", "电子商务"],
    "433126": ["毛尖茶", "茶业", "茶叶", "生态农业", "茶旅", "电子商务"],
    "433127": ["猕猴桃", "果业", "生态农业", "特产", "农产品", "电子商务"],
    "433130": ["百合", "百合产业", "农业开发", "生态农业", "特产", "电子商务"],
}
_FLAVOURS = ["", "", "", "生态", "绿源", "山韵", "苗乡", "土家", "云雾", "香伴", "兴农", "丰源"]
_FORMS = [("有限公司", 5), ("有限责任公司", 1), ("专业合作社", 2), ("农民专业合作社", 1)]
_SURNAMES = "向彭田龙石吴杨张麻滕王李刘黄唐符梁瞿宋覃粟隆施欧贾秧"
_GIVEN = ["秀英", "春花", "建国", "翠翠", "金凤", "桂香", "晓燕", "文军", "明亮", "海燕", "丽萍", "志强", "红梅",
          "玉兰", "德胜", "小芳", "云霞", "家豪", "思琪", "雨桐", "俊杰", "兰英", "光明", "永红", "凤英", "学文",
          "秋菊", "春燕", "阿妹", "满妹", "二妹", "小龙", "清平", "安琪"]
_HANDLE_PLACES = ["湘西", "苗家", "土家"]  # or the host's own county or town
_HANDLE_ROLES = ["阿妹", "幺妹", "小龙", "阿哥", "二姐", "三妹"]
_PRODUCT_ROLES = {  # what a host is called after what the county sells
    "433101": ["蛋哥", "桃妹"], "433122": ["橘子哥", "椪柑妹"], "433123": ["猕猴桃哥", "腊肉哥"],
    "433124": ["腊肉哥", "土鸡蛋姐"], "433125": ["茶姐", "黄金茶妹"], "433126": ["茶妹", "毛尖姐"],
    "433127": ["果哥", "猕猴桃妹"], "433130": ["百合姐", "百合哥"],
}
HANDLE_SHARE = 0.3  # hosts known by a livestream handle rather than their name
MAX_ENTERPRISE_NAME = 15  # characters: what a board row shows without cutting


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


def _host_name(rng: random.Random, county: str, used: set[str]) -> str:
    places = _HANDLE_PLACES + [COUNTIES[county][:-1]] + _PLACES[county][:3]
    roles = _HANDLE_ROLES + _PRODUCT_ROLES[county] * 2
    while True:
        if rng.random() < HANDLE_SHARE:
            name = f"{rng.choice(places)}{rng.choice(roles)}"
        else:
            name = f"{rng.choice(_SURNAMES)}{rng.choice(_GIVEN)}"
        if name not in used:  # ~1,200 names to draw 100 from: a handful of redraws at most
            used.add(name)
            return name


def _enterprise_name(rng: random.Random, county: str, used: set[str]) -> str:
    county_name = COUNTIES[county]
    forms, weights = zip(*_FORMS, strict=False)
    while True:
        trade = rng.choice(_TRADES[county])
        form = rng.choices(forms, weights)[0]
        if trade == "电子商务" and "合作社" in form:
            continue  # cooperatives are named for what they grow
        prefix = county_name if rng.random() < 0.55 else "湘西"
        flavour = rng.choice(_FLAVOURS)
        if flavour and flavour in trade:
            continue  # no 生态生态农业
        name = f"{prefix}{rng.choice(_PLACES[county])}{flavour}{trade}{form}"
        if len(name) <= MAX_ENTERPRISE_NAME and name not in used:
            used.add(name)
            return name


_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # the code's characters: no I, O, S, V, Z


def _credit_code(rng: random.Random, county: str) -> str:
    """A well-formed 18-character unified social credit code registered in the county."""
    return f"9{rng.choice('123')}{county}MA" + "".join(rng.choice(_CREDIT_ALPHABET) for _ in range(8))


def participants(seed: int = 2020, hosts: int = 100, enterprises: int = 128) -> tuple[list[DemoHost], list[DemoEnterprise]]:
    rng = random.Random(seed)
    codes = list(COUNTIES)
    host_list: list[DemoHost] = []
    used: set[str] = set()
    for i in range(hosts):
        county = codes[i % len(codes)]
        platform = PLATFORMS[i % len(PLATFORMS)]
        host_list.append(DemoHost(f"H{i + 1:03d}", _host_name(rng, county, used), county, platform,
                                  f"{platform[:2]}{100000 + i}"))
    enterprise_list, used = [], set()
    for i in range(enterprises):
        county = codes[i % len(codes)]
        enterprise_list.append(DemoEnterprise(f"E{i + 1:03d}", _enterprise_name(rng, county, used), county,
                                              _credit_code(rng, county)))
    return host_list, enterprise_list


def participants_rows(hosts: list[DemoHost], enterprises: list[DemoEnterprise]) -> list[dict[str, str]]:
    """The same people as rows for configstore.participants_import (what a spreadsheet would hold)."""
    rows = [{"kind": "host", "id": h.id, "name": h.name, "county": h.county,
             "accounts": f"{h.platform}:{h.account_id}"} for h in hosts]
    year = datetime.now(SHANGHAI).year  # tax status is per year
    rows += [{"kind": "enterprise", "id": e.id, "name": e.name, "county": e.county, "credit_code": e.credit_code,
              f"依法纳税({year})": "是"} for e in enterprises]
    return rows


# Livestream hours (Beijing): quiet mornings, a lunch bump, the evening shows from 19:00.
_HOUR_WEIGHTS = [1, 1, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 8, 7, 5, 5, 5, 6, 8, 14, 20, 22, 18, 8]
LAUNCH_EVENING_SHARE = 0.12  # of all orders: the opening show on the first evening
_LAUNCH_EVENING = (time(19, 30), time(22, 30))


def _moment(rng: random.Random, first_day: date, start: datetime, end: datetime) -> datetime:
    """When an order was paid: on the launch evening for LAUNCH_EVENING_SHARE of them, else any
    campaign day at livestream hours; never before `start` or after `end`."""
    if rng.random() < LAUNCH_EVENING_SHARE:
        opens = datetime.combine(first_day, _LAUNCH_EVENING[0], SHANGHAI)
        closes = datetime.combine(first_day, _LAUNCH_EVENING[1], SHANGHAI)
        moment = opens + timedelta(seconds=rng.randrange(int((closes - opens).total_seconds())))
    else:
        days = (end.date() - start.date()).days + 1
        day = start.date() + timedelta(days=rng.randrange(days))
        hour = rng.choices(range(24), _HOUR_WEIGHTS)[0]
        moment = datetime.combine(day, time(hour), SHANGHAI) + timedelta(seconds=rng.randrange(3600))
    return min(max(moment, start), end)


def sales_stream(hosts: list[DemoHost], enterprises: list[DemoEnterprise], *, campaign: str, first_day: date,
                 last_day: date, orders: int, seed: int = 7, refund_share: float = 0.06,
                 now: datetime | None = None) -> list[dict]:
    """Paid orders over the campaign days (never in the future), plus later refunds.

    Some hosts sell a lot more than others (a long tail), as on real platforms. Hosts post
    with their platform account id, which the registry resolves to the host.
    """
    rng = random.Random(seed)
    now = now or datetime.now(timezone.utc)
    start = datetime.combine(first_day, time(8), SHANGHAI)
    end = min(datetime.combine(last_day, time(23, 59), SHANGHAI), now.astimezone(SHANGHAI) - timedelta(minutes=1))
    end = max(end, start + timedelta(minutes=1))
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(hosts))]
    rng.shuffle(weights)
    by_county = {code: [e for e in enterprises if e.county == code] for code in COUNTIES}
    events = []
    for n in range(orders):
        host = rng.choices(hosts, weights)[0]
        enterprise = rng.choice(by_county[host.county])
        sku, name, category, price = rng.choice(PRODUCTS[host.county])
        quantity = rng.choices([1, 2, 3, 5], [70, 20, 7, 3])[0]
        occurred = _moment(rng, first_day, start, end)
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
                           "amount_fen": price * quantity // 2 if partial else price * quantity})
    return events
