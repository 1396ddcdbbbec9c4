"""Shared by the security tests: a seeded embedded stack, the app's routes classified from
``app.url_map`` (never a hand-written list, so a new endpoint is covered the day it is added), and
what must never show up in a refusal, another host's answer, or a log line.

The stack: one organizer per role with an API token, a webhook source, an active campaign with
published boards (12 hosts, distinctive amounts), an award list, a service station, and three
mini-program users from the fake WeChat server: alice bound to H12, bob bound to H03, and an
unbound stranger.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Iterator

import pytest
import requests
from flask import Flask
from sqlalchemy import select

import configstore.all_models  # noqa: F401 - every table in Base.metadata
from configstore import accounts, places
from configstore.accounts import ROLES
from configstore.db import Base, transaction
from configstore.models import Enterprise
from connectors import service as connector_service
from scheduler.ranking_job import publish_all
from services import awards as award_compute
from tests.e2e.conftest import Stack, build_stack
from tests.e2e.mp_helpers import MiniProgram, seed_campaign, wechat_overrides
from tests.e2e.organizer.conftest import PASSWORD, Org, csrf_token, make_org
from tests.fakes.fake_wechat import DEFAULT_SECRET, FakeWeChat
from tests.support import order_event
from wechat.binding import issue_bind_code

SLUG = "sec-2026"
# a platform connection (its console pages take <connection>); nothing listens at its API address
CONNECTION_CREDENTIALS = {"app_key": "7000000000000000777", "app_secret": "sec-douyin-app-secret-7f3a9c"}
ENTERPRISE = ("E777", "湘西保密茶业有限公司")
RANK = {"viewer": 1, "operator": 2, "admin": 3}
BELOW = {role: [r for r in ROLES if RANK[r] < RANK[role]] for role in ROLES}
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
CONSOLE_PUBLIC = {"console.login", "console.logout"}  # the only console views without a role
MP_PERSONAL = ("/v1/mp/me", "/v1/mp/subscriptions", "/v1/mp/bind")
# Rows that reads legitimately touch (last use, sessions, rate-limit counters): not "a change".
VOLATILE_TABLES = {"api_tokens", "users", "mp_sessions", "wechat_users", "wechat_access_tokens",
                   "bind_attempt_failures", "rate_limit_counters"}


def read_query() -> dict[str, str]:
    """Query parameters some reads need (targets progress: year; a published day: day)."""
    today = datetime.now(timezone(timedelta(hours=8))).date()
    return {"year": str(today.year), "day": today.isoformat()}


def amount_for(n: int) -> int:
    """Host n's sales in fen: seven digits each (none inside another), so finding one in a body is
    no coincidence."""
    return 7_000_000 + 13_579 * n


def chdb_dir(tmp_path_factory) -> Path:
    """chDB opens one data dir per process: reuse the one already open (tests/e2e's shared dir when
    the suite runs together), else start one."""
    from analytics import chdb_store

    opened = next(iter(chdb_store._sessions), None)
    return Path(opened) if opened else tmp_path_factory.mktemp("chdb")


# -- routes ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    rule: str
    endpoint: str
    method: str
    kind: str  # admin | console | console_public | mp_personal | mp_login | webhook | public
    role: str | None = None  # the least role that may use it (admin API and console)


def _declared_role(view) -> str | None:
    """The role given to backend.auth's console_auth/api_auth around a view (read from the closure)."""
    while view is not None:
        code = view.__code__
        if code.co_qualname.startswith(("console_auth.", "api_auth.")) and "role" in code.co_freevars:
            return view.__closure__[code.co_freevars.index("role")].cell_contents
        view = getattr(view, "__wrapped__", None)
    return None


def _documented_admin_roles() -> dict[tuple[str, str], str]:
    from backend.admin_api import operations as admin_operations
    from backend.awards_api import operations as award_operations

    roles = {(f"admin_api.{op.endpoint}", op.method): op.role for op in admin_operations()}
    roles |= {(f"awards_api.{op.endpoint}", op.method): op.role for op in award_operations()}
    return roles


