"""Property-based fuzzing of the webhook parser and signature check: malformed headers, content
types, huge bodies (with and without Content-Length), deep nesting, invalid UTF-8 in a correctly
signed body, NaN / Infinity literals, negative and overflowing amounts, far-future and far-past
times (in webhook-timestamp and in the event), replayed requests and reused signatures.

Runs the real Flask app over a real embedded event log (SQLite) and store (chDB). For every case:
no 5xx, a JSON reply; a rejection carries an error.code that /v1/openapi.json documents for that
status, and leaves the log as it was; a 202 appends exactly the accepted events. At the end the
writer drains the log: every accepted event is stored exactly once and nothing is dead-lettered.
"""
from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from backend.app import create_app
from backend.openapi import documented_errors
from configstore.sources import create_source
from liveboard.sender import sign_headers
from liveboard.wiring import build_writer
from operations.migrations import migrate_all
from tests.security.fuzz_embedded import embedded_settings, raw_signed_headers
from tests.support import order_event

DOCUMENTED = documented_errors("/v1/webhooks/{source_name}", "post")
MAX_BODY = 1024 * 1024  # Settings.webhook_max_body_bytes
MAX_AMOUNT = 100_000_000_000  # sales-event.schema.json: amount_fen maximum
CASES = {"count": 0}


@dataclass
class Fuzz:
    client: object  # the app's test client
    runtime: object  # services.runtime.Runtime
    secret: str
    accepted: list[str] = field(default_factory=list)  # every event id a 202 accepted
    writer: object = None

    @property
    def log(self):
        return self.runtime.event_log

    def log_size(self) -> int:
        return self.log.count(self.log.sales_topic)

    def post(self, body: bytes, headers: dict, **kwargs):
        return self.client.post("/v1/webhooks/fuzz", data=body, headers=headers, **kwargs)

    def check(self, response, before: int, expected: set[str] | None = None) -> dict:
        """The invariants every case must keep; `expected`: the codes (or "accepted") this case may get."""
        CASES["count"] += 1
        assert response.status_code < 500, response.data[:300]
        assert response.mimetype == "application/json", response.data[:300]
        body = response.get_json()
        if response.status_code == 202:
            assert expected is None or "accepted" in expected, body
            accepted = body["event_ids"] if "event_ids" in body else \
                [r["event_id"] for r in body["results"] if r["status"] == "accepted"]
            assert body["accepted"] == len(accepted) >= 1
            if body.get("replayed"):  # a webhook-id and body this process answered already
                assert self.log_size() == before
                return body
            assert self.log_size() == before + len(accepted)  # the accepted events, and only those
            self.accepted += accepted
            return body
        code = body["error"]["code"]
        assert code in DOCUMENTED[response.status_code], body
        assert expected is None or code in expected, body
        assert body["error"]["message"]
        assert self.log_size() == before  # nothing rejected was appended
        return body

    def send(self, body: bytes, headers: dict | None = None, expected: set[str] | None = None, **kwargs) -> dict:
        before = self.log_size()
        response = self.post(body, sign_headers(self.secret, body) if headers is None else headers, **kwargs)
        return self.check(response, before, expected)

    def stored(self, event_ids: list[str]) -> dict[str, int]:
        """Raw rows per event id in the store, once the writer has drained the log."""
        if self.writer is None:
            self.writer = build_writer(self.runtime.settings)
        while self.writer.run_once().consumed:
            pass
        # a refund of an order never sent waits, held, for that order (refunds follow their order)
        rows = self.runtime.store.query(
            "SELECT event_id, count() FROM (SELECT event_id FROM {db}.sales_events WHERE event_id IN %(ids)s "
            "UNION ALL SELECT event_id FROM {db}.pending_refunds FINAL WHERE event_id IN %(ids)s) GROUP BY event_id",
            {"ids": tuple(event_ids)})
        return {event_id: int(count) for event_id, count in rows}


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory):
    settings_ = embedded_settings(tmp_path_factory.mktemp("fuzz") / "data", consumer_batch_ms=50,
                                  consumer_group="fuzz-writer", webhook_rate_limit="")  # the parser, not the limiter
    migrate_all(settings_)
    app = create_app(settings_)
    secret = create_source(app.extensions["liveboard"].sessions, "fuzz", box=app.extensions["liveboard"].secrets)
    started = time.monotonic()
    fuzz_ = Fuzz(app.test_client(), app.extensions["liveboard"], secret)
    yield fuzz_
    if fuzz_.writer is not None:
        fuzz_.writer.close()
        fuzz_.writer.event_log.close()
    fuzz_.log.close()
    print(f"\n[fuzz] webhook cases tried: {CASES['count']} in {time.monotonic() - started:.0f} s")


