"""Mini-program login: js_code -> WeChatUser row (session_key kept server-side, sealed)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from configstore.db import affected
from configstore.secretbox import SecretBox
from configstore.wechat_models import WeChatUser, dialect_insert, utcnow


def login_with_code(session: Session, client: Any, js_code: str, *, box: SecretBox,
                    now: datetime | None = None) -> WeChatUser:
    """Exchange ``js_code`` (``wx.login``) and upsert the user by (appid, openid); the user's
    ``session_key`` is stored sealed with ``box`` (configstore.secretbox).

    Raises :class:`wechat.errors.InvalidCode` for a bad/used code. Runs in the caller's
    transaction; concurrent first logins of one user are safe (ON CONFLICT DO NOTHING).
    """
    now = now or utcnow()
    openid, session_key, unionid = client.code_to_session(js_code)
    session_key = box.seal(session_key)
    appid = client.appid
    stmt = dialect_insert(session, WeChatUser)
    if stmt is not None:
        session.execute(
            stmt.values(appid=appid, openid=openid, unionid=unionid, session_key=session_key,
                        created_at=now, last_login_at=now)
            .on_conflict_do_nothing(index_elements=["appid", "openid"])
        )
    values: dict[str, Any] = {"session_key": session_key, "last_login_at": now}
    if unionid:
        values["unionid"] = unionid
    res = session.execute(
        update(WeChatUser).where(WeChatUser.appid == appid, WeChatUser.openid == openid).values(**values)
    )
    if affected(res) == 0:  # dialect without ON CONFLICT
        session.add(WeChatUser(appid=appid, openid=openid, unionid=unionid, session_key=session_key,
                               created_at=now, last_login_at=now))
        session.flush()
    user = session.scalars(
        select(WeChatUser).where(WeChatUser.appid == appid, WeChatUser.openid == openid)
        .execution_options(populate_existing=True)
    ).one()
    return user