def _max_role(*roles: str) -> str:
    return max(roles, key=RANK.__getitem__)


def classify(app: Flask) -> tuple[list[Route], list[str]]:
    """Every (rule, method) of the app with its kind and required role, and the protected ones
    that no rule here can classify (must be empty)."""
    documented = _documented_admin_roles()
    routes, unclassified = [], []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            path, endpoint = rule.rule, rule.endpoint
            kind, role = "public", None
            if path.startswith("/v1/admin"):
                kind = "admin"
                if endpoint.startswith("mp_admin."):  # its contract: reads for viewers, writes for operators
                    role = "viewer" if method == "GET" else "operator"
                else:
                    role = documented.get((endpoint, method))
                    if role is not None and _declared_role(app.view_functions[endpoint]) not in (None, role):
                        role = None  # the code and the OpenAPI document disagree
            elif path.startswith("/console"):
                if endpoint in CONSOLE_PUBLIC:
                    kind = "console_public"
                else:
                    kind = "console"
                    declared = _declared_role(app.view_functions[endpoint])
                    # viewers only read (README, "Organizers"): an unsafe method needs an operator
                    role = declared and (_max_role(declared, "operator") if method in UNSAFE else declared)
            elif path.startswith(MP_PERSONAL):
                kind = "mp_personal"
            elif path.startswith("/v1/mp"):
                kind = "mp_login" if path == "/v1/mp/login" else "unknown"
            elif path.startswith("/v1/webhooks"):
                kind = "webhook"
            route = Route(path, endpoint, method, kind, role)
            if kind == "unknown" or (kind in ("admin", "console") and role is None):
                unclassified.append(f"{method} {path} ({endpoint})")
            routes.append(route)
    return sorted(routes, key=lambda r: (r.rule, r.method)), unclassified


# -- the seeded stack -----------------------------------------------------------------------------
@dataclass
class Seeded:
    org: Org
    fake: FakeWeChat
    path_values: dict[str, str]
    token_ids: dict[str, int]
    alice: MiniProgram  # bound to H12
    bob: MiniProgram  # bound to H03
    stranger: MiniProgram  # logged in, not bound
    bob_user_id: int
    secrets: list[str] = field(default_factory=list)

    @property
    def stack(self) -> Stack:
        return self.org.stack

    @property
    def base_url(self) -> str:
        return self.org.base_url

    @property
    def markers(self) -> list[str]:
        """What a refusal must never contain: names, amounts (fen and yuan), secrets."""
        names = [f"主播{n:02d}" for n in range(1, 13)] + [ENTERPRISE[1]]
        amounts = [str(amount_for(n)) for n in range(1, 13)]
        amounts += [f"{amount_for(n) / 100:.2f}" for n in range(1, 13)]
        return names + amounts + self.secrets

    def url(self, rule: str) -> str:
        return self.base_url + fill_path(rule, self.path_values)

    def console(self, role: str) -> requests.Session:
        return self.org.console(f"{role}-user")


def fill_path(rule: str, values: dict[str, str]) -> str:
    return re.sub(r"<(?:[^:>]+:)?(\w+)>", lambda m: values[m.group(1)], rule)


def leaks(text_: str, markers: Iterable[str]) -> list[str]:
    return [m for m in markers if m and m in text_]