def _event(**overrides) -> dict:
    return order_event(**{"campaign": "fuzz", "host": "H1", "enterprise": "E1", "amount_fen": 100, **overrides})


header_text = st.one_of(st.text(max_size=200), st.sampled_from(["", "v1,", "v1,!!!", "v2,abc", "v1,a,b", ",", " "]))
content_types = st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", "",
                                 "application/x-www-form-urlencoded", "application/json-seq", "APPLICATION/JSON"])
fuzz_settings = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                                   HealthCheck.too_slow,
                                                                                   HealthCheck.data_too_large])
few = settings(fuzz_settings, max_examples=40)


# -- malformed headers and content types ---------------------------------------------------------
@fuzz_settings
@given(webhook_id=header_text, timestamp=st.one_of(header_text, st.floats(allow_nan=True).map(str)),
       signature=header_text, body=st.binary(max_size=2000), content_type=content_types)
def test_malformed_headers_and_bodies(fuzz, webhook_id, timestamp, signature, body, content_type):
    headers = {"content-type": content_type} if content_type else {}
    for name, value in (("webhook-id", webhook_id), ("webhook-timestamp", timestamp), ("webhook-signature", signature)):
        if value and "\n" not in value and "\r" not in value:
            headers[name] = value
    fuzz.check(fuzz.post(body, headers), fuzz.log_size(), {"unsupported_media_type", "missing_signature",
                                                         "invalid_timestamp", "stale_timestamp", "invalid_encoding",
                                                         "invalid_signature"})


@few
@given(content_type=content_types)
def test_content_type_is_checked_before_anything_is_read(fuzz, content_type):
    body = orjson.dumps(_event())
    headers = {**sign_headers(fuzz.secret, body), "content-type": content_type}
    fuzz.send(body, headers, {"accepted"} if content_type.lower().startswith("application/json;") or
              content_type.lower() == "application/json" else {"unsupported_media_type"})


# -- arbitrary JSON and one bad field -------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20)


@fuzz_settings
@given(payload=json_values)
def test_signed_arbitrary_json(fuzz, payload):
    fuzz.send(json.dumps(payload).encode())


