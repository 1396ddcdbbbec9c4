"""Mini-program API contract on the embedded config store (SQLite) and the fake WeChat server:
login errors, binding codes and their limits, the organizer guard, subscriptions, push builders."""
from __future__ import annotations

import base64
import sys
import types
from datetime import timedelta
from typing import Iterator

import pytest
from sqlalchemy import select

from backend.app import create_app
from configstore.db import transaction
from configstore.migrate import upgrade as migrate_config
from configstore.wechat_models import PushOutbox, utcnow
from settings import Settings
from tests.e2e.mp_helpers import PEPPER, TPL_AWARD, TPL_MILESTONE, TPL_RANK, seed_campaign, wechat_overrides
from tests.fakes.fake_wechat import PNG_BYTES, WXACODE, FakeWeChat
from wechat.binding import ALPHABET, MAX_FAILURES, issue_bind_code, normalise_code
from wechat.pushes import PushTemplates, dedupe_key, enqueue_award_granted, enqueue_milestone_reached


@pytest.fixture
def fake() -> Iterator[FakeWeChat]:
    with FakeWeChat() as wx:
        yield wx


def _app(tmp_path, **overrides):
    settings = Settings(data_dir=tmp_path / "data", **overrides)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate_config(settings.config_db_url)
    return create_app(settings)


@pytest.fixture
def app(tmp_path, fake):
    app = _app(tmp_path, **wechat_overrides(fake))
    seed_campaign(app.extensions["liveboard"].sessions, "qcqh-unit", hosts=3)
    yield app
    app.extensions["liveboard"].event_log.close()
    app.extensions["liveboard"].engine.dispose()


def _login(client, name: str, ip: str = "10.0.0.1") -> dict:
    response = client.post("/v1/mp/login", json={"code": f"code-{name}.{utcnow().timestamp()}"},
                           environ_base={"REMOTE_ADDR": ip})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def _code(app, host_id: str = "H01", ttl: int = 3600) -> str:
    return issue_bind_code(app.extensions["liveboard"].sessions, host_id, ttl_seconds=ttl, pepper=PEPPER).code


def test_login_errors_are_json_in_chinese(app, fake, tmp_path):
    client = app.test_client()
    assert client.post("/v1/mp/login", json={}).get_json()["error"]["code"] == "invalid_code"
    response = client.post("/v1/mp/login", json={"code": "not-a-valid-code"})
    assert (response.status_code, response.get_json()["error"]["code"]) == (401, "invalid_code")
    fake.fail_next("jscode2session", -1)
    response = client.post("/v1/mp/login", json={"code": "code-x.1"})
    assert (response.status_code, response.get_json()["error"]["code"]) == (502, "wechat_error")
    assert "微信" in response.get_json()["error"]["message"]
    assert client.get("/v1/mp/me").status_code == 401
    off = _app(tmp_path / "off")
    response = off.test_client().post("/v1/mp/login", json={"code": "code-x.2"})
    assert (response.status_code, response.get_json()["error"]["code"]) == (503, "wechat_unavailable")
    off.extensions["liveboard"].event_log.close()


def test_bind_code_format_expiry_and_replacement(app):
    client = app.test_client()
    auth = _login(client, "a")
    code = _code(app)
    assert len(code) == 8 and set(code) <= set(ALPHABET)
    assert normalise_code(f" {code[:4].lower()}-{code[4:]} ") == code
    assert normalise_code("O0I1L-XYZ") is None
    first = code
    second = _code(app)  # a new code for the host revokes the first
    assert client.post("/v1/mp/bind", json={"code": first}, headers=auth).status_code == 400
    expired = issue_bind_code(app.extensions["liveboard"].sessions, "H02", ttl_seconds=-1, pepper=PEPPER).code
    assert client.post("/v1/mp/bind", json={"code": expired}, headers=auth).status_code == 400
    response = client.post("/v1/mp/bind", json={"code": second}, headers=auth)
    assert response.status_code == 200 and response.get_json()["host"]["id"] == "H01"
    # binding another host moves this user: one host per user, one user per host
    assert client.post("/v1/mp/bind", json={"code": _code(app, "H02")}, headers=auth).status_code == 200
    assert client.get("/v1/mp/me", headers=auth).get_json()["host"]["id"] == "H02"


