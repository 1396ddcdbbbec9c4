"""Section "connectors": native platform pushes and their enrichment.

8   抖店 pushes (one signed paid-order message a request, the platform's own format and MD5
    ``event-sign``) on `liveboard serve` (gunicorn gthread, 2 workers × 8 threads, real Kafka):
    req/s, p50, p99 at each connection count of the HTTP section; limit: the trivial Flask endpoint
    (bench/trivial_app.py) under the same gunicorn set-up reading the same bodies. Every request
    carries a message id never sent before (a fresh pool per run, large enough for the run), so
    each one is verified and appended to the raw topic (acks=all), none answered from the
    endpoint's memory of ids it already took.
9   enrichment: `liveboard connect` (its own process) against a fake 抖店 open platform with the
    connection's API rate limit set: paid orders enriched per second (order detail fetched, mapped,
    appended to the sales topic), from the moment their verified messages are on the raw topic (all
    at once, as the endpoint writes them) to the last one done; limit: the configured rate (one API
    call per paid order).
"""
from __future__ import annotations

import json
import time
from hashlib import md5

from bench import loadgen, workload
from configstore.connections import status_of
from configstore.secretbox import SecretBox
from connectors import get_connector, service
from connectors import raw as raw_records
from connectors.service import push_path
from eventlog import open_event_log
from eventlog.base import Record
from operations.migrations import migrate_all
from tests.fakes.platforms.base import SeedItem, SeedOrder
from tests.fakes.platforms.douyin_shop import FakeDouyinShop

ENRICH_LIMIT = {"smoke": 20.0, "default": 50.0, "full": 50.0}  # API calls a second, as configured
ENRICH_ORDERS = {"smoke": 40, "default": 500, "full": 1000}
EXPECTED_RPS = 3000  # pool size = this × seconds × 1.2: fresh message ids for every request up to it


def _push_pool(fake: FakeDouyinShop, host: str, port: int, path: str, count: int, tag: str) -> list[bytes]:
    """Raw signed 抖店 paid-order pushes, each with its own msg_id."""
    pool = []
    for n in range(count):
        data = json.dumps({"p_id": 6930000000000000000 + n, "s_ids": [6930000000000000000 + n],
                           "shop_id": int(fake.shop_id), "order_status": 2, "pay_time": int(time.time()) - 60,
                           "pay_amount": 9900})
        body = json.dumps([{"tag": "101", "msg_id": f"bench-{tag}-{n}", "data": data}]).encode()
        sign = md5(fake.app_key.encode() + body + fake.app_secret.encode()).hexdigest()
        pool.append(loadgen.raw_request("POST", host, port, path, body, {
            "Content-Type": "application/json", "app-id": fake.app_key, "event-sign": sign}))
    return pool


def _done(sessions, connection_id: int) -> int:
    return status_of(sessions, [connection_id])[connection_id].done


