"""The fake WeChat server itself: HTTP control plane and standalone-process mode."""
from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from configstore.db import Base, make_engine, make_sessionmaker
from tests.fakes.fake_wechat import DEFAULT_APPID, DEFAULT_SECRET, PNG_BYTES, FakeWeChat, openid_for
from wechat.adapter import WeChatClient
from wechat.errors import InvalidCode, NoSubscriptionCredit, RateLimited
from wechat.tokens import SharedTokenProvider

REPO = Path(__file__).resolve().parents[3]
TPL = "tpl-rank-changed-0001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def standalone() -> Iterator[str]:
    """``python -m tests.fakes.fake_wechat --port N`` in a separate process."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.fake_wechat", "--port", str(port)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url == f"http://127.0.0.1:{port}", proc.stderr.read() if proc.poll() is not None else url
        yield url
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # also closes the pipes
    assert proc.returncode == 0


def test_standalone_process_driven_over_http(standalone, tmp_path) -> None:
    url = standalone
    engine = make_engine(f"sqlite:///{tmp_path / 'wechat.db'}")
    Base.metadata.create_all(engine)
    factory = make_sessionmaker(engine)
    client = WeChatClient(DEFAULT_APPID, DEFAULT_SECRET, base_url=url,
                          token_provider=SharedTokenProvider(factory, DEFAULT_APPID, DEFAULT_SECRET, base_url=url))

    openid = client.code_to_session("code-alice").openid
    assert openid == openid_for("alice")
    client.send_subscribe_message(openid, TPL, {"thing1": {"value": "第一条"}})

    def inject(**body) -> None:
        r = requests.post(f"{url}/__fake__/inject", json=body, timeout=5)
        assert r.status_code == 200, r.text

    inject(kind="expire_tokens")
    client.send_subscribe_message(openid, TPL, {"thing1": {"value": "第二条"}})  # 40001 -> refresh -> ok
    inject(kind="refuse_subscription", openid=openid, template_id=TPL)
    with pytest.raises(NoSubscriptionCredit):
        client.send_subscribe_message(openid, TPL, {"thing1": {"value": "被拒"}})
    inject(kind="rate_limit", count=1, errcode=45009)
    with pytest.raises(RateLimited):
        client.send_subscribe_message(openid, "other-tpl", {"thing1": {"value": "限流"}})
    inject(kind="invalid_code", js_code="code-bob")
    with pytest.raises(InvalidCode):
        client.code_to_session("code-bob")
    assert client.get_wxa_code_unlimited("c=7") == PNG_BYTES

    sent = requests.get(f"{url}/__fake__/sent", timeout=5).json()["sent"]
    assert [m["data"]["thing1"]["value"] for m in sent] == ["第一条", "第二条"]
    stats = requests.get(f"{url}/__fake__/stats", timeout=5).json()
    assert stats["token_issue_count"] == 2 and stats["calls"]["stable_token"] == 2

    bad = requests.post(f"{url}/__fake__/inject", json={"kind": "nope"}, timeout=5)
    assert bad.status_code == 400
    assert requests.post(f"{url}/__fake__/reset", timeout=5).json() == {"ok": True}
    assert requests.get(f"{url}/__fake__/sent", timeout=5).json() == {"sent": []}
    assert requests.get(f"{url}/__fake__/stats", timeout=5).json()["token_issue_count"] == 0
    engine.dispose()


def test_fake_token_endpoints_directly() -> None:
    with FakeWeChat() as wx:
        r = requests.get(f"{wx.url}/cgi-bin/token", params={"grant_type": "client_credential",
                                                             "appid": DEFAULT_APPID, "secret": DEFAULT_SECRET})
        assert r.json()["expires_in"] == 7200
        assert wx.calls["token"] == 1
        body = {"grant_type": "client_credential", "appid": DEFAULT_APPID, "secret": DEFAULT_SECRET}
        t1 = requests.post(f"{wx.url}/cgi-bin/stable_token", json=body).json()["access_token"]
        t2 = requests.post(f"{wx.url}/cgi-bin/stable_token", json=body).json()["access_token"]
        assert t1 == t2  # normal mode: same token while valid
        t3 = requests.post(f"{wx.url}/cgi-bin/stable_token", json={**body, "force_refresh": True}).json()["access_token"]
        assert t3 != t1 and wx.valid_token() == t3
        assert wx.token_issue_count == 4
        assert requests.post(f"{wx.url}/cgi-bin/stable_token",
                             json={**body, "secret": "nope"}).json()["errcode"] == 40125
        send = requests.post(f"{wx.url}/cgi-bin/message/subscribe/send", params={"access_token": t1},
                             json={"touser": "o1", "template_id": TPL, "data": {"thing1": {"value": "x"}}})
        assert send.json()["errcode"] == 40001  # invalidated by the forced refresh
        bad_json = requests.post(f"{wx.url}/cgi-bin/message/subscribe/send", params={"access_token": t3},
                                 data=b"{not json")
        assert bad_json.json()["errcode"] == 47001
        assert requests.get(f"{wx.url}/nope").status_code == 404
