"""POST /v1/webhooks/<source>: signed sales events in, onto the event log, 202 out.

Checks run cheapest first and every reply is JSON:
  not a possible source name 401 (before any lookup, cache or rate-limit counter) ->
  rate limit 429 (backend.auth: per known source and client; one bucket per client for the rest) ->
  unknown/revoked source 401 -> body over 1 MiB 413 -> not JSON content type 415 ->
  missing signature headers 401 -> timestamp not an integer 401 / outside +-5 min 401 ->
  bad UTF-8 400 -> no matching v1 signature 401 -> malformed JSON 400 -> per-event validation 400 ->
  event log can't take it 503 (Retry-After) -> 202 after the log made them durable.
Nothing that gets a 4xx or 5xx reaches the log, so nothing of it is stored. A replay (the same
webhook-id and body, within the timestamp tolerance) is answered 202 with "replayed": true and
not appended again, as long as this process still remembers the id (a bounded cache); any other
repeat is harmless too: events are idempotent by event_id.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from datetime import datetime
from typing import Any

import orjson
from flask import Blueprint, Response, current_app, request

from backend.auth import webhook_limit
from configstore.sources import ActiveSource, valid_name
from eventlog.base import EventLogUnavailable, Record
from schemas.envelope import head as envelope_head
from schemas.envelope import partition_key, wrap_raw
from schemas.events import FieldError, Invalid, validate_event
from services.errors import ApiError
from services.runtime import current_runtime

bp = Blueprint("webhooks", __name__)

TOLERANCE_S = 5 * 60
_TIMESTAMP = re.compile(r"[0-9]{1,20}")  # ASCII digits only: no sign, exponent, hex, other scripts
# Every error.code this endpoint answers with, by status: /v1/openapi.json documents exactly these.
ERRORS: dict[int, tuple[str, ...]] = {
    400: ("invalid_event", "invalid_batch", "invalid_json", "invalid_encoding"),
    401: ("unknown_source", "missing_signature", "invalid_timestamp", "stale_timestamp", "invalid_signature"),
    413: ("payload_too_large", "batch_too_large"),
    415: ("unsupported_media_type",),
    # per known source and client IP (Settings.webhook_rate_limit), and per client IP over every name
    # that is not an active source (backend.auth.UNKNOWN_SOURCE_LIMIT)
    429: ("rate_limited",),
    503: ("event_log_unavailable",),
}


def unknown_source() -> ApiError:
    return ApiError(401, "unknown_source", "未知或已吊销的数据来源")


def signature_matches(keys: tuple[bytes, ...], msg_id: str, timestamp: str, body: bytes, header: str) -> bool:
    """Standard Webhooks: some `v1,<base64>` entry of the space-separated `header` is the HMAC-SHA256
    of "id.timestamp.body" under one of `keys` (constant-time compare). Entries that are not
    well-formed (another version, no comma, bad base64) are skipped, never the end of the check."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = [hmac.new(key, signed, hashlib.sha256).digest() for key in keys]
    for entry in header.split():
        version, comma, encoded = entry.partition(",")
        if version != "v1" or not comma:
            continue
        try:
            candidate = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        if any(hmac.compare_digest(digest, candidate) for digest in expected):
            return True
    return False


def _check_timestamp(raw: str, now: float) -> int:
    """The header's epoch seconds: ASCII digits only, within the tolerance of `now`."""
    if not _TIMESTAMP.fullmatch(raw):
        raise ApiError(401, "invalid_timestamp", "webhook-timestamp 应为 Unix 时间戳（整数秒，仅限数字）")
    sent_at = int(raw)
    if abs(now - sent_at) > TOLERANCE_S:
        raise ApiError(401, "stale_timestamp", "webhook-timestamp 与服务器时间相差超过 5 分钟")
    return sent_at


def _replay_key(source: str, msg_id: str) -> bytes:
    return hashlib.sha256(f"{source}\0{msg_id}".encode()).digest()


_MAX_DEPTH_BRACKETS = 254  # orjson writes at most 254 levels of nesting (it reads 1024)


def _too_deep(event_json: bytes) -> bool:
    """Nested past what orjson can write again (the writer re-encodes raw events to compare them).
    Counting brackets bounds the depth from above at C speed; only a body with that many is re-encoded."""
    if event_json.count(b"[") + event_json.count(b"{") < _MAX_DEPTH_BRACKETS:
        return False
    try:
        orjson.dumps(orjson.loads(event_json))
    except orjson.JSONEncodeError:
        return True
    return False


def _record(item: Any, raw: bytes | None, *, source: ActiveSource, received_at: datetime,
            head: bytes) -> tuple[Record | None, list[dict]]:
    """The log record for one item (`raw`: its JSON bytes as they arrived, when it arrived alone); or
    None and the item's field errors (Chinese messages). One compiled validation per event."""
    checked = validate_event(item, now=received_at)
    if isinstance(checked, Invalid):
        return None, [e.as_dict() for e in checked.errors]
    refused = source.scope.refusal(item)
    if refused is not None:  # this source may not speak for that platform, campaign or enterprise
        return None, [FieldError(refused[0], "out_of_scope", refused[1]).as_dict()]
    try:
        event_json = raw if raw is not None else orjson.dumps(item)
    except orjson.JSONEncodeError:  # orjson reads 1024 levels of nesting (an extra field) but writes only 254
        event_json = None
    if event_json is None or (raw is not None and _too_deep(raw)):
        return None, [FieldError("$", "too_deep", "嵌套层级过深").as_dict()]
    return Record(key=partition_key(item, source.name), value=wrap_raw(head, event_json)), []


