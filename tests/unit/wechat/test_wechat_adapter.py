"""WeChatClient adapter against the fake WeChat server (real HTTP on loopback)."""
from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from configstore import wechat_models  # noqa: F401  (registers tables)
from configstore.db import Base, make_engine, make_sessionmaker
from tests.fakes.fake_wechat import (
    DEFAULT_APPID,
    DEFAULT_SECRET,
    JSCODE2SESSION,
    PNG_BYTES,
    STABLE_TOKEN,
    SUBSCRIBE_SEND,
    FakeWeChat,
    openid_for,
    unionid_for,
)
from wechat.adapter import CodeSession, WeChatClient, mask_openid
from wechat.errors import (
    InvalidCode,
    NoSubscriptionCredit,
    RateLimited,
    TokenExpired,
    WeChatError,
    WeChatTransportError,
)
from wechat.tokens import SharedTokenProvider

TPL = "tpl-rank-changed-0001"


@pytest.fixture
def db(tmp_path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'wechat.db'}")
    Base.metadata.create_all(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def make_client(fake: FakeWeChat, db: sessionmaker[Session], **kw) -> WeChatClient:
    provider = SharedTokenProvider(db, DEFAULT_APPID, DEFAULT_SECRET, base_url=fake.url)
    return WeChatClient(DEFAULT_APPID, DEFAULT_SECRET, base_url=fake.url, token_provider=provider, **kw)


def thing(text: str) -> dict:
    return {"thing1": {"value": text}}


# -- login ------------------------------------------------------------------------------


def test_code_to_session_returns_openid_and_session_key(fake, db) -> None:
    client = make_client(fake, db)
    openid, session_key, unionid = client.code_to_session("code-alice")
    assert openid == openid_for("alice")
    assert session_key == fake.codes_issued[-1]["session_key"]
    assert unionid is None
    # jscode2session needs no access token: none fetched, none sent in the URL
    assert fake.token_issue_count == 0
    [req] = [r for r in fake.request_log if r["path"] == "/sns/jscode2session"]
    assert set(req["query"]) == {"appid", "secret", "js_code", "grant_type"}
    assert req["query"]["grant_type"] == "authorization_code"


def test_code_to_session_stable_openid_fresh_session_key(fake, db) -> None:
    client = make_client(fake, db)
    first = client.code_to_session("code-bob.1")
    second = client.code_to_session("code-bob.2")
    assert first.openid == second.openid == openid_for("bob")
    assert first.session_key != second.session_key


def test_code_to_session_unionid() -> None:
    with FakeWeChat(with_unionid=True) as wx:
        client = WeChatClient(DEFAULT_APPID, DEFAULT_SECRET, base_url=wx.url, token_provider=None)
        assert client.code_to_session("code-carol").unionid == unionid_for("carol")


def test_invalid_and_reused_codes(fake, db) -> None:
    client = make_client(fake, db)
    with pytest.raises(InvalidCode) as bad:
        client.code_to_session("garbage")
    assert bad.value.errcode == 40029
    client.code_to_session("code-dave")
    with pytest.raises(InvalidCode) as used:
        client.code_to_session("code-dave")
    assert used.value.errcode == 40163
    fake.invalid_code()  # next call fails whatever the code
    with pytest.raises(InvalidCode) as injected:
        client.code_to_session("code-erin")
    assert injected.value.errcode == 40029
    assert client.code_to_session("code-erin").openid == openid_for("erin")


def test_wrong_secret_is_a_generic_error(fake) -> None:
    client = WeChatClient(DEFAULT_APPID, "wrong-secret", base_url=fake.url, token_provider=None)
    with pytest.raises(WeChatError) as err:
        client.code_to_session("code-frank")
    assert type(err.value) is WeChatError
    assert err.value.errcode == 40125


# -- log hygiene ----------------------------------------------------------------------------


def test_secrets_never_logged(fake, db, caplog) -> None:
    caplog.set_level(logging.DEBUG)  # everything, including urllib3's request lines
    client = make_client(fake, db)
    openid, session_key, _ = client.code_to_session("code-grace")
    client.send_subscribe_message(openid, TPL, thing("排名更新"))
    fake.expire_all_tokens()
    client.send_subscribe_message(openid, TPL, thing("排名再次更新"))
    fake.fail_next(SUBSCRIBE_SEND, 43101)
    with pytest.raises(NoSubscriptionCredit):
        client.send_subscribe_message(openid, TPL, thing("第三次"))

    text = caplog.text + "".join(repr(r.args) for r in caplog.records)
    tokens = [r["query"]["access_token"] for r in fake.request_log if "access_token" in r["query"]]
    assert len(set(tokens)) == 2  # the token before and after the refresh
    assert session_key not in text
    assert DEFAULT_SECRET not in text
    assert "code-grace" not in text
    for token in tokens:
        assert token not in text
    assert openid not in text
    assert mask_openid(openid) in text  # the adapter does log who, masked
    assert "jscode2session" in text  # urllib3 request lines were captured (redacted)


def test_code_session_repr_hides_session_key(fake, db) -> None:
    cs = make_client(fake, db).code_to_session("code-heidi")
    assert isinstance(cs, CodeSession)
    assert cs.session_key not in repr(cs) and cs.session_key not in str(cs)
    assert cs.openid not in repr(cs)


@pytest.mark.parametrize(
    ("openid", "masked"),
    [
        ("oAbcDEFGHIJKLMNOPQRSTUVWxyz9", "oAbc****xyz9"),
        ("o6_bmjrPTlm6_2sgVt7hMZOPfL2M", "o6_b****fL2M"),
        ("short", "s****"),
        ("123456789", "1234****6789"),
        ("", "-"),
        (None, "-"),
    ],
)
def test_mask_openid(openid, masked) -> None:
    assert mask_openid(openid) == masked


# -- subscribe messages / wxa codes ------------------------------------------------------------


def test_send_subscribe_message_reaches_fake(fake, db) -> None:
    client = make_client(fake, db)
    result = client.send_subscribe_message(
        openid_for("ivan"), TPL, {"thing1": {"value": "排名上升"}, "number2": {"value": "3"}},
        page="pages/rank/index?campaign=7", miniprogram_state="trial",
    )
    assert result["errcode"] == 0
    [msg] = fake.sent_messages()
    assert msg == {
        "msgid": result["msgid"], "appid": DEFAULT_APPID, "touser": openid_for("ivan"),
        "template_id": TPL, "data": {"thing1": {"value": "排名上升"}, "number2": {"value": "3"}},
        "page": "pages/rank/index?campaign=7", "miniprogram_state": "trial", "lang": None,
    }
    assert fake.calls[STABLE_TOKEN] == 1


def test_get_wxa_code_unlimited_returns_png(fake, db) -> None:
    png = make_client(fake, db).get_wxa_code_unlimited("host=42&c=7", page="pages/rank/index")
    assert png == PNG_BYTES
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ValueError):
        make_client(fake, db).get_wxa_code_unlimited("x" * 33)


