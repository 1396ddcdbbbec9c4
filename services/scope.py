"""County scope: a county user (configstore.accounts.UserInfo.counties) sees and changes only their
counties' participants, stations, applications and county pre-reviews; a prefecture user (no county)
sees everything. These checks raise configstore.errors.Forbidden (403) with the reason in Chinese;
backend/auth.py keeps county users out of every route that is not county-aware at all."""
from __future__ import annotations

from configstore.accounts import UserInfo
from configstore.errors import Forbidden
from domain.regions import XIANGXI_COUNTIES


def county_names(user: UserInfo) -> str:
    return "、".join(XIANGXI_COUNTIES.get(c, c) for c in user.counties)


def require_county(user: UserInfo, county_code: str | None, what: str) -> None:
    """403 unless the user's scope covers the county of ``what`` (e.g. "申报", "服务站点")."""
    if not user.covers(county_code):
        raise Forbidden("county_scope", f"县市账号只能处理本县市（{county_names(user)}）的{what}")


def require_prefecture(user: UserInfo, what: str) -> None:
    if not user.prefecture:
        raise Forbidden("prefecture_only", f"{what}由州级账号办理，县市账号（{county_names(user)}）无权操作")
