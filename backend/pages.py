"""Server-rendered public pages (zh-CN): the campaign list and the big-screen board page."""
from __future__ import annotations

from flask import Blueprint, render_template

from configstore import registry
from domain.regions import XIANGXI_COUNTIES
from services.errors import ApiError
from services.runtime import current_runtime

bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")


@bp.get("/")
def index():
    campaigns = registry.list_campaigns(current_runtime().sessions,
                                        statuses=("active", "frozen", "closed"))
    return render_template("index.html", campaigns=campaigns)


@bp.get("/boards/<slug>")
def board_page(slug: str):
    campaign = registry.get_campaign(current_runtime().sessions, slug)
    if campaign is None or campaign.status == "draft":
        raise ApiError(404, "campaign_not_found", "活动不存在或尚未开始")
    return render_template("board.html", campaign=campaign, county_names=XIANGXI_COUNTIES)
