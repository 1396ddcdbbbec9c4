"""Console sessions, CSRF and credential lifetimes over real HTTP: session fixation, CSRF on every
unsafe console route (from app.url_map), logout, the console session's lifetime (forged into the
past through the signed cookie itself), API-token and mini-program session expiry."""
from __future__ import annotations

import hashlib
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select, update

from configstore import accounts
from configstore.wechat_models import MpSession
from tests.e2e.organizer.conftest import PASSWORD, csrf_token
from tests.security.access_helpers import (
    UNSAFE,
    Seeded,
    age_token,
    anonymous_csrf,
    classify,
    extra_admin_token,
    page_csrf,
    seeded_stack,
    store_fingerprint,
)
from wechat.sessions import token_hash

pytestmark = pytest.mark.e2e
COOKIE = "liveboard_session"
CSRF_REFUSED = "表单安全令牌缺失或已过期"


seeded = seeded_stack("session")


def _logged_in(seeded: Seeded, cookie: str) -> bool:
    response = requests.get(f"{seeded.base_url}/console/", cookies={COOKIE: cookie}, allow_redirects=False,
                            timeout=30)
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def _login(http: requests.Session, seeded: Seeded, token: str, username: str = "admin-user") -> requests.Response:
    return http.post(f"{seeded.base_url}/console/login", allow_redirects=False, timeout=30,
                     data={"username": username, "password": PASSWORD, "csrf_token": token})


def test_session_fixation_a_planted_cookie_is_not_the_one_after_login(seeded):
    attacker, token = anonymous_csrf(seeded.base_url)
    planted = attacker.cookies[COOKIE]
    victim = requests.Session()
    victim.cookies.update(attacker.cookies)  # the attacker's pre-login cookie, planted in the victim's browser
    assert _login(victim, seeded, token).status_code == 302
    after = victim.cookies[COOKIE]
    assert after != planted
    assert _logged_in(seeded, after)
    assert not _logged_in(seeded, planted), "the planted cookie got logged in with the victim"
    # nothing from before the login survives in the new session: the old CSRF token is dead
    refused = victim.post(f"{seeded.base_url}/console/tokens", data={"name": "x", "csrf_token": token}, timeout=30)
    assert refused.status_code == 400 and CSRF_REFUSED in refused.text
    # logging in again over a live session gives yet another cookie
    again = _login(victim, seeded, page_csrf(victim, seeded.base_url))
    assert again.status_code == 302 and victim.cookies[COOKIE] not in (after, planted)
    print("\n[session] fixation: planted cookie replaced at login, stays anonymous")


def test_logout_ends_the_session(seeded):
    http = seeded.console("operator")
    cookie = http.cookies[COOKIE]
    token = page_csrf(http, seeded.base_url)
    # logout is a CSRF-protected POST: a forged one does not log anyone out
    assert http.post(f"{seeded.base_url}/console/logout", timeout=30, allow_redirects=False).status_code == 400
    assert http.get(f"{seeded.base_url}/console/", allow_redirects=False, timeout=30).status_code == 200
    out = http.post(f"{seeded.base_url}/console/logout", data={"csrf_token": token}, allow_redirects=False, timeout=30)
    assert out.status_code == 302 and out.headers["Location"].endswith("/console/login")
    assert http.get(f"{seeded.base_url}/console/", allow_redirects=False, timeout=30).status_code == 302
    assert http.cookies.get(COOKIE) != cookie
    print("\n[session] logout: the browser's session is anonymous afterwards")


def test_a_cookie_copied_before_logout_is_dead_after_it(seeded):
    http = seeded.console("viewer")
    copied = http.cookies[COOKIE]
    token = page_csrf(http, seeded.base_url)
    assert http.post(f"{seeded.base_url}/console/logout", data={"csrf_token": token}, allow_redirects=False,
                     timeout=30).status_code == 302
    assert not _logged_in(seeded, copied)


def test_every_unsafe_console_route_needs_its_csrf_token(seeded):
    app = seeded.stack.app
    routes = [r for r in classify(app)[0] if r.kind in ("console", "console_public") and r.method in UNSAFE]
    assert len(routes) >= 20
    admin = seeded.console("admin")
    other, other_token = anonymous_csrf(seeded.base_url)  # valid, but for another browser's session
    _, stale = anonymous_csrf(seeded.base_url)
    before = store_fingerprint(seeded.stack.sessions)
    tried = accepted = 0
    started = time.monotonic()
    for route in routes:
        url = seeded.url(route.rule)
        form = {"name": "csrf-probe", "username": "admin-user", "password": PASSWORD, "slug": "csrf-probe",
                "status": "closed", "role": "viewer", "reason": "csrf", "participant_id": "H01", "board": "hosts"}
        attempts = [("no token", {}, {}), ("wrong token", {"csrf_token": "IjEyMyI.forged.token"}, {}),
                    ("another session's token", {"csrf_token": other_token}, {}),
                    ("stale token", {"csrf_token": stale}, {}),
                    ("wrong header", {}, {"X-CSRFToken": other_token})]
        for label, extra, headers in attempts:
            response = admin.request(route.method, url, data={**form, **extra}, headers=headers,
                                     allow_redirects=False, timeout=30)
            tried += 1
            if response.status_code != 400 or CSRF_REFUSED not in response.text:
                accepted += 1
                print(f"  {route.method} {route.rule} with {label}: {response.status_code}")
    assert store_fingerprint(seeded.stack.sessions) == before, "a request without a valid CSRF token changed data"
    assert admin.get(f"{seeded.base_url}/console/", allow_redirects=False, timeout=30).status_code == 200
    print(f"\n[session] CSRF: {len(routes)} unsafe console routes, {tried} requests without a valid token: "
          f"{accepted} accepted ({time.monotonic() - started:.1f} s)")
    assert accepted == 0