@fuzz_settings
@given(field=st.sampled_from(["amount_fen", "quantity", "occurred_at", "county", "event_id", "campaign", "type",
                              "platform", "product", "host"]),
       value=st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.text(max_size=50), st.none(),
                       st.booleans(), st.floats(), st.lists(st.integers(), max_size=3),
                       st.sampled_from(["9999-12-31T23:59:59+00:00", "1970-01-01T00:00:00Z",
                                        "2026-02-30T10:00:00+08:00",
                                        "2026-11-23T10:00:00", "2100-01-01T00:00:00+08:00",
                                        "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])))
def test_signed_events_with_one_bad_field(fuzz, field, value):
    event = _event()
    event[field] = value
    try:
        body = orjson.dumps(event)
    except (TypeError, orjson.JSONEncodeError):
        body = json.dumps(event).encode()  # NaN/Infinity/huge ints as Python's json writes them
    if fuzz.send(body).get("event_ids"):  # then the field really was valid: check it round-trips
        stored = orjson.loads(fuzz.log.read_all(fuzz.log.sales_topic)[-1].value)["event"]
        assert stored[field] == value


# -- invalid UTF-8, NaN and Infinity ---------------------------------------------------------------
invalid_utf8 = st.sampled_from([b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xa0\xa1", b"\xe2\x28\xa1", b"\xf0\x28\x8c\x28",
                                b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\xe0\x80\xaf",
                                b"\xf8\x88\x80\x80\x80",
                                b"\x80"])


@fuzz_settings
@given(bad=st.lists(invalid_utf8, min_size=1, max_size=3), where=st.floats(min_value=0, max_value=1),
       batch=st.booleans())
def test_invalid_utf8_in_a_correctly_signed_body(fuzz, bad, where, batch):
    text = orjson.dumps({"events": [_event(), _event()]} if batch else _event())
    cut = int(len(text) * where)
    body = text[:cut] + b"".join(bad) + text[cut:]
    fuzz.send(body, raw_signed_headers(fuzz.secret, body), {"invalid_encoding"})


number_literals = st.sampled_from(["NaN", "-NaN", "Infinity", "-Infinity", "+Infinity", "1e999", "-1e999", "1E400",
                                   "nan", "inf", "-inf", "Inf", "+1", "0x10", "1.", ".5", "01"])


@fuzz_settings
@given(literal=number_literals, batch=st.booleans(),
       field=st.sampled_from(["amount_fen", "quantity", "peak_viewers", "note", "product.price"]))
def test_nan_and_infinity_literals_are_invalid_json(fuzz, literal, field, batch):
    event = _event()
    target, key = (event["product"], "price") if field == "product.price" else (event, field)
    target[key] = "__NUMBER__"
    text = orjson.dumps({"events": [_event(), event]} if batch else event).decode()
    body = text.replace('"__NUMBER__"', literal).encode()
    fuzz.send(body, expected={"invalid_json"})


# -- amounts --------------------------------------------------------------------------------------
amounts_out_of_range = st.one_of(
    st.integers(max_value=-1),  # negative
    st.integers(min_value=MAX_AMOUNT + 1, max_value=2**63 - 1),  # over the contract's maximum
    st.integers(min_value=2**63, max_value=2**64 - 1),  # over int64 (orjson reads them as uint64)
    st.integers(min_value=2**64, max_value=2**200),  # over uint64 (orjson reads them as floats)
    st.integers(min_value=-(2**200), max_value=-(2**63)),  # under int64
)


@fuzz_settings
@given(amount=amounts_out_of_range, event_type=st.sampled_from(["order.paid", "order.refunded"]),
       form=st.sampled_from(["single", "batch", "mixed"]))
def test_negative_and_overflowing_amounts_are_rejected(fuzz, amount, event_type, form):
    bad = _event(event_type=event_type)
    bad["amount_fen"] = amount
    good = _event()
    payload = {"single": bad, "batch": {"events": [bad]}, "mixed": {"events": [good, bad]}}[form]
    body = fuzz.send(json.dumps(payload).encode(),
                     expected={"single": {"invalid_event"}, "batch": {"invalid_batch"}, "mixed": {"accepted"}}[form])
    errors = body["error"]["details"] if form == "single" else \
        (body.get("results") or body["error"]["details"])[-1]["errors"]
    assert {"field": "amount_fen", "code": "minimum" if amount < 0 else "maximum", "message": "数值过小" if amount < 0
            else "数值过大"} in errors
    if form == "mixed":
        assert (body["accepted"], body["rejected"]) == (1, 1)


@fuzz_settings
@given(amount=st.integers(min_value=0, max_value=MAX_AMOUNT),
       event_type=st.sampled_from(["order.paid", "order.refunded"]))
def test_amounts_in_range_are_accepted(fuzz, amount, event_type):
    expected = {"invalid_event"} if event_type == "order.refunded" and amount == 0 else {"accepted"}
    fuzz.send(orjson.dumps(_event(event_type=event_type, amount_fen=amount)), expected=expected)


# -- far-future and far-past times ----------------------------------------------------------------
def _far_header_timestamps(now: int):
    return st.one_of(
        st.integers(min_value=-(10**15), max_value=now - FAR_MARGIN_S).map(str),  # too old (to before 1970)
        st.integers(min_value=now + FAR_MARGIN_S, max_value=10**15).map(str),  # too new (past year 9999)
        st.integers(min_value=10**15, max_value=10**40).map(str),  # far past datetime's range
        st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: x != x or abs(x - now) > FAR_MARGIN_S).map(repr),
        st.sampled_from(["1e30", "-1e30", "inf", "-inf", "nan", "NaN", "0", "-0", "0x10", "1_700_000_000",
                         "１７００００００００", "17e8", "now", "2026-11-23T20:15:00+08:00"]))


# The clock is read once, when the test draws its first example (st.deferred), not when the module
# is collected (a long suite may run it many minutes later); a strategy that read the clock per
# example would change between Hypothesis' generation and replay. The margin outlasts the test.
FAR_MARGIN_S = 300 + 900


@fuzz_settings
@given(timestamp=st.deferred(lambda: _far_header_timestamps(int(time.time()))))
def test_far_timestamps_in_the_header_are_401(fuzz, timestamp):
    body = orjson.dumps(_event())
    fuzz.send(body, raw_signed_headers(fuzz.secret, body, timestamp=timestamp),
              {"stale_timestamp", "invalid_timestamp"})


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z") if moment.utcoffset() == timedelta(0) \
        else moment.isoformat(timespec="seconds")


offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
moments = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59), timezones=offsets),
    st.sampled_from([datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
                     datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(hours=1))),
                     datetime(2014, 12, 31, 23, 59, 59, tzinfo=timezone.utc),
                     datetime(1970, 1, 1, tzinfo=timezone.utc)]))