def build_seeded(tmp_path: Path, chdb: Path, fake: FakeWeChat, request) -> Seeded:
    stack = build_stack("embedded", tmp_path, request, chdb_dir=chdb, **wechat_overrides(fake))
    org = make_org(stack)
    sessions = stack.sessions
    seed_campaign(sessions, SLUG)
    with transaction(sessions) as s:
        s.add(Enterprise(id=ENTERPRISE[0], name=ENTERPRISE[1], county="433101", tax_compliant=True))
    events = [order_event(campaign=SLUG, host=f"H{n:02d}", enterprise=ENTERPRISE[0], amount_fen=amount_for(n))
              for n in range(1, 13)]
    assert stack.sender.post({"events": events}).status_code == 202
    stack.drain(len(events))
    publish_all(sessions, stack.store)
    award = award_compute.compute_and_store(sessions, stack.store, kind="top_influencers", scope="campaign",
                                            scope_key=SLUG)
    winner = next(i["participant_id"] for i in award["items"] if i["included"])
    station = places.add_station(sessions, kind="county_centre", region_code="433101", name="吉首市电商运营中心")
    token_ids = {t["username"].removesuffix("-user"): t["id"] for t in accounts.list_tokens(sessions)}
    connection = connector_service.create(sessions, stack.runtime.secrets, platform="douyin_shop", name="sec-dy",
                                          shop_id="4460001", enterprise_id=ENTERPRISE[0], campaigns=[SLUG],
                                          county="433101", credentials=CONNECTION_CREDENTIALS,
                                          api_base_url="http://127.0.0.1:9")

    alice, bob, stranger = (MiniProgram(stack.base_url) for _ in range(3))
    logins = [mp.login(f"code-{name}.{datetime.now().timestamp()}") for mp, name in
              ((alice, "alice"), (bob, "bob"), (stranger, "stranger"))]
    pepper = stack.runtime.settings.secret_key
    for mp, host in ((alice, "H12"), (bob, "H03")):
        code = issue_bind_code(sessions, host, ttl_seconds=3600, pepper=pepper).code
        assert mp.call("POST", "/v1/mp/bind", json={"code": code}).status_code == 200

    path_values = {"slug": SLUG, "list_id": str(award["id"]), "participant_id": winner, "board": "hosts",
                   "name": stack.source, "source_name": stack.source, "username": "viewer-user",
                   "token_id": str(token_ids["viewer"]), "station_id": str(station["id"]),
                   "year": read_query()["year"],
                   "region_code": "433101", "host_id": "H03", "filename": "css/base.css",
                   "connection": connection.name}
    secrets = [stack.secret, stack.secret.removeprefix("whsec_"), PASSWORD, DEFAULT_SECRET, pepper,
               *org.tokens.values(), alice.token, bob.token, stranger.token,
               *(c["session_key"] for c in fake.codes_issued), CONNECTION_CREDENTIALS["app_secret"]]
    return Seeded(org, fake, path_values, token_ids, alice, bob, stranger, logins[1]["user"]["id"], secrets)


def seeded_stack(name: str):
    """A module-scoped fixture: one seeded stack for all the tests of a module."""

    @pytest.fixture(scope="module")
    def seeded(request, tmp_path_factory) -> Iterator[Seeded]:
        with FakeWeChat() as fake:
            built = build_seeded(tmp_path_factory.mktemp(name), chdb_dir(tmp_path_factory), fake, request)
            yield built
            built.stack.close()

    return seeded


def extra_admin_token(seeded: Seeded, name: str) -> tuple[int, str]:
    listing, token = accounts.create_token(seeded.stack.sessions, "admin-user", name)
    seeded.secrets.append(token)
    return listing["id"], token


def age_token(seeded: Seeded, token_id: int, days: int) -> None:
    """Pretend the token was made `days` ago."""
    with transaction(seeded.stack.sessions) as s:
        row = s.get(accounts.ApiToken, token_id)
        row.created_at = datetime.now(timezone.utc) - timedelta(days=days)


def store_fingerprint(sessions) -> str:
    """A digest of every config-store row outside the volatile tables: equal means "nothing changed"."""
    digest = hashlib.sha256()
    with sessions() as s:
        for table in Base.metadata.sorted_tables:
            if table.name in VOLATILE_TABLES:
                continue
            rows = s.execute(select(table)).all()
            digest.update(table.name.encode())
            for row in sorted(repr(tuple(r)) for r in rows):
                digest.update(row.encode())
    return digest.hexdigest()


def anonymous_csrf(base_url: str) -> tuple[requests.Session, str]:
    """A browser that opened the login page: a session cookie and its CSRF token, no login."""
    http = requests.Session()
    return http, csrf_token(http.get(f"{base_url}/console/login", timeout=30).text)


def page_csrf(http: requests.Session, base_url: str) -> str:
    return csrf_token(http.get(f"{base_url}/console/", timeout=30).text)

