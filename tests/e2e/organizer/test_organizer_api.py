"""The organizer API and console over real HTTP: roles, CSRF, sessions, sources, audit, docs."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest
import requests

from backend.admin_api import OPERATIONS
from configstore import audit
from liveboard.sender import WebhookSender
from tests.e2e.conftest import REPO
from tests.e2e.organizer.conftest import PASSWORD, csrf_token
from tests.support import order_event

pytestmark = pytest.mark.e2e

PATH_VALUES = {"slug": "no-such", "board": "hosts", "participant_id": "H1", "name": "no-such", "username": "nobody",
               "token_id": "999"}
CAMPAIGN = {"slug": "qcqh-2026", "name": "千村千红·湘西香伴", "first_day": "2026-06-01", "last_day": "2026-06-30"}


def _url_path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: PATH_VALUES[m.group(1)], rule)


def test_anonymous_gets_401_and_viewer_gets_403_on_every_write(org):
    writes = [op for op in OPERATIONS if op.writes]
    assert len(writes) >= 15
    for op in OPERATIONS:
        response = org.api(op.method, _url_path(op.rule), role=None, json={})
        assert response.status_code == 401, (op.method, op.rule, response.text)
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    for op in writes:
        response = org.api(op.method, _url_path(op.rule), role="viewer", json={})
        assert response.status_code == 403, (op.method, op.rule, response.text)
        assert response.json()["error"] == {"code": "forbidden", "message": "当前角色无权执行此操作",
                                            "details": {"required_role": op.role, "role": "viewer"}}
    bad = org.api("GET", "/campaigns", role=None, headers={"Authorization": "Bearer lbt_not-a-real-token"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_token"
    # reads are open to viewers; sources and users are for admins only
    assert org.api("GET", "/campaigns", role="viewer").status_code == 200
    assert org.api("POST", "/campaigns", role="operator", json=CAMPAIGN).status_code == 201
    assert org.api("POST", "/sources", role="operator", json={"name": "op-src"}).status_code == 403
    assert org.api("GET", "/users", role="operator").status_code == 403
    assert org.api("GET", "/users", role="admin").status_code == 200
    assert audit.list_entries(org.sessions, target_type="webhook_sources", target_id="op-src") == []


def test_campaign_crud_validation_and_the_audit_entries_it_leaves(org):
    invalid = org.api("POST", "/campaigns", json={"slug": "Bad Slug", "first_day": "6月1日"})
    assert invalid.status_code == 400
    assert invalid.json()["error"]["code"] == "validation_failed"
    assert invalid.json()["error"]["details"] == {"name": ["缺少必填字段"], "first_day": ["日期格式应为 YYYY-MM-DD"],
                                                  "last_day": ["缺少必填字段"]}
    created = org.api("POST", "/campaigns", json={**CAMPAIGN, "boards": ["hosts"]})
    assert created.status_code == 201
    assert created.json() == {**CAMPAIGN, "status": "draft", "freeze_at": None, "boards": ["hosts"]}
    assert org.api("POST", "/campaigns", json=CAMPAIGN).json()["error"]["code"] == "slug_taken"
    patched = org.api("PATCH", "/campaigns/qcqh-2026", json={"name": "千村千红", "freeze_at": "2026-06-30T20:00"})
    assert patched.json()["freeze_at"] == "2026-06-30T12:00:00+00:00"  # entered as Shanghai time
    assert org.api("POST", "/campaigns/qcqh-2026/status", json={"status": "closed"}).status_code == 409
    assert org.api("POST", "/campaigns/qcqh-2026/status", json={"status": "active"}).json()["status"] == "active"
    dq = org.api("POST", "/campaigns/qcqh-2026/disqualifications",
                 json={"board": "hosts", "participant_id": "H7", "reason": "刷单"})
    assert dq.status_code == 201
    assert org.api("DELETE", "/campaigns/qcqh-2026/disqualifications/hosts/H7").status_code == 200
    assert org.api("DELETE", "/campaigns/qcqh-2026").json()["error"]["code"] == "campaign_not_draft"

    entries = org.api("GET", "/audit", role="viewer", params={"limit": 10}).json()["entries"]
    entries.reverse()
    campaign_entries = [e for e in entries if e["target_type"] == "campaigns"]
    assert [(e["actor"], e["action"]) for e in campaign_entries] == [("admin-user", "create"),
                                                                      ("admin-user", "update"),
                                                                      ("admin-user", "update")]
    create, rename, activate = campaign_entries
    base = create["after"]
    assert base["slug"] == "qcqh-2026" and base["status"] == "draft" and base["boards"] == ["hosts"]
    assert rename["before"] == base
    assert rename["after"] == {**base, "name": "千村千红", "freeze_at": "2026-06-30T12:00:00+00:00"}
    assert activate["before"] == rename["after"] and activate["after"] == {**rename["after"], "status": "active"}
    dq_entries = [e for e in entries if e["target_type"] == "disqualifications"]
    assert [e["action"] for e in dq_entries] == ["create", "delete"]
    assert dq_entries[0]["after"]["reason"] == "刷单" and dq_entries[1]["before"] == dq_entries[0]["after"]
    assert dq_entries[1]["after"] is None


def test_sources_secret_once_rotation_and_revocation_gives_401(org):
    created = org.api("POST", "/sources", json={"name": "kuaishou-shop", "description": "快手小店"})
    assert created.status_code == 201
    body = created.json()
    assert body["webhook_url"] == f"{org.base_url}/v1/webhooks/kuaishou-shop"
    listed = org.api("GET", "/sources", role="viewer").json()["sources"]
    assert body["secret"] not in str(listed)  # never shown again
    sender = WebhookSender(org.base_url, "kuaishou-shop", body["secret"])
    event = order_event(campaign="any", host="H1", enterprise="E1", amount_fen=990, platform="kuaishou")
    assert sender.post(event).status_code == 202
    rotated = org.api("POST", "/sources/kuaishou-shop/rotate").json()["secret"]
    assert sender.post(order_event(campaign="any", host="H1", enterprise="E1", amount_fen=1)).status_code == 202
    assert WebhookSender(org.base_url, "kuaishou-shop", rotated).post(
        order_event(campaign="any", host="H1", enterprise="E1", amount_fen=2)).status_code == 202
    assert org.api("POST", "/sources/kuaishou-shop/revoke").status_code == 200
    assert org.api("POST", "/sources/kuaishou-shop/revoke").status_code == 409
    # refused at once by this process (other API processes: within the source cache's ttl)
    for secret in (body["secret"], rotated):
        refused = WebhookSender(org.base_url, "kuaishou-shop", secret).post(event)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "unknown_source"
    revoke = audit.list_entries(org.sessions, target_type="webhook_sources", limit=1)[0]
    assert (revoke["action"], revoke["before"]["revoked_at"]) == ("update", None)
    assert revoke["after"]["revoked_at"] is not None and revoke["actor"] == "admin-user"


def test_users_tokens_and_import_over_the_api(org):
    made = org.api("POST", "/users", json={"username": "wang.fang", "password": "another-long-pw", "role": "viewer"})
    assert made.status_code == 201 and made.json()["role"] == "viewer"
    assert "password" not in made.text
    assert org.api("PATCH", "/users/admin-user", json={"role": "viewer"}).status_code == 409
    token = org.api("POST", "/tokens", role="operator", json={"name": "脚本"}).json()
    assert org.api("GET", "/me", role=None, headers={"Authorization": f"Bearer {token['token']}"}).json()[
        "username"] == "operator-user"
    assert org.api("POST", "/tokens", role="operator", json={"name": "x", "username": "admin-user"}).status_code == 403
    assert org.api("DELETE", f"/tokens/{token['id']}", role="operator").status_code == 200
    assert org.api("GET", "/me", role=None, headers={"Authorization": f"Bearer {token['token']}"}).status_code == 401
    user_entry = audit.list_entries(org.sessions, target_type="users", target_id=str(made.json()["id"]))[0]
    assert user_entry["after"]["password_hash"].startswith("sha256:")  # a fingerprint, never the hash
    csv = "类型,编号,名称,县市代码,平台账号\n主播,H1,茶妹,433126,douyin:dy-1\n主播,H2,,433126,\n企业,E1,古丈茶业,433126,\n"
    report = org.api("POST", "/participants/import", role="operator",
                     files={"file": ("名单.csv", csv.encode(), "text/csv")})
    assert report.status_code == 200
    assert report.json() == {"hosts": 1, "enterprises": 1, "kept": 2, "bad_rows": 1,
                             "errors": [{"row": 3, "field": "name", "field_name": "名称", "message": "名称必填，最多 100 个字"}],
                             "warnings": []}
    wrong = org.api("POST", "/participants/import", role="operator", files={"file": ("名单.txt", b"x")})
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "unsupported_file"
    hosts = org.api("GET", "/participants", role="viewer").json()["participants"]
    assert hosts == [{"id": "H1", "name": "茶妹", "county": "433126", "region_code": "", "accounts": ["douyin:dy-1"],
                      "enterprises": []}]


def test_openapi_document_and_docs_page_cover_every_operation(org):
    document = requests.get(f"{org.base_url}/v1/openapi.json", timeout=30).json()
    assert document["openapi"] == "3.0.3"
    assert document["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    for op in OPERATIONS:
        item = document["paths"][op.path][op.method.lower()]
        assert item["operationId"] == op.endpoint and item["x-required-role"] == op.role
        if op.body is not None:
            ref = item["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[-1] in document["components"]["schemas"]
    create = document["components"]["schemas"]["CampaignCreate"]
    assert set(create["required"]) == {"slug", "name", "first_day", "last_day"}
    page = requests.get(f"{org.base_url}/v1/docs", timeout=30)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    for op in OPERATIONS:
        assert f'id="{op.endpoint}"' in page.text
    assert "创建活动（草稿）" in page.text


def test_console_csrf_cookie_flags_and_session_rotation(org):
    http = requests.Session()
    login_page = http.get(f"{org.base_url}/console/login", timeout=30)
    pre_login_token = csrf_token(login_page.text)
    pre_login_cookie = http.cookies.get("liveboard_session")
    # no token: refused, even for the login form
    refused = http.post(f"{org.base_url}/console/login", data={"username": "admin-user", "password": PASSWORD},
                        allow_redirects=False, timeout=30)
    assert refused.status_code == 400 and "安全令牌" in refused.text
    logged_in = http.post(f"{org.base_url}/console/login", allow_redirects=False, timeout=30,
                          data={"username": "admin-user", "password": PASSWORD, "csrf_token": pre_login_token})
    assert logged_in.status_code == 302
    set_cookie = logged_in.headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
    assert http.cookies.get("liveboard_session") != pre_login_cookie
    form = {"slug": "csrf-test", "name": "测试", "first_day": "2026-06-01", "last_day": "2026-06-02", "boards": "hosts"}
    # the pre-login token died with the old session
    assert http.post(f"{org.base_url}/console/campaigns/new", data={**form, "csrf_token": pre_login_token},
                     allow_redirects=False, timeout=30).status_code == 400
    assert http.post(f"{org.base_url}/console/campaigns/new", data=form, allow_redirects=False,
                     timeout=30).status_code == 400
    assert org.api("GET", "/campaigns/csrf-test").status_code == 404
    token = csrf_token(http.get(f"{org.base_url}/console/campaigns/new", timeout=30).text)
    made = http.post(f"{org.base_url}/console/campaigns/new", data={**form, "csrf_token": token},
                     allow_redirects=False, timeout=30)
    assert made.status_code == 302 and made.headers["Location"].endswith("/console/campaigns/csrf-test")
    assert audit.list_entries(org.sessions, target_type="campaigns", limit=1)[0]["actor"] == "admin-user"
    # the webhook endpoint stays CSRF-free (signature-checked instead)
    assert WebhookSender(org.base_url, org.stack.source, org.stack.secret).post(
        order_event(campaign="csrf-test", host="H1", enterprise="E1", amount_fen=100)).status_code == 202


def test_console_roles_and_login_rate_limit(org):
    viewer = org.console("viewer-user")
    page = viewer.get(f"{org.base_url}/console/sources", timeout=30)
    assert page.status_code == 200 and "创建数据来源" not in page.text
    token = csrf_token(page.text)
    denied = viewer.post(f"{org.base_url}/console/sources", data={"name": "v-src", "csrf_token": token}, timeout=30)
    assert denied.status_code == 403 and "无权访问" in denied.text
    anonymous = requests.get(f"{org.base_url}/console/", allow_redirects=False, timeout=30)
    assert anonymous.status_code == 302 and "/console/login" in anonymous.headers["Location"]
    http = requests.Session()
    token = csrf_token(http.get(f"{org.base_url}/console/login", timeout=30).text)
    codes = [http.post(f"{org.base_url}/console/login", allow_redirects=False, timeout=30,
                       data={"username": "operator-user", "password": "wrong", "csrf_token": token}).status_code
             for _ in range(6)]
    assert codes == [401] * 5 + [429]
    # another user name from the same address is not locked out by it
    assert org.console("admin-user") is not None


def test_cli_creates_the_first_admin(org):
    env = org.stack.env(LIVEBOARD_ADMIN_PASSWORD="first-admin-pw")
    out = subprocess.run([sys.executable, "-m", "liveboard.cli", "admin", "create", "--username", "boss"], env=env,
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "用户 boss 已创建（角色 admin）" in out.stdout
    token = subprocess.run([sys.executable, "-m", "liveboard.cli", "admin", "token", "--username", "boss",
                            "--name", "cli"], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert token.returncode == 0, token.stderr
    me = requests.get(f"{org.base_url}/v1/admin/me", timeout=30,
                      headers={"Authorization": f"Bearer {token.stdout.strip()}"})
    assert me.json() == {"id": me.json()["id"], "username": "boss", "role": "admin", "active": True, "counties": []}
    created = audit.list_entries(org.sessions, target_type="users", limit=1)[0]
    assert created["actor"].startswith("cli:") and created["after"]["username"] == "boss"


def test_console_edits_a_campaign_and_viewers_cannot(org):
    assert org.api("POST", "/campaigns", json=CAMPAIGN).status_code == 201
    operator = org.console("operator-user")
    url = f"{org.base_url}/console/campaigns/qcqh-2026"
    token = csrf_token(operator.get(url, timeout=30).text)
    form = {"name": "千村千红（第二季）", "first_day": "2026-06-01", "last_day": "2026-07-15",
            "freeze_at": "2026-07-15 20:00", "boards": ["enterprises"], "csrf_token": token}
    saved = operator.post(url, data=form, allow_redirects=False, timeout=30)
    assert saved.status_code == 302
    assert org.api("GET", "/campaigns/qcqh-2026", role="viewer").json() == {
        "slug": "qcqh-2026", "name": "千村千红（第二季）", "first_day": "2026-06-01", "last_day": "2026-07-15",
        "status": "draft", "freeze_at": "2026-07-15T12:00:00+00:00", "boards": ["enterprises"]}
    bad = operator.post(url, data={**form, "last_day": "2026-05-01"}, timeout=30)
    assert "结束日期不能早于开始日期" in bad.text
    activated = operator.post(f"{url}/status", data={"status": "active", "csrf_token": token}, timeout=30)
    assert "活动状态已改为“进行中”" in activated.text
    viewer = org.console("viewer-user")
    page = viewer.get(url, timeout=30).text
    assert "修改活动" not in page and "启用活动" not in page
    assert viewer.post(url, data={**form, "csrf_token": csrf_token(page)}, timeout=30).status_code == 403
    assert org.api("GET", "/campaigns/qcqh-2026", role="viewer").json()["name"] == "千村千红（第二季）"
