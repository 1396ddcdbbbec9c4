"""Server-rendered public pages (zh-CN): the campaign list, a campaign's board page, and its
big-screen mode (a fixed 1920×1080 design scaled to whatever display shows it)."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from backend.errors import error_page
from backend.ui import register_filters
from configstore import registry
from domain.boards import BOARD_TITLES_ZH, TOP_N
from domain.regions import XIANGXI_COUNTIES
from services.runtime import current_runtime

bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")
register_filters(bp)

DEFAULT_ORGANIZER = "湘西土家族苗族自治州商务局"


def organizer_name() -> str:
    """Who runs the campaigns, as the public pages name them (a setting once there is one)."""
    return getattr(current_runtime().settings, "organizer_name", "") or DEFAULT_ORGANIZER


@bp.get("/")
def index():
    campaigns = registry.list_campaigns(current_runtime().sessions,
                                        statuses=("active", "frozen", "closed"))
    return render_template("index.html", campaigns=campaigns, organizer=organizer_name())


def _board(slug: str, screen: bool):
    campaign = registry.get_campaign(current_runtime().sessions, slug)
    if campaign is None or campaign.status == "draft":
        return error_page(404, f"没有找到活动“{slug}”，或活动尚未开始。请核对地址，或从活动列表进入。", title="活动不存在")
    period = "today" if request.args.get("period") in ("today", "day") else "campaign"
    return render_template("screen.html" if screen else "board.html", campaign=campaign, county_names=XIANGXI_COUNTIES,
                           organizer=organizer_name(), titles=BOARD_TITLES_ZH, top_n=TOP_N, period=period)


@bp.get("/boards/<slug>")
def board_page(slug: str):
    """The board page; ?screen=1 is the big-screen mode."""
    return _board(slug, screen=request.args.get("screen", "") not in ("", "0", "false"))


@bp.get("/boards/<slug>/screen")
def board_screen(slug: str):
    """The big-screen mode at an address of its own (for a display that is set up once)."""
    return _board(slug, screen=True)
