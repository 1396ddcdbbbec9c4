"""POST /v1/webhooks/<source>: signed sales events in, onto the event log, 202 out.

Checks run cheapest first and every reply is JSON:
  unknown/revoked source 401 -> body over 1 MiB 413 -> not JSON content type 415 ->
  missing signature headers 401 -> timestamp outside +-5 min 401 -> bad UTF-8 400 ->
  no matching v1 signature 401 -> malformed JSON 400 -> per-event validation 400 ->
  event log can't take it 503 (Retry-After) -> 202 after the log made them durable.
Nothing that gets a 4xx or 5xx reaches the log, so nothing of it is stored. A replayed request
is harmless: events are idempotent by event_id.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from flask import Blueprint, current_app, jsonify, request
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from configstore.sources import ActiveSource
from eventlog.base import EventLogUnavailable, Record
from schemas.envelope import partition_key, wrap
from schemas.events import FieldError, Invalid, validate_event
from services.errors import ApiError
from services.runtime import current_runtime

bp = Blueprint("webhooks", __name__)

TOLERANCE_S = 5 * 60
# Every error.code this endpoint answers with, by status: /v1/openapi.json documents exactly these.
ERRORS: dict[int, tuple[str, ...]] = {
    400: ("invalid_event", "invalid_batch", "invalid_json", "invalid_encoding"),
    401: ("unknown_source", "missing_signature", "invalid_timestamp", "stale_timestamp", "invalid_signature"),
    413: ("payload_too_large", "batch_too_large"),
    415: ("unsupported_media_type",),
    429: ("rate_limited",),  # per source and client IP (backend.auth, Settings.webhook_rate_limit)
    503: ("event_log_unavailable",),
}
_verifiers: dict[str, Webhook] = {}


def _verifier(secret: str) -> Webhook:
    verifier = _verifiers.get(secret)
    if verifier is None:
        verifier = _verifiers[secret] = Webhook(secret)
    return verifier



def verify_signature(secrets: tuple[str, ...], body_text: str, headers: dict[str, str]) -> bool:
    """True when any active secret verifies the body (Standard Webhooks, constant-time compare)."""
    for secret in secrets:
        try:
            _verifier(secret).verify(body_text, headers, json_parse=False)
            return True
        except (WebhookVerificationError, ValueError, TypeError):
            # ValueError/binascii.Error: malformed signature list; treat as a non-match
            continue
    return False


def _check_timestamp(raw: str, now: float) -> None:
    try:
        sent_at = float(raw)
    except ValueError:
        raise ApiError(401, "invalid_timestamp", "webhook-timestamp 不是有效的 Unix 时间戳") from None
    if sent_at != sent_at or abs(now - sent_at) > TOLERANCE_S:  # NaN or outside the window
        raise ApiError(401, "stale_timestamp", "webhook-timestamp 与服务器时间相差超过 5 分钟")


def _record(item: Any, *, source: ActiveSource, received_at: datetime,
            webhook_id: str) -> tuple[Record | None, list[dict]]:
    """The log record for one item; or None and the item's field errors (Chinese messages)."""
    checked = validate_event(item, now=received_at)
    if isinstance(checked, Invalid):
        return None, [e.as_dict() for e in checked.errors]
    refused = source.scope.refusal(item)
    if refused is not None:  # this source may not speak for that platform, campaign or enterprise
        return None, [FieldError(refused[0], "out_of_scope", refused[1]).as_dict()]
    try:
        value = wrap(item, source=source.name, received_at=received_at, webhook_id=webhook_id)
    except orjson.JSONEncodeError:  # orjson reads 1024 levels of nesting (an extra field) but writes only 254
        return None, [FieldError("$", "too_deep", "嵌套层级过深").as_dict()]
    return Record(key=partition_key(item, source.name), value=value), []


@bp.post("/v1/webhooks/<source_name>")
def receive(source_name: str):
    runtime = current_runtime()
    settings = runtime.settings
    runtime.metrics.incr("webhook_requests")

    source = runtime.sources.get(source_name)
    if source is None:
        raise ApiError(401, "unknown_source", "未知或已吊销的数据来源")
    if request.content_length is not None and request.content_length > settings.webhook_max_body_bytes:
        raise ApiError(413, "payload_too_large", "请求体过大（上限 1 MiB）")
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "仅接受 Content-Type: application/json")

    headers = {k.lower(): v for k, v in request.headers.items() if k.lower().startswith("webhook-")}
    if not (headers.get("webhook-id") and headers.get("webhook-timestamp") and headers.get("webhook-signature")):
        raise ApiError(401, "missing_signature", "缺少 webhook-id、webhook-timestamp 或 webhook-signature 请求头")
    _check_timestamp(headers["webhook-timestamp"], runtime.clock.time())

    body = request.get_data(cache=False)
    if len(body) > settings.webhook_max_body_bytes:  # chunked bodies carry no Content-Length
        raise ApiError(413, "payload_too_large", "请求体过大（上限 1 MiB）")
    try:
        body_text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_encoding", "请求体不是有效的 UTF-8 编码") from None
    if not verify_signature(source.secrets, body_text, headers):
        runtime.metrics.incr("webhook_bad_signature")
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
    results: list[dict[str, Any]] = []
    records: list[Record] = []
    accepted_ids: list[str] = []
    for index, item in enumerate(items):
        record, errors = _record(item, source=source, received_at=received_at, webhook_id=headers["webhook-id"])
        if record is None:
            event_id = item.get("event_id") if isinstance(item, dict) else None
            event_id = event_id if isinstance(event_id, str) else None
            results.append({"index": index, "event_id": event_id, "status": "rejected", "errors": errors})
            continue
        records.append(record)
        accepted_ids.append(item["event_id"])
        results.append({"index": index, "event_id": item["event_id"], "status": "accepted"})

    rejected = len(items) - len(records)
    runtime.metrics.incr("events_rejected", rejected)
    if not records:
        if is_batch:
            raise ApiError(400, "invalid_batch", "批次中没有有效事件", details=results)
        raise ApiError(400, "invalid_event", "事件字段无效", details=results[0]["errors"])

    try:
        runtime.event_log.append(runtime.event_log.sales_topic, records)
    except EventLogUnavailable:
        runtime.metrics.incr("webhook_unavailable")
        current_app.logger.warning("event log unavailable; answering 503", exc_info=True)
        raise ApiError(503, "event_log_unavailable", "事件日志暂不可用，请稍后重试",
                       headers={"Retry-After": "5"}) from None
    runtime.metrics.incr("events_accepted", len(records))

    if is_batch:
        body_out = {"accepted": len(records), "rejected": rejected, "results": results}
    else:
        body_out = {"accepted": len(records), "rejected": 0, "event_ids": accepted_ids}
    response = jsonify(body_out)
    response.status_code = 202
    return response
