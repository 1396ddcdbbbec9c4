"""Business events -> subscribe messages in the outbox (wechat.outbox.enqueue_push).

Each function runs inside the caller's transaction, sends nothing itself, and is idempotent
by its dedupe key. A host without a bound WeChat user gets nothing (returns False).

Template layouts. The template chosen in the mini-program admin console must have these keys
(WeChat checks each value against its key's type; wechat.templates cuts them to the limits):

* rank (排名变动提醒):   thing1 活动名称, thing2 变动, thing3 当前排名, thing4 温馨提示
* award (获奖通知):      thing1 奖项名称, amount2 奖励金额, thing3 活动名称, thing4 备注
* milestone (销售里程碑): thing1 里程碑, amount2 累计成交额, thing3 活动名称, thing4 备注
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from wechat.binding import bound_user
from wechat.outbox import enqueue_push
from wechat.templates import fen_to_yuan

RANK_PAGE = "pages/me/index"
AWARDS_PAGE = "pages/awards/index"
_MAX_KEY = 191  # PushOutbox.dedupe_key


@dataclass(frozen=True)
class PushTemplates:
    rank: str = ""
    award: str = ""
    milestone: str = ""

    @classmethod
    def from_settings(cls, settings: Any) -> "PushTemplates":
        return cls(settings.wechat_template_rank, settings.wechat_template_award,
                   settings.wechat_template_milestone)

    def listed(self) -> list[dict[str, str]]:
        """The configured templates, for the mini-program's wx.requestSubscribeMessage."""
        titles = {"rank": "排名变动提醒", "award": "获奖通知", "milestone": "销售里程碑提醒"}
        return [{"kind": kind, "template_id": tid, "title": titles[kind]}
                for kind, tid in (("rank", self.rank), ("award", self.award), ("milestone", self.milestone)) if tid]

    def ids(self) -> set[str]:
        return {t["template_id"] for t in self.listed()}


def dedupe_key(*parts: Any) -> str:
    key = ":".join(str(p) for p in parts)
    if len(key) <= _MAX_KEY:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return f"{key[:_MAX_KEY - 65]}#{digest}"


def enqueue_rank_change(session: Session, templates: PushTemplates, *, campaign_slug: str, campaign_name: str,
                        board: str, period_key: str, host_id: str, change: str, rank: int | None,
                        gap_to_top_fen: int | None, snapshot_id: int) -> bool:
    """``change`` is "entered" or "left" (the top ten)."""
    if change not in ("entered", "left"):
        raise ValueError("change must be entered or left")
    if change == "entered":
        what, hint = "进入前十名", "保持住，继续加油！"
    else:
        what = "跌出前十名"
        hint = f"距第10名还差{fen_to_yuan(gap_to_top_fen)}" if gap_to_top_fen else "冲一冲，重回前十！"
    data = {"thing1": campaign_name, "thing2": what, "thing3": f"第{rank}名" if rank else "暂未上榜",
            "thing4": hint}
    return _to_host(session, host_id, templates.rank, data,
                    dedupe_key(campaign_slug, board, period_key, host_id, change, snapshot_id),
                    f"{RANK_PAGE}?campaign={campaign_slug}")


def _to_host(session: Session, host_id: str, template_id: str, data: dict[str, Any], key: str, page: str) -> bool:
    user_id = bound_user(session, host_id)
    if user_id is None or not template_id:
        return False
    return enqueue_push(session, user_id, template_id, data, dedupe_key=key, page=page)


def enqueue_award_granted(session: Session, templates: PushTemplates, *, host_id: str, award_id: str,
                          award_name: str, amount_fen: int, campaign_name: str, note: str = "请在小程序中查看详情") -> bool:
    """For the awards module: a host was granted an award (one message per award id)."""
    data = {"thing1": award_name, "amount2": fen_to_yuan(amount_fen), "thing3": campaign_name, "thing4": note}
    return _to_host(session, host_id, templates.award, data, dedupe_key("award", award_id, host_id), AWARDS_PAGE)


def enqueue_milestone_reached(session: Session, templates: PushTemplates, *, host_id: str, milestone_id: str,
                              milestone_name: str, total_fen: int, campaign_name: str,
                              note: str = "感谢您为湘西好物代言") -> bool:
    """For the awards module: a host's sales passed a milestone (one message per milestone id)."""
    data = {"thing1": milestone_name, "amount2": fen_to_yuan(total_fen), "thing3": campaign_name, "thing4": note}
    return _to_host(session, host_id, templates.milestone, data, dedupe_key("milestone", milestone_id, host_id),
                    AWARDS_PAGE)
