"""Shared by the WeChat e2e tests: a stack wired to the fake WeChat server, a mini-program client."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import requests

from configstore import registry
from configstore.db import transaction
from configstore.models import Host
from tests.fakes.fake_wechat import DEFAULT_APPID, DEFAULT_SECRET, FakeWeChat

TPL_RANK = "tpl-rank-0001"
TPL_AWARD = "tpl-award-0001"
TPL_MILESTONE = "tpl-milestone-0001"
PEPPER = "test-secret-key-for-bind-codes"


def wechat_overrides(fake: FakeWeChat, **extra) -> dict:
    return dict(wechat_appid=DEFAULT_APPID, wechat_secret=DEFAULT_SECRET, wechat_base_url=fake.url,
                wechat_template_rank=TPL_RANK, wechat_template_award=TPL_AWARD,
                wechat_template_milestone=TPL_MILESTONE, secret_key=PEPPER, push_interval_seconds=0.5, **extra)


def wechat_env(fake: FakeWeChat, **extra: str) -> dict[str, str]:
    return {"LIVEBOARD_WECHAT_APPID": DEFAULT_APPID, "LIVEBOARD_WECHAT_SECRET": DEFAULT_SECRET,
            "LIVEBOARD_WECHAT_BASE_URL": fake.url, "LIVEBOARD_WECHAT_TEMPLATE_RANK": TPL_RANK,
            "LIVEBOARD_WECHAT_TEMPLATE_AWARD": TPL_AWARD, "LIVEBOARD_WECHAT_TEMPLATE_MILESTONE": TPL_MILESTONE,
            "LIVEBOARD_SECRET_KEY": PEPPER, **extra}


def seed_campaign(sessions, slug: str, hosts: int = 12) -> None:
    today = datetime.now(timezone(timedelta(hours=8))).date()
    registry.upsert_campaign(sessions, slug=slug, name="千村千红·湘西香伴直播带货", first_day=today - timedelta(days=3),
                             last_day=today + timedelta(days=3))
    with transaction(sessions) as s:
        for i in range(1, hosts + 1):
            s.add(Host(id=f"H{i:02d}", name=f"主播{i:02d}", county="433101"))


class MiniProgram:
    """What the mini-program does over HTTP, with the token it got at login."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self.token: str | None = None
        self.http = requests.Session()
        self.responses: list[str] = []  # every body seen, to check for leaks

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        response = self.http.request(method, self.base_url + path, headers=headers, timeout=30, **kwargs)
        self.responses.append(response.text)
        return response

    def login(self, js_code: str) -> dict:
        response = self.call("POST", "/v1/mp/login", json={"code": js_code})
        assert response.status_code == 200, response.text
        self.token = response.json()["token"]
        return response.json()