def test_token_expired_refreshes_once_and_retries(fake, db) -> None:
    client = make_client(fake, db)
    client.send_subscribe_message(openid_for("judy"), TPL, thing("一"))
    assert fake.calls[STABLE_TOKEN] == 1
    fake.expire_all_tokens()
    client.send_subscribe_message(openid_for("judy"), TPL, thing("二"))
    assert fake.calls[STABLE_TOKEN] == 2  # exactly one refresh
    assert fake.calls[SUBSCRIBE_SEND] == 3  # ok, 40001, retried ok
    assert [m["data"]["thing1"]["value"] for m in fake.sent_messages()] == ["一", "二"]


def test_token_expired_twice_raises_after_single_retry(fake, db) -> None:
    client = make_client(fake, db)
    fake.fail_next(SUBSCRIBE_SEND, 42001, count=5)
    with pytest.raises(TokenExpired) as err:
        client.send_subscribe_message(openid_for("ken"), TPL, thing("x"))
    assert err.value.errcode == 42001
    assert fake.calls[SUBSCRIBE_SEND] == 2  # original + one retry, no loop


@pytest.mark.parametrize(
    ("errcode", "exc_type"),
    [(43101, NoSubscriptionCredit), (45009, RateLimited), (45011, RateLimited), (47003, WeChatError),
     (40003, WeChatError), (-1, WeChatError)],
)
def test_errcode_mapping(fake, db, errcode, exc_type) -> None:
    client = make_client(fake, db)
    fake.fail_next(SUBSCRIBE_SEND, errcode)
    with pytest.raises(WeChatError) as err:
        client.send_subscribe_message(openid_for("leo"), TPL, thing("x"))
    assert type(err.value) is exc_type
    assert err.value.errcode == errcode
    assert fake.calls[SUBSCRIBE_SEND] == 1  # the adapter itself never retries these
    assert err.value.permanent is (errcode in (47003, 40003))


def test_refused_subscription_and_rate_limit_injections(fake, db) -> None:
    client = make_client(fake, db)
    fake.refuse_subscription(openid_for("mia"), TPL)
    with pytest.raises(NoSubscriptionCredit):
        client.send_subscribe_message(openid_for("mia"), TPL, thing("x"))
    client.send_subscribe_message(openid_for("mia"), "another-template", thing("x"))
    fake.rate_limit(2)
    for _ in range(2):
        with pytest.raises(RateLimited):
            client.send_subscribe_message(openid_for("nick"), TPL, thing("x"))
    client.send_subscribe_message(openid_for("nick"), TPL, thing("x"))
    assert len(fake.sent_messages()) == 2


def test_fake_validates_template_values(fake, db) -> None:
    with pytest.raises(WeChatError) as err:
        make_client(fake, db).send_subscribe_message(openid_for("olga"), TPL, thing("超" * 21))
    assert err.value.errcode == 47003 and err.value.permanent


def test_transport_errors(fake, db) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    dead = WeChatClient(DEFAULT_APPID, DEFAULT_SECRET, base_url=f"http://127.0.0.1:{dead_port}",
                        token_provider=None)
    with pytest.raises(WeChatTransportError) as refused:
        dead.code_to_session("code-pat")
    assert refused.value.ambiguous is False
    assert DEFAULT_SECRET not in str(refused.value)

    slow = make_client(fake, db, timeout=0.3)
    slow.send_subscribe_message(openid_for("pat"), TPL, thing("warm"))  # token fetched
    fake.delay(SUBSCRIBE_SEND, 1.0)
    with pytest.raises(WeChatTransportError) as timeout:
        slow.send_subscribe_message(openid_for("pat"), TPL, thing("slow"))
    assert timeout.value.ambiguous is True  # WeChat may have accepted it


def test_base_url_is_honoured_for_every_endpoint(fake, db) -> None:
    client = make_client(fake, db)
    client.code_to_session("code-quinn")
    client.send_subscribe_message(openid_for("quinn"), TPL, thing("x"))
    client.get_wxa_code_unlimited("s=1")
    paths = [r["path"] for r in fake.request_log]
    assert paths == ["/sns/jscode2session", "/cgi-bin/stable_token",
                     "/cgi-bin/message/subscribe/send", "/wxa/getwxacodeunlimit"]
    assert fake.calls[JSCODE2SESSION] == 1