@fuzz_settings
@given(moment=moments, where=st.sampled_from(["occurred_at", "paid_at"]))
@example(moment=datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(hours=1))), where="occurred_at")
def test_far_future_and_past_times_in_the_event(fuzz, moment, where):
    """occurred_at outside 2015..now+1 day is an invalid_event naming the field; paid_at is an extra
    field, kept as sent."""
    event = _event()
    event[where] = _rfc3339(moment)
    body = fuzz.send(orjson.dumps(event))
    if where == "paid_at":
        assert body["event_ids"] == [event["event_id"]]
        stored = orjson.loads(fuzz.log.read_all(fuzz.log.sales_topic)[-1].value)["event"]
        assert stored["paid_at"] == event["paid_at"]
        return
    now = datetime.now(timezone.utc)
    plausible = datetime(2015, 1, 1, tzinfo=timezone.utc) <= moment <= now + timedelta(days=1) - timedelta(minutes=1)
    if plausible:
        assert body["event_ids"] == [event["event_id"]]
    elif not (now + timedelta(days=1) - timedelta(minutes=1) < moment <= now + timedelta(days=1)):  # not at the edge
        assert body["error"]["code"] == "invalid_event"
        assert {e["field"] for e in body["error"]["details"]} == {"occurred_at"}
        assert {e["code"] for e in body["error"]["details"]} <= {"too_old", "in_future", "out_of_range"}


def test_timestamp_tolerance_edges(fuzz):
    body = orjson.dumps(_event(amount_fen=1))
    now = time.time()
    fuzz.send(body, sign_headers(fuzz.secret, body, timestamp=now - 290), {"accepted"})
    fuzz.send(body, sign_headers(fuzz.secret, body, timestamp=now + 290), {"accepted"})
    late = fuzz.send(body, sign_headers(fuzz.secret, body, timestamp=now - 310), {"stale_timestamp"})
    assert late == {"error": {"code": "stale_timestamp", "message": "webhook-timestamp 与服务器时间相差超过 5 分钟"}}


# -- deep nesting and huge bodies -----------------------------------------------------------------
@settings(fuzz_settings, max_examples=60)
@given(depth=st.one_of(st.integers(min_value=1, max_value=300), st.integers(min_value=240, max_value=270),
                       st.integers(min_value=1000, max_value=1030), st.integers(min_value=1, max_value=5000)),
       kind=st.sampled_from(["array", "object", "mixed"]), where=st.sampled_from(["events", "extra_field", "top"]))
@example(depth=300, kind="array", where="extra_field")  # was a 500: orjson reads 1024 levels but writes 254
def test_deep_nesting(fuzz, depth, kind, where):
    openers, closers = [], []
    for level in range(depth):
        array = kind == "array" or (kind == "mixed" and level % 2)
        openers.append(b"[" if array else b'{"a":')
        closers.append(b"]" if array else b"}")
    inner = b"".join(openers) + b"1" + b"".join(reversed(closers))
    if where == "events":
        body = b'{"events": ' + inner + b"}"
    elif where == "extra_field":
        event = orjson.dumps(_event())
        body = event[:-1] + b', "extra": ' + inner + b"}"
    else:
        body = inner
    result = fuzz.send(body)
    if where == "extra_field" and 254 <= depth < 1023:  # readable, but too deep to write to the log
        assert result["error"]["details"] == [{"field": "$", "code": "too_deep", "message": "嵌套层级过深"}]


huge_sizes = st.one_of(st.integers(min_value=MAX_BODY - 4096, max_value=MAX_BODY),
                       st.integers(min_value=MAX_BODY + 1, max_value=MAX_BODY + 4096),
                       st.integers(min_value=MAX_BODY + 64 * 1024 - 64, max_value=MAX_BODY + 64 * 1024 + 64),
                       st.integers(min_value=2 * MAX_BODY, max_value=8 * MAX_BODY))