class _Backdated(TimestampSigner):
    """Signs as if it were `age` ago: the only difference between a fresh cookie and an old one."""

    age = timedelta(0)

    def get_timestamp(self) -> int:
        return int(time.time() - self.age.total_seconds())


def _aged_cookie(app, cookie: str, age: timedelta) -> str:
    interface = app.session_interface
    payload = interface.get_signing_serializer(app).loads(cookie)
    signer = type("Signer", (_Backdated,), {"age": age})
    serializer = URLSafeTimedSerializer(app.secret_key, salt=interface.salt, serializer=interface.serializer,
                                        signer=signer, signer_kwargs={"key_derivation": interface.key_derivation,
                                                                      "digest_method": interface.digest_method})
    return serializer.dumps(dict(payload))


def test_console_session_expires_after_its_lifetime(seeded):
    app = seeded.stack.app
    lifetime = app.permanent_session_lifetime
    assert lifetime == timedelta(hours=8)
    http = requests.Session()
    login = _login(http, seeded, anonymous_csrf_for(http, seeded))
    assert login.status_code == 302
    set_cookie = login.headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie and "Expires=" in set_cookie
    expires = datetime.strptime(set_cookie.split("Expires=")[1].split(";")[0], "%a, %d %b %Y %H:%M:%S GMT")
    remaining = expires.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)
    assert lifetime - timedelta(minutes=1) < remaining <= lifetime
    cookie = http.cookies[COOKIE]
    assert _logged_in(seeded, _aged_cookie(app, cookie, lifetime - timedelta(minutes=5)))
    assert not _logged_in(seeded, _aged_cookie(app, cookie, lifetime + timedelta(minutes=5)))
    # a cookie signed with another key is nobody
    forged = URLSafeTimedSerializer("not-the-key", salt=app.session_interface.salt).dumps({"_user_id": "1"})
    assert not _logged_in(seeded, forged)
    print(f"\n[session] console lifetime {lifetime}: a cookie 5 min past it is refused, 5 min before it works")


def anonymous_csrf_for(http: requests.Session, seeded: Seeded) -> str:
    return csrf_token(http.get(f"{seeded.base_url}/console/login", timeout=30).text)


def test_api_tokens_expire_and_revoke(seeded):
    def me(token: str) -> int:
        return requests.get(f"{seeded.base_url}/v1/admin/me", headers={"Authorization": f"Bearer {token}"},
                            timeout=30).status_code

    token_id, token = extra_admin_token(seeded, "lifetime")
    assert me(token) == 200
    listed = next(t for t in accounts.list_tokens(seeded.stack.sessions) if t["id"] == token_id)
    expires = datetime.fromisoformat(listed["expires_at"])
    assert abs(expires - (datetime.now(timezone.utc) + accounts.API_TOKEN_MAX_AGE)) < timedelta(minutes=1)
    max_days = accounts.API_TOKEN_MAX_AGE.days
    age_token(seeded, token_id, days=max_days - 1)
    assert me(token) == 200
    age_token(seeded, token_id, days=max_days + 1)
    response = requests.get(f"{seeded.base_url}/v1/admin/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_token"
    other_id, other = extra_admin_token(seeded, "revoke-me")
    assert me(other) == 200
    accounts.revoke_token(seeded.stack.sessions, other_id)
    assert me(other) == 401
    print(f"\n[session] API tokens: expire {max_days} days after creation; revoked ones stop at once")


def test_mini_program_sessions_expire_and_are_stored_hashed(seeded):
    sessions = seeded.stack.sessions
    mp = seeded.stranger
    login = requests.post(f"{seeded.base_url}/v1/mp/login", json={"code": f"code-stranger.{time.time()}"},
                          timeout=30).json()
    token = login["token"]
    ttl = seeded.stack.runtime.settings.mp_session_ttl_seconds
    assert ttl == 7 * 24 * 3600
    expires = datetime.fromisoformat(login["expires_at"])
    assert abs(expires - (datetime.now(timezone.utc) + timedelta(seconds=ttl))) < timedelta(minutes=1)
    with sessions() as s:
        stored = set(s.scalars(select(MpSession.token_hash)))
    assert token_hash(token) in stored and token not in stored and hashlib.sha256(token.encode()).hexdigest() in stored

    def me(bearer: str) -> requests.Response:
        return requests.get(f"{seeded.base_url}/v1/mp/me", headers={"Authorization": f"Bearer {bearer}"}, timeout=30)

    assert me(token).status_code == 200
    with sessions.begin() as s:
        s.execute(update(MpSession).where(MpSession.token_hash == token_hash(token))
                  .values(expires_at=datetime.utcnow() - timedelta(seconds=1)))
    response = me(token)
    assert response.status_code == 401 and response.json()["error"]["code"] == "session_expired"
    assert me(mp.token).status_code == 200  # the user's other session is its own
    print(f"\n[session] mini-program sessions: {ttl // 86400} days, stored as SHA-256 only, refused once expired")
