"""POST /v1/connectors/<name>/push (GET too, for 微信小店's URL check): a platform's own push in,
verified exactly as the platform signs or encrypts it, onto the connector raw topic.

* A name that cannot be a connection -> 404 before any look-up or counter; then the rate limit, as
  for webhooks (LIVEBOARD_WEBHOOK_RATE_LIMIT per active connection and client IP, one bucket per
  client IP for every other name; backend/auth.py) -> 429 with Retry-After, and the platform
  retries later.
* Unknown or disabled connection -> 404; body over 1 MiB -> 413; a GET to a platform that does not
  check its URL with one (all but 微信小店) -> 200 with a note that the address is reachable.
* ``verify_push`` decides authenticity (connectors/<platform>/push.py): a bad signature, a body
  that does not decrypt under our key or another app's message -> its status (401/403/400; 500
  when our own stored key is malformed), a JSON error, nothing stored. Any non-success answer
  makes the platform retry later.
* Test and heartbeat messages (and events we do not use) are answered with the platform's success
  body and stored nowhere.
* Paid-order and aftersale messages are appended to the raw topic; the platform's own success
  body is sent only after the log made them durable (Kafka acks=all, SQLite fsync); when the
  log cannot take them -> 503 with Retry-After, and the platform retries.
* A message id this process already made durable is answered without appending it again (the
  connector worker recognises repeats across processes by the same id).
No platform API is called here: enrichment is the connector worker's (connectors/worker.py).
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from flask import Blueprint, Response, current_app, jsonify, request
from marshmallow import Schema, fields

from backend.auth import webhook_limit
from backend.errors import error_response
from configstore.connections import CONNECTION_NAME, note_push
from connectors import raw
from connectors.base import PushRejected
from connectors.service import ConnectionDirectory
from eventlog.base import EventLogUnavailable, Record
from services.runtime import Runtime, current_runtime

bp = Blueprint("connector_push", __name__)

# Every error.code this endpoint answers with, by status (/v1/openapi.json documents exactly these);
# push_rejected carries the status verify_push chose (connectors/<platform>/push.py).
ERRORS: dict[int, tuple[str, ...]] = {
    400: ("push_rejected",), 401: ("push_rejected",), 403: ("push_rejected",), 404: ("unknown_connection",),
    405: ("push_rejected",), 413: ("payload_too_large",), 429: ("rate_limited",), 500: ("push_rejected",),
    503: ("event_log_unavailable",),
}


class PushReplySchema(Schema):
    """The platform's own success body (抖店 and 有赞 {"code":0,"msg":"success"}, 快手 {"result":1});
    微信小店 gets the plain text `success` (POST) or its `echostr` back (GET)."""

    code = fields.Integer()
    msg = fields.String()
    result = fields.Integer()


class PushAddressSchema(Schema):
    """A GET to a platform that does not check its URL with one: the address is reachable."""

    connection = fields.String(required=True)
    platform = fields.String(required=True)
    message = fields.String(required=True)

SEEN_MAX = 20_000
NOTE_EVERY_S = 5.0
EXTENSION_KEY = "liveboard.connector_push"


class PushState:
    """Per app: the connection directory, the message ids this process made durable, and when it
    last wrote a connection's "last push" time (at most every few seconds)."""

    def __init__(self, runtime: Runtime) -> None:
        self.directory = ConnectionDirectory(runtime.sessions, runtime.secrets, clock=runtime.clock)
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._noted: dict[tuple[int, bool], float] = {}
        self._lock = threading.Lock()

    def seen(self, name: str, message_id: str) -> bool:
        with self._lock:
            return (name, message_id) in self._seen

    def remember(self, name: str, message_ids: list[str]) -> None:
        with self._lock:
            for message_id in message_ids:
                self._seen[(name, message_id)] = None
            while len(self._seen) > SEEN_MAX:
                self._seen.popitem(last=False)

    def note_due(self, connection_id: int, heartbeat: bool, now: float) -> bool:
        with self._lock:
            if now - self._noted.get((connection_id, heartbeat), float("-inf")) < NOTE_EVERY_S:
                return False
            self._noted[(connection_id, heartbeat)] = now
            return True


def _state(runtime: Runtime) -> PushState:
    state = current_app.extensions.get(EXTENSION_KEY)
    if state is None:
        state = current_app.extensions.setdefault(EXTENSION_KEY, PushState(runtime))
    return state


@bp.route("/v1/connectors/<connection>/push", methods=["GET", "POST"])
def push(connection: str):
    runtime = current_runtime()
    state = _state(runtime)
    name = connection
    if not CONNECTION_NAME.fullmatch(name):  # before any look-up: no cache entry, no counter
        return error_response(404, "unknown_connection", "未知或已停用的平台连接")
    opened = state.directory.active(name)
    webhook_limit(name, opened is not None, runtime.settings.webhook_rate_limit, kind="push")  # 429 first
    if opened is None:
        return error_response(404, "unknown_connection", "未知或已停用的平台连接")
    if request.method == "GET" and opened.info.platform != "wechat_shop":
        # only 微信小店 checks its URL with a GET; for the others a GET is a person checking reachability
        return jsonify({"connection": name, "platform": opened.info.platform,
                        "message": "推送地址可用：平台以 POST 推送消息"})
    limit = runtime.settings.webhook_max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        return error_response(413, "payload_too_large", "请求体过大（上限 1 MiB）")
    body = request.get_data(cache=False)
    if len(body) > limit:
        return error_response(413, "payload_too_large", "请求体过大（上限 1 MiB）")
    try:
        result = opened.connector.verify_push(opened.credentials, request.method, request.headers,
                                              request.args.to_dict(), body)
    except PushRejected as rejected:
        runtime.metrics.incr("connector_push_rejected")
        current_app.logger.info("push to %s rejected (%d): %s", name, rejected.status, rejected)
        return error_response(rejected.status, "push_rejected", str(rejected))

    wanted = [m for m in result.messages if raw.needs_enrichment(m) and not state.seen(name, m.message_id)]
    now = runtime.clock.time()
    if wanted:
        records = [Record(key=raw.key(name, m), value=raw.encode(name, m, now)) for m in wanted]
        try:
            runtime.event_log.append(runtime.settings.connector_raw_topic, records)
        except EventLogUnavailable:
            runtime.metrics.incr("connector_push_unavailable")
            current_app.logger.warning("event log unavailable; push to %s answered 503", name, exc_info=True)
            return error_response(503, "event_log_unavailable", "事件日志暂不可用，请稍后重试",
                                  headers={"Retry-After": "5"})
        state.remember(name, [m.message_id for m in wanted])
        runtime.metrics.incr("connector_messages_accepted", len(wanted))
    heartbeat = not result.messages or not any(raw.needs_enrichment(m) for m in result.messages)
    if state.note_due(opened.id, heartbeat, now):
        try:
            note_push(runtime.sessions, opened.id, now, heartbeat=heartbeat)
        except Exception:  # only the console's "last push" time: the messages themselves are durable
            current_app.logger.warning("could not note the push time of %s", name, exc_info=True)
    reply = result.reply
    return Response(reply.body, status=reply.status, content_type=reply.content_type)