@settings(fuzz_settings, max_examples=16)
@given(size=huge_sizes, chunked=st.booleans())
def test_huge_bodies(fuzz, size, chunked):
    """Bodies up to 1 MiB are read (a valid batch is accepted); above it, with or without a
    Content-Length, the answer is payload_too_large and nothing is stored."""
    events = [_event() for _ in range(400)]
    skeleton = len(orjson.dumps({"events": events, "pad": ""}))
    assume(size >= skeleton)
    body = orjson.dumps({"events": events, "pad": "x" * (size - skeleton)})
    assert len(body) == size
    kwargs = {"input_stream": io.BytesIO(body), "environ_overrides": {"wsgi.input_terminated": True}} if chunked else {}
    headers = sign_headers(fuzz.secret, body)
    before = fuzz.log_size()
    response = fuzz.client.post("/v1/webhooks/fuzz", headers=headers, **kwargs) if chunked else fuzz.post(body, headers)
    fuzz.check(response, before, {"accepted"} if size <= MAX_BODY else {"payload_too_large"})


def test_batch_over_500_events_is_413(fuzz):
    fuzz.send(orjson.dumps({"events": [_event() for _ in range(501)]}), expected={"batch_too_large"})


# -- replays and reused signatures ----------------------------------------------------------------
@settings(fuzz_settings, max_examples=25)
@given(replays=st.integers(min_value=1, max_value=4), same_webhook_id=st.booleans(), batch=st.booleans(),
       duplicate_inside=st.booleans())
def test_replayed_requests_are_stored_once(fuzz, replays, same_webhook_id, batch, duplicate_inside):
    """The same request again (same webhook-id and signature, or re-signed): a 202 each time, the
    same event ids, and after the writer ran, one stored row per event id. The same webhook-id and
    body is recognised as a replay and not appended again."""
    events = [_event(), _event()] if batch else [_event()]
    if batch and duplicate_inside:
        events.append(dict(events[0]))
    body = orjson.dumps({"events": events} if batch else events[0])
    headers = sign_headers(fuzz.secret, body)
    first = fuzz.send(body, headers, {"accepted"})
    for _ in range(replays):
        again = fuzz.send(body, headers if same_webhook_id else sign_headers(fuzz.secret, body), {"accepted"})
        assert again == ({**first, "replayed": True} if same_webhook_id else first)
    ids = sorted({e["event_id"] for e in events})
    assert fuzz.stored(ids) == {event_id: 1 for event_id in ids}


body_edits = st.sampled_from(["append_space", "flip_byte", "change_amount", "drop_last_byte", "other_event",
                              "prepend_bom"])


@fuzz_settings
@given(edit=body_edits, position=st.floats(min_value=0, max_value=1), header_edit=st.sampled_from(
    ["none", "webhook_id", "timestamp", "second_signature_only_bad", "v2_prefix"]))
def test_a_signature_reused_on_another_body_or_headers_is_401(fuzz, edit, position, header_edit):
    original = orjson.dumps(_event())
    headers = sign_headers(fuzz.secret, original)
    body = original
    if edit == "append_space":
        body = original + b" "
    elif edit == "flip_byte":
        index = min(int(len(original) * position), len(original) - 1)
        body = original[:index] + bytes([original[index] ^ 0x01]) + original[index + 1:]
    elif edit == "change_amount":
        body = original.replace(b'"amount_fen":100', b'"amount_fen":100000')
    elif edit == "drop_last_byte":
        body = original[:-1]
    elif edit == "other_event":
        body = orjson.dumps(_event())
    elif edit == "prepend_bom":
        body = b"\xef\xbb\xbf" + original
    if header_edit == "webhook_id":
        headers = {**headers, "webhook-id": headers["webhook-id"] + "x"}
    elif header_edit == "timestamp":
        headers = {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) + 1)}
    elif header_edit == "second_signature_only_bad":
        headers = {**headers, "webhook-signature": "v1,AAAA v1,BBBB"}
    elif header_edit == "v2_prefix":
        headers = {**headers, "webhook-signature": headers["webhook-signature"].replace("v1,", "v2,")}
    assume(body != original or header_edit != "none")
    fuzz.send(body, headers, {"invalid_signature", "invalid_encoding"})


# -- the end: everything accepted is stored once ---------------------------------------------------
def test_everything_accepted_was_stored_once_and_nothing_dead_lettered(fuzz):
    fuzz.send(orjson.dumps(_event()), expected={"accepted"})  # (when run alone) at least one
    stored = fuzz.stored(sorted(set(fuzz.accepted)))
    assert stored == {event_id: 1 for event_id in set(fuzz.accepted)}
    assert fuzz.log.count(fuzz.log.dead_letter_topic) == 0
