"""Secrets and session keys are never logged: real flows (console login, API tokens, a webhook source
and signed webhooks with its whsec_ secret, rotation, mini-program login through the fake WeChat
server with its session_key, binding with a wxa code fetched with the shared access token, which
is fetched with the appsecret and refreshed once, a subscribe message) run with every logger at
DEBUG, in process (caplog, the werkzeug request lines included) and in a child `liveboard -v run`
(its whole stdout and stderr). No secret value may appear anywhere: not whole, not its key part,
not in a query string."""
from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from configstore import accounts
from configstore.db import make_engine, make_sessionmaker
from liveboard.sender import WebhookSender
from tests.e2e.conftest import REPO, build_stack
from tests.e2e.mp_helpers import TPL_RANK, MiniProgram, seed_campaign, wechat_env, wechat_overrides
from tests.e2e.organizer.conftest import csrf_token
from tests.fakes.fake_wechat import DEFAULT_SECRET, FakeWeChat, openid_for
from tests.security.access_helpers import chdb_dir
from tests.support import order_event

pytestmark = pytest.mark.e2e
PASSWORD = "log-probe-password-8c1f"  # distinctive, so finding it is no coincidence
CAMPAIGN = "sec-logs"


@pytest.fixture
def fake() -> Iterator[FakeWeChat]:
    with FakeWeChat() as wx:
        yield wx


def _all_loggers_at_debug(caplog, *, sql: bool = False) -> None:
    """Root and every logger known so far (werkzeug, gunicorn, kafka, urllib3, wechat, ...) at DEBUG."""
    names = set(logging.root.manager.loggerDict) | {"werkzeug", "gunicorn", "gunicorn.error", "gunicorn.access",
                                                    "kafka", "urllib3", "requests", "wechatpy", "flask_limiter"}
    caplog.set_level(logging.DEBUG)
    for name in names:
        if name.startswith("sqlalchemy") and not sql:
            continue  # statement logging has its own test below
        caplog.set_level(logging.DEBUG, logger=name)


def run_flows(base: str, sessions, fake: FakeWeChat, *, in_process_client=None) -> list[str]:
    """Everything that handles a secret, over HTTP; returns every secret value it saw."""
    seen = [PASSWORD, DEFAULT_SECRET]
    accounts.create_user(sessions, "log-admin", PASSWORD, "admin")
    # console: login (password in the form), an API token made in the page, a source rotated there
    console = requests.Session()
    token = csrf_token(console.get(f"{base}/console/login", timeout=30).text)
    seen.append(console.cookies["liveboard_session"])
    assert console.post(f"{base}/console/login?next=/console/tokens", allow_redirects=False, timeout=30,
                        data={"username": "log-admin", "password": PASSWORD, "csrf_token": token}).status_code == 302
    seen.append(console.cookies["liveboard_session"])
    token = csrf_token(console.get(f"{base}/console/tokens", timeout=30).text)
    page = console.post(f"{base}/console/tokens", data={"name": "nightly", "csrf_token": token}, timeout=30).text
    api_token = page.split('id="new-token">')[1].split("<")[0].strip()
    assert api_token.startswith("lbt_")
    seen += [token, api_token]
    admin = {"Authorization": f"Bearer {api_token}"}
    second = requests.post(f"{base}/v1/admin/tokens", json={"name": "second"}, headers=admin, timeout=30).json()
    seen.append(second["token"])
    # a webhook source: its secret signs real webhooks (one, a batch, and a wrong signature)
    created = requests.post(f"{base}/v1/admin/sources", json={"name": "log-shop"}, headers=admin, timeout=30).json()
    secret = created["secret"]
    sender = WebhookSender(base, "log-shop", secret)
    assert sender.post(order_event(campaign=CAMPAIGN, host="H01", enterprise="E1", amount_fen=990)).status_code == 202
    batch = {"events": [order_event(campaign=CAMPAIGN, host="H12", enterprise="E1", amount_fen=5_000)]}
    assert sender.post(batch).status_code == 202
    assert WebhookSender(base, "log-shop", "whsec_" + "QUFB" * 11).post(batch).status_code == 401
    rotated = console.post(f"{base}/console/sources/log-shop/rotate", timeout=30,
                           data={"csrf_token": csrf_token(console.get(f"{base}/console/sources", timeout=30).text)})
    new_secret = rotated.text.split('id="new-secret">')[1].split("<")[0].strip()
    assert new_secret.startswith("whsec_")
    assert WebhookSender(base, "log-shop", new_secret).post(batch).status_code == 202
    seen += [secret, secret.removeprefix("whsec_"), new_secret, new_secret.removeprefix("whsec_")]
    # the mini-program: login (session_key), binding with a wxa code (access token via the appsecret)
    alice, bob = MiniProgram(base), MiniProgram(base)
    alice.login(f"code-alice.{time.time()}")
    bob.login(f"code-bob.{time.time()}")
    issued = requests.post(f"{base}/v1/admin/hosts/H12/bind-code", headers=admin, timeout=30).json()
    assert issued["wxacode_png_base64"], issued
    assert alice.call("POST", "/v1/mp/bind", json={"code": issued["display"]}).status_code == 200
    fake.expire_all_tokens()  # the next WeChat call gets 40001 and refreshes the shared token once
    issued_again = requests.post(f"{base}/v1/admin/hosts/H03/bind-code", headers=admin, timeout=30).json()
    assert issued_again["wxacode_png_base64"], issued_again
    seen += [issued["code"], issued_again["code"], alice.token, bob.token]
    for path in ("/v1/mp/me", "/v1/mp/me/campaigns", f"/v1/mp/me/campaigns/{CAMPAIGN}/rank", "/v1/mp/subscriptions"):
        assert alice.call("GET", path).status_code == 200, path
    assert alice.call("POST", "/v1/mp/subscriptions", json={"template_ids": [TPL_RANK]}).status_code == 200
    if in_process_client is not None:  # a subscribe message: the access token rides in its URL
        in_process_client.send_subscribe_message(openid_for("alice"), TPL_RANK,
                                                 {"thing1": {"value": "千村千红"}, "thing2": {"value": "进入前十名"},
                                                  "thing3": {"value": "第1名"}})
    # a bearer token in the query string (a client's mistake) is not echoed into the request log
    requests.get(f"{base}/v1/admin/me", params={"access_token": api_token}, timeout=30)
    console.post(f"{base}/console/logout", timeout=30,
                 data={"csrf_token": csrf_token(console.get(f"{base}/console/", timeout=30).text)})
    seen += [c["session_key"] for c in fake.codes_issued] + list(fake._tokens)
    assert len(fake._tokens) >= 2 and fake.codes_issued
    return seen