def test_bind_attempts_are_limited_per_user_and_per_ip_across_processes(app, fake, tmp_path):
    client = app.test_client()
    auth = _login(client, "guesser", ip="10.0.0.9")
    for _ in range(MAX_FAILURES):
        response = client.post("/v1/mp/bind", json={"code": "AAAA-AAAA"}, headers=auth,
                               environ_base={"REMOTE_ADDR": "10.0.0.9"})
        assert response.status_code == 400
    # a second app (another worker process) on the same config store sees the same count
    other = create_app(app.extensions["liveboard"].settings)
    valid = _code(app)
    response = other.test_client().post("/v1/mp/bind", json={"code": valid}, headers=auth,
                                        environ_base={"REMOTE_ADDR": "10.0.0.77"})
    assert (response.status_code, response.get_json()["error"]["code"]) == (429, "too_many_attempts")
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60 + 1
    # per IP: fresh users behind the same address are blocked too
    fresh = _login(client, "fresh", ip="10.0.0.9")
    response = client.post("/v1/mp/bind", json={"code": valid}, headers=fresh, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert response.status_code == 429
    # elsewhere, the valid code still works
    response = client.post("/v1/mp/bind", json={"code": valid}, headers=fresh, environ_base={"REMOTE_ADDR": "10.0.0.5"})
    assert response.status_code == 200
    other.extensions["liveboard"].event_log.close()


def test_admin_endpoints_need_the_organizer_token_auth(app, fake, monkeypatch):
    client = app.test_client()
    assert client.post("/v1/admin/hosts/H01/bind-code").status_code == 401
    from miniprogram_api import mp_admin

    monkeypatch.setattr(mp_admin, "AUTH_MODULE", "backend.no_such_auth_module")
    response = client.post("/v1/admin/hosts/H01/bind-code", headers={"Authorization": "Bearer tok-admin"})
    assert (response.status_code, response.get_json()["error"]["code"]) == (401, "admin_auth_unavailable")

    # the organizer side's token auth, standing in for backend.auth.verify_api_token
    fake_auth = types.ModuleType("tests_fake_admin_auth")
    fake_auth.verify_api_token = lambda token: {"tok-admin": {"role": "admin"},
                                                "tok-viewer": {"role": "viewer"}}.get(token)
    monkeypatch.setitem(sys.modules, "tests_fake_admin_auth", fake_auth)
    monkeypatch.setattr(mp_admin, "AUTH_MODULE", "tests_fake_admin_auth")
    assert client.post("/v1/admin/hosts/H01/bind-code", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.post("/v1/admin/hosts/H01/bind-code", headers={"Authorization": "Bearer tok-viewer"}).status_code == 403
    admin = {"Authorization": "Bearer tok-admin"}
    assert client.post("/v1/admin/hosts/NOPE/bind-code", headers=admin).status_code == 404
    response = client.post("/v1/admin/hosts/H01/bind-code", headers=admin)
    assert response.status_code == 201
    issued = response.get_json()
    assert base64.b64decode(issued["wxacode_png_base64"]) == PNG_BYTES
    assert fake.calls[WXACODE] == 1
    fake.fail_next(WXACODE, 45009)
    degraded = client.post("/v1/admin/hosts/H01/bind-code", headers=admin).get_json()
    assert degraded["wxacode_png_base64"] is None and degraded["warning"] and degraded["code"]

    user = _login(client, "h1")
    assert client.post("/v1/mp/bind", json={"code": degraded["display"]}, headers=user).status_code == 200
    assert client.get("/v1/admin/hosts/H01/binding", headers=admin).get_json()["bound"] is True
    assert client.get("/v1/admin/hosts/H01/binding", headers={"Authorization": "Bearer tok-viewer"}).status_code == 200
    assert client.delete("/v1/admin/hosts/H01/binding", headers=admin).get_json()["unbound"] is True
    assert client.get("/v1/mp/me", headers=user).get_json()["bound"] is False
    assert client.get("/v1/mp/me/campaigns", headers=user).status_code == 403


def test_subscriptions_add_one_credit_per_accepted_template(app):
    client = app.test_client()
    auth = _login(client, "sub")
    listed = client.get("/v1/mp/subscriptions", headers=auth).get_json()
    assert [t["kind"] for t in listed["templates"]] == ["rank", "award", "milestone"]
    response = client.post("/v1/mp/subscriptions", json={"template_ids": [TPL_RANK, TPL_RANK, TPL_AWARD]}, headers=auth)
    assert response.get_json()["credits"] == {TPL_RANK: 1, TPL_AWARD: 1, TPL_MILESTONE: 0}
    response = client.post("/v1/mp/subscriptions", json={"template_ids": ["tpl-evil"]}, headers=auth)
    assert (response.status_code, response.get_json()["error"]["code"]) == (400, "unknown_template")
    assert client.post("/v1/mp/subscriptions", json={"template_ids": "x"}, headers=auth).status_code == 400


def test_award_and_milestone_pushes_for_the_awards_module(app):
    sessions = app.extensions["liveboard"].sessions
    client = app.test_client()
    auth = _login(client, "winner")
    client.post("/v1/mp/bind", json={"code": _code(app, "H03")}, headers=auth)
    templates = PushTemplates.from_settings(app.extensions["liveboard"].settings)
    with transaction(sessions) as s:
        assert enqueue_award_granted(s, templates, host_id="H03", award_id="A-2026-1",
                                     award_name="十大电商达人（2026 年度千村千红直播带货）", amount_fen=1_000_000,
                                     campaign_name="千村千红·湘西香伴")
        assert not enqueue_award_granted(s, templates, host_id="H03", award_id="A-2026-1", award_name="x",
                                         amount_fen=1, campaign_name="x")  # once per award
        assert enqueue_milestone_reached(s, templates, host_id="H03", milestone_id="M-10w", milestone_name="累计成交10万元",
                                         total_fen=10_000_000, campaign_name="千村千红·湘西香伴")
        assert not enqueue_award_granted(s, templates, host_id="H02", award_id="A-2", award_name="x",
                                         amount_fen=1, campaign_name="x")  # H02 has no WeChat user
    with sessions() as s:
        rows = {r.template_id: r for r in s.scalars(select(PushOutbox))}
    award = rows[TPL_AWARD].data
    assert len(award["thing1"]["value"]) == 20 and award["thing1"]["value"].endswith("…")
    assert award["amount2"]["value"] == "10,000.00元"
    assert rows[TPL_MILESTONE].data["amount2"]["value"] == "100,000.00元"
    long_key = dedupe_key("c" * 64, "hosts", "k" * 64, "h" * 64, "entered", 123456)
    assert len(long_key) <= 191 and long_key != dedupe_key("c" * 64, "hosts", "k" * 64, "h" * 64, "left", 123456)


def test_sessions_expire(app, tmp_path):
    client = app.test_client()
    auth = _login(client, "expiring")
    from configstore.wechat_models import MpSession

    sessions = app.extensions["liveboard"].sessions
    with transaction(sessions) as s:
        for row in s.scalars(select(MpSession)):
            row.expires_at = utcnow() - timedelta(seconds=1)
    response = client.get("/v1/mp/me", headers=auth)
    assert (response.status_code, response.get_json()["error"]["code"]) == (401, "session_expired")


def test_admin_bind_code_with_the_real_organizer_token_auth(app, fake):
    from configstore import accounts

    sessions = app.extensions["liveboard"].sessions
    accounts.create_user(sessions, "operator1", "correct-horse-battery-9", "operator")
    accounts.create_user(sessions, "viewer1", "correct-horse-battery-9", "viewer")
    _, operator_token = accounts.create_token(sessions, "operator1", "binding")
    _, viewer_token = accounts.create_token(sessions, "viewer1", "read")
    client = app.test_client()
    response = client.post("/v1/admin/hosts/H02/bind-code", headers={"Authorization": f"Bearer {operator_token}"})
    assert response.status_code == 201 and response.get_json()["wxacode_png_base64"]
    response = client.post("/v1/admin/hosts/H02/bind-code", headers={"Authorization": f"Bearer {viewer_token}"})
    assert response.status_code == 403
    assert client.get("/v1/admin/hosts/H02/binding",
                      headers={"Authorization": f"Bearer {viewer_token}"}).get_json()["bound"] is False