def bench_connectors(run) -> None:
    mode = run.mode
    config_url, sessions = run.config_store("connectors")
    raw_topic, dlq = f"bench_{run.suffix}_connraw", f"bench_{run.suffix}_conndlq"
    settings = run.settings("connectors", config_url, connector_raw_topic=raw_topic,
                            connector_dead_letter_topic=dlq, connector_group=f"bench_{run.suffix}_connector",
                            connector_worker_threads=8).with_secret_key()
    run.topics += [raw_topic, dlq]
    migrate_all(settings)
    slug = f"conn-{run.suffix}"
    setup = workload.setup_campaign(sessions, slug)
    with FakeDouyinShop() as fake:
        limit = ENRICH_LIMIT[mode.name]
        info = service.create(sessions, SecretBox(settings.secrets_key), platform="douyin_shop", name="bench-dy",
                              shop_id=fake.shop_id, enterprise_id=setup["enterprises"][0].id, campaigns=[slug],
                              county="433126", credentials={"app_key": fake.app_key, "app_secret": fake.app_secret},
                              api_base_url=fake.url, rate_limit_per_second=limit)
        api, api_port = run.start_api("api-connectors", settings)
        trivial, trivial_port = run.start_trivial("trivial-connectors")
        host, path = "127.0.0.1", push_path(info.name)
        pool_size = int(EXPECTED_RPS * mode.http_seconds * 1.2)
        batch = iter(range(10**6))

        def pools() -> tuple[list[bytes], list[bytes]]:
            tag = f"{run.suffix}-{next(batch)}"
            ours = _push_pool(fake, host, api_port, path, pool_size, tag)
            # the trivial endpoint reads the very same bodies (its route is /v1/webhooks/<source>)
            theirs = [r.replace(f"POST {path} ".encode(), b"POST /v1/webhooks/bench ", 1)
                      .replace(f":{api_port}\r\n".encode(), f":{trivial_port}\r\n".encode(), 1) for r in ours]
            return ours, theirs

        warm_ours, warm_theirs = pools()
        loadgen.load(host, api_port, warm_ours[:300], connections=8, seconds=1)
        loadgen.load(host, trivial_port, warm_theirs[:300], connections=8, seconds=1)
        levels = []
        for connections in mode.http_levels:
            ours, base = [], []
            for _ in range(mode.runs):
                ours_pool, trivial_pool = pools()
                ours.append(loadgen.load(host, api_port, ours_pool, connections=connections,
                                         seconds=mode.http_seconds))
                base.append(loadgen.load(host, trivial_port, trivial_pool, connections=connections,
                                         seconds=mode.http_seconds))
            for result in ours + base:
                if result.requests == 0 or result.errors > 0.01 * result.requests:
                    raise RuntimeError(f"native pushes, {connections} connections: {result.errors} of "
                                       f"{result.requests} failed")
            repeats = max(0, max(r.requests for r in ours) - pool_size)
            run.add("8", f"native 抖店 push req/s, {connections} connections", "req/s", [r.rps for r in ours],
                    limit=[r.rps for r in base], limit_name="trivial Flask on the same gunicorn",
                    note=f"{repeats} requests repeated a message id" if repeats else "")
            run.add("8", f"native 抖店 push p50, {connections} connections", "ms", [r.p50_ms for r in ours],
                    limit=[r.p50_ms for r in base], limit_name="trivial Flask p50")
            run.add("8", f"native 抖店 push p99, {connections} connections", "ms", [r.p99_ms for r in ours],
                    limit=[r.p99_ms for r in base], limit_name="trivial Flask p99")
            levels.append({"connections": connections, "ours": [r.as_dict() for r in ours],
                           "trivial": [r.as_dict() for r in base]})
        run.details["connector_push"] = {"levels": levels, "pool_size": pool_size}
        run.children.stop(trivial)
        run.children.stop(api)

        # 9: enrichment at the configured limit, by `liveboard connect` in its own process. A raw topic
        # of its own: the pushes of 8 name orders the fake platform does not have.
        raw_topic, dlq = f"{raw_topic}_enrich", f"{dlq}_enrich"
        settings = settings.with_(connector_raw_topic=raw_topic, connector_dead_letter_topic=dlq,
                                  connector_group=f"bench_{run.suffix}_connector_enrich")
        run.topics += [raw_topic, dlq]
        migrate_all(settings)
        info = service.create(sessions, SecretBox(settings.secrets_key), platform="douyin_shop",
                              name="bench-dy-enrich", shop_id=fake.shop_id, enterprise_id=setup["enterprises"][0].id,
                              campaigns=[slug], county="433126",
                              credentials={"app_key": fake.app_key, "app_secret": fake.app_secret},
                              api_base_url=fake.url, rate_limit_per_second=limit)
        api, api_port = run.start_api("api-enrich", settings)
        worker = run.children.liveboard("connect", settings, "connect")
        push_url = f"http://{host}:{api_port}{push_path(info.name)}"

        events = open_event_log(settings, client_id="bench-connectors")
        douyin = get_connector("douyin_shop")

        def enrich(orders: list[str], *, over_http: bool = False) -> float:
            """Push these orders (over HTTP, or straight onto the raw topic as the endpoint would, all at
            once) and wait until the worker has enriched them all; seconds taken."""
            now = int(time.time())
            for n, order_id in enumerate(orders):
                fake.add_order(SeedOrder(order_id, [SeedItem(f"{int(order_id) + 50000}", f"{4000 + n % 50}",
                                                             "古丈毛尖 250g", 1, 9900, host_id="71001")],
                                         paid_at=now - 60, updated_at=now))
            records = []
            for order_id in orders if not over_http else ():
                push = fake.push_paid(push_url, order_id, lose=True)  # built and signed, not sent
                for message in douyin.verify_push(fake.credentials, "POST", push.headers, {}, push.body).messages:
                    records.append(Record(raw_records.key(info.name, message),
                                          raw_records.encode(info.name, message, time.time())))
            before = _done(sessions, info.id)
            started = time.perf_counter()
            if over_http:
                for order_id in orders:
                    if fake.push_paid(push_url, order_id).status != 200:
                        raise RuntimeError("a push for the enrichment run was refused")
            else:
                events.append(settings.connector_raw_topic, records)
            deadline = time.monotonic() + len(orders) / limit * 3 + 90
            while _done(sessions, info.id) - before < len(orders):
                if worker.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"enrichment did not finish: {_done(sessions, info.id) - before}/"
                                       f"{len(orders)}\n" + run.children.log_tail("connect"))
                time.sleep(0.05)
            return time.perf_counter() - started

        # the worker's start (imports, Kafka group join) and the first token are not the figure
        enrich([f"{6949000000000000000 + n}" for n in range(3)], over_http=True)
        rates = []
        per_run = ENRICH_ORDERS[mode.name]
        for r in range(mode.runs):
            orders = [f"{6950000000000000000 + r * 100000 + n}" for n in range(per_run)]
            rates.append(per_run / enrich(orders))
        calls = sorted(q["at"] for q in fake.requests if q["path"] == "/order/orderDetail")
        busiest = max(sum(1 for t in calls if s <= t < s + 1.0) for s in calls) if calls else 0
        run.add("9", f"enrichment orders/s at an API limit of {limit:g}/s ({per_run} orders)", "orders/s", rates,
                limit=limit, limit_name="the connection's configured API rate",
                note=f"busiest second: {busiest} order-detail calls")
        run.details["connector_enrichment"] = {"orders_per_run": per_run, "limit_per_second": limit,
                                               "rates": rates, "busiest_second_calls": busiest}
        events.close()
        run.children.stop(worker)
        run.children.stop(api)
