"""POST /v1/mp/bind {code}: the host enters (or scans) the organizer's one-time code."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from configstore.audit import acting_as
from miniprogram_api.mp_session import host_payload, json_body, require_user
from services.errors import ApiError
from services.runtime import current_runtime
from wechat.binding import MAX_FAILURES, BindError, TooManyAttempts, bind_with_code

bp = Blueprint("mp_bind", __name__)


@bp.post("/v1/mp/bind")
def bind():
    user_id = require_user()
    code = json_body().get("code")
    try:
        with acting_as(f"mp_user:{user_id}"):  # the audit log names the mini-program user who bound
            host = bind_with_code(current_runtime().sessions, user_id, code, ip=request.remote_addr,
                                  pepper=current_runtime().settings.secret_key)
    except TooManyAttempts as exc:
        raise ApiError(429, "too_many_attempts",
                       f"绑定码错误次数过多（15 分钟内最多 {MAX_FAILURES} 次），请 {exc.retry_after_seconds // 60 + 1} 分钟后再试",
                       headers={"Retry-After": str(exc.retry_after_seconds)}) from None
    except BindError:
        raise ApiError(400, "invalid_bind_code", "绑定码无效、已使用或已过期，请向组织方重新索取") from None
    return jsonify({"host": host_payload(host)})
