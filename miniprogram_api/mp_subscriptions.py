"""Subscribe-message templates and credits: one credit per template the user accepted.

The mini-program reads GET /v1/mp/subscriptions for the template ids to ask for
(wx.requestSubscribeMessage), then reports the accepted ones with POST.
"""
from __future__ import annotations

from flask import Blueprint, jsonify

from configstore.db import transaction
from miniprogram_api.mp_session import json_body, require_user
from services.errors import ApiError
from services.runtime import current_runtime
from wechat.outbox import add_subscribe_credits, get_credits
from wechat.pushes import PushTemplates

bp = Blueprint("mp_subscriptions", __name__)


def _state(user_id: int, templates: PushTemplates) -> dict:
    with current_runtime().sessions() as s:
        credits = {t["template_id"]: get_credits(s, user_id, t["template_id"]) for t in templates.listed()}
    return {"templates": templates.listed(), "credits": credits}


@bp.get("/v1/mp/subscriptions")
def subscriptions():
    user_id = require_user()
    return jsonify(_state(user_id, PushTemplates.from_settings(current_runtime().settings)))


@bp.post("/v1/mp/subscriptions")
def accept():
    user_id = require_user()
    accepted = json_body().get("template_ids")
    if not isinstance(accepted, list) or not all(isinstance(t, str) for t in accepted) or len(accepted) > 10:
        raise ApiError(400, "invalid_template_ids", "template_ids 必须是字符串数组（最多 10 个）")
    templates = PushTemplates.from_settings(current_runtime().settings)
    unknown = sorted(set(accepted) - templates.ids())
    if unknown:
        raise ApiError(400, "unknown_template", "包含未知的订阅消息模板", details={"unknown": unknown})
    with transaction(current_runtime().sessions) as s:
        for template_id in dict.fromkeys(accepted):  # one credit per accepted template per report
            add_subscribe_credits(s, user_id, template_id, 1)
    return jsonify(_state(user_id, templates))
