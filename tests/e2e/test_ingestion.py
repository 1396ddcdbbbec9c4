"""Issue 2's promises, over real HTTP into real Kafka + ClickHouse, and through the embedded default."""
from __future__ import annotations

import base64
import threading
import time
from datetime import datetime, timezone

import orjson
import pytest
import requests

from eventlog.base import Record
from liveboard.sender import sign_headers
from schemas import envelope
from tests.security.fuzz_embedded import raw_signed_headers
from tests.support import order_event

pytestmark = pytest.mark.e2e
CAMPAIGN = "qcqh-test"


def _post_raw(stack, body: bytes, headers: dict) -> requests.Response:
    return requests.post(f"{stack.base_url}/v1/webhooks/{stack.source}", data=body, headers=headers, timeout=30)


def _signed(stack, payload) -> tuple[bytes, dict]:
    body = orjson.dumps(payload)
    return body, sign_headers(stack.secret, body)


def test_signed_webhooks_land_once_to_the_fen(stack):
    singles = [order_event(campaign=CAMPAIGN, host=f"H{i % 7}", enterprise=f"E{i % 3}", amount_fen=1999 + i * 37)
               for i in range(40)]
    batch = [order_event(campaign=CAMPAIGN, host=f"H{i % 5}", enterprise="E9", amount_fen=100 * i + 1,
                         quantity=1 + i % 3, buyer=f"b{i % 11}") for i in range(300)]
    refunds = [order_event(campaign=CAMPAIGN, host=e["host"], enterprise=e["enterprise"], event_type="order.refunded",
                           amount_fen=e["amount_fen"] // 2 + 1, order_id=e["order_id"], quantity=0) for e in batch[:20]]
    for event in singles:
        response = stack.sender.post(event)
        assert response.status_code == 202, response.text
        assert response.json() == {"accepted": 1, "rejected": 0, "event_ids": [event["event_id"]]}
    response = stack.sender.post({"events": batch})
    assert response.status_code == 202 and response.json()["accepted"] == 300
    # repeats: a single event re-sent, a whole batch redelivered, and a repeat inside one batch
    assert stack.sender.post(singles[0]).status_code == 202
    assert stack.sender.post({"events": batch[:100]}).status_code == 202
    response = stack.sender.post({"events": refunds + refunds[:5]})
    assert response.status_code == 202 and response.json()["accepted"] == 25

    unique = singles + batch + refunds
    stack.drain(len(unique))
    paid = sum(e["amount_fen"] for e in unique if e["type"] == "order.paid")
    refunded = sum(e["amount_fen"] for e in refunds)
    totals = stack.reconcile()
    assert totals["raw"][CAMPAIGN] == {"events": 360, "paid_orders": 340, "refunds": 20, "paid_fen": paid,
                                       "refunded_fen": refunded, "net_gmv_fen": paid - refunded}
    assert totals["aggregate"][CAMPAIGN]["net_gmv_fen"] == paid - refunded
    assert totals["matches"] is True
    (rows,) = stack.store.query("SELECT count() FROM {db}.sales_events")[0],
    assert rows == (360,)  # the writer never inserted a repeat, even before merges
    # extra fields survive in the stored raw payload
    extra = order_event(campaign=CAMPAIGN, host="H1", enterprise="E1", amount_fen=500, live_room="直播间-88")
    assert stack.sender.post(extra).status_code == 202
    stack.drain(361)
    (raw,) = stack.store.query("SELECT raw FROM {db}.sales_events WHERE event_id = %(id)s",
                               {"id": extra["event_id"]})[0]
    assert orjson.loads(raw)["live_room"] == "直播间-88"


def _error(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_every_rejection_is_documented_json_and_stores_nothing(stack):
    good = order_event(campaign=CAMPAIGN, host="H1", enterprise="E1", amount_fen=1000)
    body, headers = _signed(stack, good)
    url_unknown = f"{stack.base_url}/v1/webhooks/no-such-source"

    bad_sig = dict(headers, **{"webhook-signature": sign_headers("whsec_" + base64.b64encode(b"x" * 32).decode(),
                                                                 body, msg_id=headers["webhook-id"],
                                                                 timestamp=float(headers["webhook-timestamp"]))[
        "webhook-signature"]})
    stale = sign_headers(stack.secret, body, timestamp=time.time() - 6 * 60)
    future = sign_headers(stack.secret, body, timestamp=time.time() + 6 * 60)
    tampered = body.replace(b'"amount_fen":1000', b'"amount_fen":9000')
    cases = {
        "bad signature": (_post_raw(stack, body, bad_sig), (401, "invalid_signature")),
        "stale timestamp": (_post_raw(stack, body, stale), (401, "stale_timestamp")),
        "future timestamp": (_post_raw(stack, body, future), (401, "stale_timestamp")),
        "tampered body": (_post_raw(stack, tampered, headers), (401, "invalid_signature")),
        "missing headers": (_post_raw(stack, body, {"content-type": "application/json"}), (401, "missing_signature")),
        "unknown source": (requests.post(url_unknown, data=body, headers=headers), (401, "unknown_source")),
        "not json content type": (_post_raw(stack, body, dict(headers, **{"content-type": "text/plain"})),
                                  (415, "unsupported_media_type")),
    }
    malformed = b'{"event_id": "x", "type": '
    cases["malformed json"] = (_post_raw(stack, malformed, sign_headers(stack.secret, malformed)), (400, "invalid_json"))
    nan_body = b'{"amount_fen": NaN}'
    cases["NaN"] = (_post_raw(stack, nan_body, sign_headers(stack.secret, nan_body)), (400, "invalid_json"))
    wrong_types = dict(good, event_id="wt-1", amount_fen="1000", quantity=1.5)
    cases["wrong types"] = (_post_raw(stack, *_signed(stack, wrong_types)), (400, "invalid_event"))
    negative = dict(good, event_id="neg-1", amount_fen=-1)
    cases["negative amount"] = (_post_raw(stack, *_signed(stack, negative)), (400, "invalid_event"))
    huge = orjson.dumps({"events": [dict(good, event_id=f"big-{i}", note="湘" * 2000) for i in range(200)]})
    cases["oversize body"] = (_post_raw(stack, huge, sign_headers(stack.secret, huge)), (413, "payload_too_large"))
    too_many = {"events": [dict(good, event_id=f"many-{i}") for i in range(501)]}
    cases["batch over 500"] = (_post_raw(stack, *_signed(stack, too_many)), (413, "batch_too_large"))

    for name, (response, expected) in cases.items():
        assert _error(response) == expected, name
        assert response.headers["content-type"] == "application/json", name
        assert response.json()["error"]["message"], name  # a Chinese message for people

    wrong = cases["wrong types"][0].json()["error"]["details"]
    assert {(d["field"], d["code"]) for d in wrong} == {("amount_fen", "type"), ("quantity", "type")}
    assert cases["negative amount"][0].json()["error"]["details"] == [
        {"field": "amount_fen", "code": "minimum", "message": "数值过小"}]
    assert cases["bad signature"][0].json() == {"error": {"code": "invalid_signature", "message": "签名无效"}}

    # nothing of the above reached the log: a good event afterwards is the only one stored
    assert _post_raw(stack, body, sign_headers(stack.secret, body)).status_code == 202
    stack.drain(1)
    assert stack.store.query("SELECT event_id FROM {db}.sales_events") == [(good["event_id"],)]


def test_timestamps_signature_lists_and_replays(stack):
    """webhook-timestamp is ASCII digits or invalid_timestamp; a malformed webhook-signature entry
    does not hide a valid one after it; a replay (same webhook-id and body) is answered 202 once
    more, marked, and not appended again."""
    log = stack.runtime.event_log

    def appended() -> int:
        return log.count(log.sales_topic)

    event = order_event(campaign=CAMPAIGN, host="H1", enterprise="E1", amount_fen=4321)
    body, headers = _signed(stack, event)
    now = str(int(time.time()))
    arabic = now.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    fullwidth = now.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    odd = {"exponent": "1e9", "now as exponent": f"{now[0]}.{now[1:]}e{len(now) - 1}", "hex": "0x10",
           "fraction": f"{now}.5", "sign": f"+{now}", "negative": "-5",
           "Arabic-Indic digits": arabic.encode(), "fullwidth digits": fullwidth.encode(),
           "underscores": f"{now[:4]}_{now[4:]}", "NaN": "NaN"}
    refused = {}
    for name, value in odd.items():
        # signed over the same text, so only the timestamp's form can be what is refused
        text = value.decode() if isinstance(value, bytes) else value
        signed = raw_signed_headers(stack.secret, body, msg_id=headers["webhook-id"], timestamp=text)
        response = _post_raw(stack, body, dict(signed, **{"webhook-timestamp": value}))
        refused[name] = _error(response)
    assert set(refused.values()) == {(401, "invalid_timestamp")}, refused
    assert appended() == 0

    valid = headers["webhook-signature"]
    stale_key = "whsec_" + base64.b64encode(b"k" * 32).decode()
    other = sign_headers(stale_key, body, msg_id=headers["webhook-id"],
                         timestamp=float(headers["webhook-timestamp"]))["webhook-signature"]
    lists = {"no comma first": f"garbage {valid}", "bad base64 first": f"v1,!!!notbase64 {valid}",
             "other version first": f"v2,abc {valid}", "empty entry first": f"v1, {valid}",
             "three commas first": f"v1,a,b {valid}", "another key first": f"{other} {valid}",
             "double spaces, garbage after": f"v9,x  {valid}   garbage"}
    outcomes = {name: _post_raw(stack, body, dict(headers, **{"webhook-signature": value})).status_code
                for name, value in lists.items()}
    assert outcomes == dict.fromkeys(lists, 202), outcomes
    assert _error(_post_raw(stack, body, dict(headers, **{"webhook-signature": f"garbage {other}"}))) == \
        (401, "invalid_signature")
    # the first of those was appended; every later one repeated its webhook-id and body: replays
    assert appended() == 1

    first = stack.sender.post({"events": [event, dict(event, event_id=event["event_id"] + "-b")]})
    assert first.status_code == 202 and "replayed" not in first.json()
    again_body, again_headers = first.request.body, dict(first.request.headers)
    replay = _post_raw(stack, again_body, again_headers)
    assert replay.status_code == 202 and replay.json() == {**first.json(), "replayed": True}
    assert appended() == 1 + 2
    # the same webhook-id with another body is no replay: it is checked and appended as usual
    changed = orjson.dumps(dict(event, event_id=event["event_id"] + "-c"))
    resigned = raw_signed_headers(stack.secret, changed, msg_id=again_headers["webhook-id"],
                                  timestamp=again_headers["webhook-timestamp"])
    response = _post_raw(stack, changed, resigned)
    assert response.status_code == 202 and "replayed" not in response.json()
    assert appended() == 1 + 2 + 1
    print(f"\n[webhooks] {stack.mode}: {len(odd)} timestamp forms refused as invalid_timestamp; "
          f"{len(lists)} signature lists with a malformed entry around the valid one accepted; "
          f"replays answered without an append: {len(lists) - 1 + 1}; records appended {appended()}")
    stack.drain(3)


def test_mixed_batch_accepts_valid_items_and_lists_every_outcome(stack):
    ok1 = order_event(campaign=CAMPAIGN, host="H1", enterprise="E1", amount_fen=100)
    ok2 = order_event(campaign=CAMPAIGN, host="H2", enterprise="E1", amount_fen=250)
    bad = dict(ok1, event_id="bad-county", county="43310")
    response = stack.sender.post({"events": [ok1, bad, ok2, "not an object"]})
    assert response.status_code == 202
    assert response.json() == {"accepted": 2, "rejected": 2, "results": [
        {"index": 0, "event_id": ok1["event_id"], "status": "accepted"},
        {"index": 1, "event_id": "bad-county", "status": "rejected",
         "errors": [{"field": "county", "code": "pattern", "message": "格式不正确"}]},
        {"index": 2, "event_id": ok2["event_id"], "status": "accepted"},
        {"index": 3, "event_id": None, "status": "rejected",
         "errors": [{"field": "$", "code": "type", "message": "事件必须是 JSON 对象"}]},
    ]}
    stack.drain(2)
    assert stack.reconcile()["raw"][CAMPAIGN]["paid_fen"] == 350


def test_rotated_secret_both_valid_and_revoked_source_gets_401(stack):
    from configstore.sources import revoke_source, rotate_secret

    event = order_event(campaign=CAMPAIGN, host="H1", enterprise="E1", amount_fen=100)
    new_secret = rotate_secret(stack.sessions, stack.source, box=stack.runtime.secrets)
    body = orjson.dumps(event)
    both = sign_headers(stack.secret, body)
    both["webhook-signature"] += " " + sign_headers(new_secret, body, msg_id=both["webhook-id"],
                                                    timestamp=float(both["webhook-timestamp"]))["webhook-signature"]
    stack.clock.advance(2.1)  # the source cache lives 2 s
    assert _post_raw(stack, body, sign_headers(new_secret, body)).status_code == 202
    assert _post_raw(stack, body, sign_headers(stack.secret, body)).status_code == 202  # old one still valid
    assert _post_raw(stack, body, both).status_code == 202
    revoke_source(stack.sessions, stack.source)
    stack.clock.advance(2.1)
    assert _error(_post_raw(stack, body, sign_headers(new_secret, body))) == (401, "unknown_source")


def test_poison_messages_reach_the_dead_letter_topic_and_the_writer_goes_on(stack):
    good = order_event(campaign=CAMPAIGN, host="H1", enterprise="E1", amount_fen=777)
    log = stack.runtime.event_log
    garbage = b"\xff\xfenot json at all"
    invalid = envelope.wrap(dict(good, event_id="poison-1", amount_fen=-5), source="x",
                            received_at=datetime.now(timezone.utc), webhook_id="m1")
    log.append(log.sales_topic, [Record(b"k", garbage), Record(b"k", invalid)])
    assert stack.sender.post(good).status_code == 202
    stack.drain(1)

    letters = _read_dead_letters(stack, expected=2)
    originals = sorted(base64.b64decode(l["original_b64"]) for l in letters)
    assert originals == sorted([garbage, invalid])
    reasons = {base64.b64decode(l["original_b64"]): l["reason"] for l in letters}
    assert reasons[garbage].startswith("JSONDecodeError")
    assert "amount_fen:minimum" in reasons[invalid]
    assert stack.reconcile()["raw"][CAMPAIGN]["paid_fen"] == 777


def _read_dead_letters(stack, expected: int) -> list[dict]:
    log = stack.runtime.event_log
    consumer = log.consumer("dlq-reader", log.dead_letter_topic)
    found, deadline = [], time.monotonic() + 30
    while len(found) < expected and time.monotonic() < deadline:
        found += [orjson.loads(r.value) for r in consumer.poll(100, 500)]
    consumer.close()
    assert len(found) == expected, found
    return found


def test_redelivery_after_kill9_of_the_writer_never_double_counts(crash_stack):
    stack = crash_stack
    events = [order_event(campaign=CAMPAIGN, host=f"H{i % 9}", enterprise="E1", amount_fen=1000 + i)
              for i in range(1200)]
    responses = stack.sender.post_batches(events, batch_size=200)
    assert [r.status_code for r in responses] == [202] * 6
    # the writer is killed (SIGKILL) right after its 1st insert, before committing: 3 times over
    for _ in range(3):
        child = stack.spawn_killed_writer(1, LIVEBOARD_CONSUMER_BATCH_ROWS="250")
        assert child.wait(timeout=300) == -9, child.stdout.read().decode()[-2000:]
    child = stack.spawn("consume", "--exit-when-idle", "3", LIVEBOARD_CONSUMER_BATCH_ROWS="250")
    assert child.wait(timeout=300) == 0, child.stdout.read().decode()[-2000:]
    totals = stack.reconcile()
    assert totals["raw"][CAMPAIGN]["events"] == 1200
    assert totals["raw"][CAMPAIGN]["paid_fen"] == sum(e["amount_fen"] for e in events)
    assert totals["aggregate"][CAMPAIGN]["paid_fen"] == sum(e["amount_fen"] for e in events)
    assert stack.raw_row_count() == 1200  # redelivered batches were dropped before insert, not merged away later


def test_clickhouse_outage_mid_stream_loses_nothing(scale_stack, clickhouse_service):
    stack = scale_stack
    first = [order_event(campaign=CAMPAIGN, host="H1", enterprise="E1", amount_fen=100 + i) for i in range(300)]
    second = [order_event(campaign=CAMPAIGN, host="H2", enterprise="E2", amount_fen=5000 + i) for i in range(300)]
    assert {r.status_code for r in stack.sender.post_batches(first)} == {202}
    stack.drain(300)
    clickhouse_service.kill()
    # the API keeps accepting (Kafka is up); the writer retries and commits nothing meanwhile
    assert {r.status_code for r in stack.sender.post_batches(second)} == {202}
    writer = stack.writer()
    writer.wait = lambda stop, seconds: stop.wait(min(seconds, 0.05))  # back off briefly: retries counted below
    stop = threading.Event()
    thread = threading.Thread(target=writer.run_once, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while writer.stats.store_retries < 2:  # two failed attempts at the same rows, nothing committed meanwhile
        assert thread.is_alive() and time.monotonic() < deadline
        time.sleep(0.05)
    assert thread.is_alive()
    clickhouse_service.restart()
    thread.join(timeout=60)
    assert not thread.is_alive()
    stack.drain(600)
    totals = stack.reconcile()["raw"][CAMPAIGN]
    assert totals["events"] == 600
    assert totals["paid_fen"] == sum(e["amount_fen"] for e in first + second)


def test_event_log_down_gives_503_with_retry_after(tmp_path, request):
    from tests.e2e.conftest import build_stack

    stack = build_stack("scale", tmp_path, request)
    try:
        stack.runtime.event_log.close()
        from eventlog.kafka_log import KafkaEventLog

        # a broker address with nothing listening: the producer cannot get acks
        stack.runtime.event_log = KafkaEventLog("127.0.0.1:1", stack.settings.sales_topic,
                                                stack.settings.dead_letter_topic)
        response = stack.sender.post(order_event(campaign=CAMPAIGN, host="H1", enterprise="E1", amount_fen=1))
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert response.json()["error"]["code"] == "event_log_unavailable"
    finally:
        stack.close()


def test_consume_creates_missing_topics_at_start(scale_stack, kafka_service):
    from kafka import KafkaAdminClient

    stack = scale_stack
    topic, dlq = stack.settings.sales_topic + "-fresh", stack.settings.dead_letter_topic + "-fresh"
    stack.settings = stack.settings.with_(sales_topic=topic, dead_letter_topic=dlq)
    child = stack.spawn("consume", "--exit-when-idle", "1")
    assert child.wait(timeout=120) == 0, child.stdout.read().decode()[-2000:]
    admin = KafkaAdminClient(bootstrap_servers=kafka_service.bootstrap_servers)
    try:
        described = {t["name"]: len(t["partitions"]) for t in admin.describe_topics([topic, dlq])}
    finally:
        admin.close()
    assert described == {topic: stack.settings.topic_partitions, dlq: 1}