def _json(status: int, body: dict[str, Any]) -> Response:
    return current_app.response_class(orjson.dumps(body), status=status, mimetype="application/json")


@bp.post("/v1/webhooks/<source_name>")
def receive(source_name: str):
    runtime = current_runtime()
    metrics = runtime.metrics
    metrics.incr("webhook_requests")
    if not valid_name(source_name):  # before any lookup: no cache entry, no counter row
        raise unknown_source()
    settings = runtime.settings

    source = runtime.sources.get(source_name)
    webhook_limit(source_name, source is not None, settings.webhook_rate_limit)  # 429 first, as a bucket
    if source is None:
        raise unknown_source()
    if request.content_length is not None and request.content_length > settings.webhook_max_body_bytes:
        raise ApiError(413, "payload_too_large", "请求体过大（上限 1 MiB）")
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "仅接受 Content-Type: application/json")

    headers = request.headers
    msg_id, timestamp, signatures = (headers.get("webhook-id"), headers.get("webhook-timestamp"),
                                     headers.get("webhook-signature"))
    if not (msg_id and timestamp and signatures):
        raise ApiError(401, "missing_signature", "缺少 webhook-id、webhook-timestamp 或 webhook-signature 请求头")
    sent_at = _check_timestamp(timestamp, runtime.clock.time())

    body = request.get_data(cache=False)
    if len(body) > settings.webhook_max_body_bytes:  # chunked bodies carry no Content-Length
        raise ApiError(413, "payload_too_large", "请求体过大（上限 1 MiB）")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_encoding", "请求体不是有效的 UTF-8 编码") from None
    if not signature_matches(source.keys, msg_id, timestamp, body, signatures):
        metrics.incr("webhook_bad_signature")
        raise ApiError(401, "invalid_signature", "签名无效")

    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(400, "invalid_json", "请求体不是有效的 JSON（不接受 NaN、Infinity）") from None

    is_batch = isinstance(payload, dict) and "events" in payload
    items = payload["events"] if is_batch else [payload]
    if is_batch and (not isinstance(items, list) or not items):
        raise ApiError(400, "invalid_batch", "events 必须是非空数组")
    if len(items) > settings.webhook_max_batch:
        raise ApiError(413, "batch_too_large", f"一个批次最多 {settings.webhook_max_batch} 个事件")

    received_at = runtime.clock.now()
    # one envelope head for every event of the request; a lone event is wrapped as the bytes it came in
    head = envelope_head(source=source.name, received_at=received_at, webhook_id=msg_id, validated=True)
    results: list[dict[str, Any]] = []
    records: list[Record] = []
    accepted_ids: list[str] = []
    for index, item in enumerate(items):
        record, errors = _record(item, None if is_batch else body, source=source, received_at=received_at, head=head)
        if record is None:
            event_id = item.get("event_id") if isinstance(item, dict) else None
            event_id = event_id if isinstance(event_id, str) else None
            results.append({"index": index, "event_id": event_id, "status": "rejected", "errors": errors})
            continue
        records.append(record)
        accepted_ids.append(item["event_id"])
        results.append({"index": index, "event_id": item["event_id"], "status": "accepted"})

    rejected = len(items) - len(records)
    if not records:
        metrics.incr("events_rejected", rejected)
        if is_batch:
            raise ApiError(400, "invalid_batch", "批次中没有有效事件", details=results)
        raise ApiError(400, "invalid_event", "事件字段无效", details=results[0]["errors"])

    replay_key, body_digest = _replay_key(source.name, msg_id), hashlib.sha256(body).digest()
    replayed = runtime.webhook_replays.get(replay_key, runtime.clock.time()) == body_digest
    if replayed:
        metrics.incr("webhook_replayed")
    else:
        try:
            runtime.event_log.append(runtime.event_log.sales_topic, records)
        except EventLogUnavailable:
            metrics.incr("webhook_unavailable")
            current_app.logger.warning("event log unavailable; answering 503", exc_info=True)
            raise ApiError(503, "event_log_unavailable", "事件日志暂不可用，请稍后重试",
                           headers={"Retry-After": "5"}) from None
        # remembered until the timestamp check would refuse this request anyway
        runtime.webhook_replays.put(replay_key, body_digest, sent_at + TOLERANCE_S)
        metrics.incr("events_rejected", rejected)
        metrics.incr("events_accepted", len(records))

    if is_batch:
        body_out: dict[str, Any] = {"accepted": len(records), "rejected": rejected, "results": results}
    else:
        body_out = {"accepted": len(records), "rejected": 0, "event_ids": accepted_ids}
    if replayed:
        body_out["replayed"] = True
    return _json(202, body_out)