def _found(text: str, secrets: list[str]) -> list[str]:
    return [s[:12] + "…" for s in dict.fromkeys(secrets) if s and s in text]


def test_no_secret_in_any_log_record_in_process(request, tmp_path, tmp_path_factory, fake, caplog, capfd):
    stack = build_stack("embedded", tmp_path, request, chdb_dir=chdb_dir(tmp_path_factory), **wechat_overrides(fake))
    try:
        seed_campaign(stack.sessions, CAMPAIGN)
        _all_loggers_at_debug(caplog)
        from wechat.service import build_client

        client = build_client(stack.runtime.settings, stack.sessions)
        secrets = run_flows(stack.base_url, stack.sessions, fake, in_process_client=client)
        secrets += [stack.secret, stack.secret.removeprefix("whsec_"), stack.app.secret_key]
        records = caplog.records
        text = "\n".join(f"{r.name} {r.levelname} {r.getMessage()} {r.exc_text or ''}" for r in records)
        out, err = capfd.readouterr()
        assert "/v1/mp/login" in text and "jscode2session" in text, "the request lines were not captured"
        assert "secret=***" in text and "access_token=***" in text, "the WeChat request lines were not captured"
        leaked = _found(text + out + err, secrets)
        print(f"\n[secrets] in process: {len(records)} log records from {len({r.name for r in records})} loggers, "
              f"{len(set(secrets))} secret values: {len(leaked)} found")
        assert leaked == []
    finally:
        stack.close()


def test_sql_statement_logging_hides_parameters(request, tmp_path, tmp_path_factory, fake, caplog):
    stack = build_stack("embedded", tmp_path, request, chdb_dir=chdb_dir(tmp_path_factory), **wechat_overrides(fake))
    try:
        _all_loggers_at_debug(caplog, sql=True)
        accounts.create_user(stack.sessions, "sql-admin", PASSWORD, "admin")
        _, token = accounts.create_token(stack.sessions, "sql-admin", "sql")
        created = requests.post(f"{stack.base_url}/v1/admin/sources", json={"name": "sql-shop"}, timeout=30,
                                headers={"Authorization": f"Bearer {token}"}).json()
        MiniProgram(stack.base_url).login(f"code-sql.{time.time()}")
        secrets = [created["secret"], *(c["session_key"] for c in fake.codes_issued)]
        assert _found(caplog.text, secrets) == []
    finally:
        stack.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_secret_in_the_output_of_liveboard_run(tmp_path, fake):
    data_dir, port = tmp_path / "data", _free_port()
    env = {**os.environ, **wechat_env(fake), "LIVEBOARD_DATA_DIR": str(data_dir), "LIVEBOARD_EVENT_LOG": "sqlite",
           "LIVEBOARD_STORE": "chdb", "LIVEBOARD_RANKING_INTERVAL_SECONDS": "1", "LIVEBOARD_PUSH_INTERVAL_SECONDS": "1",
           "PYTHONUNBUFFERED": "1"}
    env.pop("LIVEBOARD_SECRET_KEY")  # the default install: a key generated into the data dir
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        child = subprocess.Popen([sys.executable, "-m", "liveboard.cli", "-v", "run", "--port", str(port)], env=env,
                                 cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{base}/livez", timeout=10).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):  # still starting (slow under load)
                pass
            assert child.poll() is None and time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.3)
        sessions = make_sessionmaker(make_engine(f"sqlite:///{(data_dir / 'config.sqlite3').resolve()}"))
        seed_campaign(sessions, CAMPAIGN)
        secrets = run_flows(base, sessions, fake)
        ticks = log_path.read_text(errors="replace").count("Running job")
        deadline = time.monotonic() + 60
        while log_path.read_text(errors="replace").count("Running job") < ticks + 4:  # ranking and push ticks log too
            assert child.poll() is None and time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.3)
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=10)
    secrets.append((data_dir / "secret_key").read_text().strip())
    output = log_path.read_text(errors="replace")
    assert "POST /v1/mp/login" in output and "jscode2session?" in output, output[-3000:]
    assert "DEBUG urllib3.connectionpool" in output  # -v: everything at DEBUG
    leaked = _found(output, secrets)
    print(f"\n[secrets] liveboard -v run: {len(output.splitlines())} output lines, {len(set(secrets))} secret values: "
          f"{len(leaked)} found")
    assert leaked == [], [line for line in output.splitlines() if any(s[:12] in line for s in leaked)][:5]


def test_found_spots_a_secret_in_a_query_string():
    assert _found('"GET /cgi-bin/token?secret=abc123secret HTTP/1.1"', ["abc123secret"]) == ["abc123secret…"]
    assert _found("nothing here", ["abc123secret"]) == []
    assert Path(__file__).name.startswith("test_secrets")
