"""Every admin and personal endpoint, from app.url_map, tried anonymously, with each role below the
one it needs, with revoked, expired and foreign credentials, and as another host: always 401 or 403
(or the login page), in the documented shape, with none of the seeded data in the answer, and
nothing changed in the config store. Path parameters are real seeded objects, so a refusal is a
refusal and not a 404 (each readable route is also fetched once with its role: 200)."""
from __future__ import annotations

import time
from collections import Counter
from typing import Iterator

import pytest
import requests

from configstore import accounts
from configstore.accounts import ROLE_NAMES_ZH, ROLES
from tests.e2e.mp_helpers import TPL_RANK
from tests.security.access_helpers import (
    BELOW,
    UNSAFE,
    Route,
    Seeded,
    age_token,
    amount_for,
    anonymous_csrf,
    classify,
    extra_admin_token,
    leaks,
    page_csrf,
    read_query,
    seeded_stack,
    store_fingerprint,
)

pytestmark = pytest.mark.e2e
FORBIDDEN_ZH = "当前角色无权执行此操作"
NOT_BOUND_ZH = "尚未绑定主播身份，请先输入组织方提供的绑定码"
TALLY: Counter[str] = Counter()


seeded = seeded_stack("access")


@pytest.fixture(scope="module", autouse=True)
def total() -> Iterator[None]:
    yield
    print(f"\n[access] {TALLY['requests']} requests: {TALLY['leaks']} leaks, {TALLY['wrong']} wrong answers")


class Matrix:
    """Sends requests, checks each answer, and keeps the figures."""

    def __init__(self, seeded: Seeded, part: str):
        self.seeded, self.part = seeded, part
        self.problems: list[str] = []
        self.requests = self.leaks = 0
        self.started = time.monotonic()

    def send(self, http, method: str, url: str, **kwargs) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        response = (http or requests).request(method, url, timeout=30, **kwargs)
        self.requests += 1
        return response

    def refused(self, label: str, response: requests.Response, status: int | tuple, *, markers=None,
                check=None) -> None:
        statuses = status if isinstance(status, tuple) else (status,)
        found = leaks(response.text + str(dict(response.headers)), self.seeded.markers if markers is None else markers)
        if found:
            self.leaks += 1
            self.problems.append(f"LEAK {label}: {found[:3]}")
        if response.status_code not in statuses:
            self.problems.append(f"{label}: {response.status_code} (want {statuses}) {response.text[:160]}")
        elif check is not None:
            issue = check(response)
            if issue:
                self.problems.append(f"{label}: {issue}")

    def answered(self, route: Route, http, **kwargs) -> None:
        """The path parameters are real: with the role it needs, the route answers 200."""
        response = self.send(http, "GET", self.seeded.url(route.rule), params=read_query(), **kwargs)
        if response.status_code != 200:
            self.problems.append(f"{route.role} GET {route.rule}: {response.status_code} {response.text[:160]}")

    def done(self) -> None:
        TALLY.update(requests=self.requests, leaks=self.leaks, wrong=len(self.problems) - self.leaks)
        print(f"\n[access] {self.part}: {self.requests} requests: {self.leaks} leaks, "
              f"{len(self.problems) - self.leaks} wrong answers ({time.monotonic() - self.started:.1f} s)")
        assert self.problems == [], "\n".join(self.problems[:40])


def _json_error(code: str, message: str | None = None, details: dict | None = None):
    def check(response: requests.Response) -> str | None:
        try:
            error = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            return f"not a JSON error body: {response.text[:120]}"
        if error.get("code") != code or (message and error.get("message") != message):
            return f"error {error}"
        if details is not None and error.get("details") != details:
            return f"details {error.get('details')}"
        if response.status_code == 401 and not response.headers.get("WWW-Authenticate", "").startswith("Bearer"):
            return "401 without WWW-Authenticate: Bearer"
        return None

    return check


def _to_login(response: requests.Response) -> str | None:
    return None if "/console/login" in response.headers.get("Location", "") else "not sent to the login page"


def _forbidden_page(role: str):
    expected = f"此操作需要“{ROLE_NAMES_ZH[role]}”或更高的角色。"

    def check(response: requests.Response) -> str | None:
        return None if "无权访问" in response.text and expected in response.text else "not the 403 page"

    return check


def test_every_protected_route_is_classified(seeded):
    routes, unclassified = classify(seeded.stack.app)
    assert unclassified == [], f"routes the access matrix cannot classify: {unclassified}"
    kinds = Counter(r.kind for r in routes)
    print(f"\n[access] routes from url_map: {dict(sorted(kinds.items()))}")
    assert kinds["admin"] >= 40 and kinds["console"] >= 30 and kinds["mp_personal"] >= 8


def test_admin_api_refuses_anonymous_lower_roles_and_dead_tokens(seeded):
    routes = [r for r in classify(seeded.stack.app)[0] if r.kind == "admin"]
    matrix = Matrix(seeded, "admin API")
    revoked_id, revoked = extra_admin_token(seeded, "revoked")
    accounts.revoke_token(seeded.stack.sessions, revoked_id)
    expired_id, expired = extra_admin_token(seeded, "expired")
    age_token(seeded, expired_id, days=400)
    console = seeded.console("admin")  # a logged-in console session: its cookie is no API credential
    console_csrf = page_csrf(console, seeded.base_url)
    before = store_fingerprint(seeded.stack.sessions)

    for route in routes:
        url, label = seeded.url(route.rule), f"{route.method} {route.rule}"
        body = {"json": {}} if route.method in UNSAFE else {}
        response = matrix.send(None, route.method, url, **body)
        matrix.refused(f"anonymous {label}", response, 401, check=_json_error("unauthorized"))
        for role in BELOW[route.role]:
            response = matrix.send(None, route.method, url, headers=_bearer(seeded.org.tokens[role]), **body)
            matrix.refused(f"{role} {label}", response, 403, check=_json_error(
                "forbidden", FORBIDDEN_ZH, {"required_role": route.role, "role": role}))
        for name, token in (("revoked", revoked), ("expired", expired), ("forged", "lbt_" + "x" * 43),
                            ("mp session", seeded.alice.token)):
            response = matrix.send(None, route.method, url, headers=_bearer(token), **body)
            matrix.refused(f"{name} token {label}", response, 401, check=_json_error("invalid_token"))
        response = matrix.send(console, route.method, url, headers={"X-CSRFToken": console_csrf}, **body)
        matrix.refused(f"console cookie {label}", response, 401, check=_json_error("unauthorized"))
        if route.method == "GET":
            matrix.answered(route, None, headers=_bearer(seeded.org.tokens[route.role]))
    assert store_fingerprint(seeded.stack.sessions) == before, "a refused request changed the config store"
    matrix.done()


def test_console_refuses_anonymous_and_lower_roles(seeded):
    routes = [r for r in classify(seeded.stack.app)[0] if r.kind == "console"]
    matrix = Matrix(seeded, "console")
    anonymous, anonymous_token = anonymous_csrf(seeded.base_url)
    browsers = {role: seeded.console(role) for role in ("viewer", "operator", "admin")}
    tokens = {role: page_csrf(http, seeded.base_url) for role, http in browsers.items()}
    before = store_fingerprint(seeded.stack.sessions)

    for route in routes:
        url, label = seeded.url(route.rule), f"{route.method} {route.rule}"
        unsafe = route.method in UNSAFE
        if unsafe:  # without a CSRF token the request stops there; with one, at the login check
            matrix.refused(f"anonymous, no CSRF {label}", matrix.send(None, route.method, url, data={}), 400)
        data = {"data": {"csrf_token": anonymous_token}} if unsafe else {}
        response = matrix.send(anonymous, route.method, url, **data)
        matrix.refused(f"anonymous {label}", response, 302, check=_to_login)
        response = matrix.send(None, route.method, url, headers=_bearer(seeded.org.tokens["admin"]),
                               **({"data": {"csrf_token": anonymous_token}} if unsafe else {}))
        matrix.refused(f"API token {label}", response, (302, 400), check=lambda r: r.status_code == 302 and _to_login(r))
        for role in BELOW[route.role]:
            data = {"data": {"csrf_token": tokens[role]}} if unsafe else {}
            response = matrix.send(browsers[role], route.method, url, **data)
            matrix.refused(f"{role} {label}", response, 403, check=_forbidden_page(route.role))
        if route.method == "GET":
            matrix.answered(route, browsers[route.role])
    assert store_fingerprint(seeded.stack.sessions) == before, "a refused request changed the config store"
    matrix.done()


def test_mini_program_personal_endpoints_answer_only_for_the_bound_host(seeded):
    routes = [r for r in classify(seeded.stack.app)[0] if r.kind == "mp_personal"]
    matrix = Matrix(seeded, "mini-program")
    alice, bob, stranger = seeded.alice, seeded.bob, seeded.stranger
    # what alice must never see: the other hosts (names, amounts) and everyone's secrets
    own = amount_for(12)
    others = [m for m in seeded.markers if m not in ("主播12", str(own), f"{own / 100:.2f}")]

    for route in routes:
        url, label = seeded.url(route.rule), f"{route.method} {route.rule}"
        body = {"json": {}} if route.method in UNSAFE else {}
        matrix.refused(f"anonymous {label}", matrix.send(None, route.method, url, **body), 401,
                       check=_json_error("login_required"))
        for name, token in (("forged", "mps_" + "A" * 43), ("admin API token", seeded.org.tokens["admin"]),
                            ("two tokens", f"{alice.token} {bob.token}")):
            response = matrix.send(None, route.method, url, headers=_bearer(token), **body)
            matrix.refused(f"{name} {label}", response, 401, check=_json_error("session_expired"))
        if route.method == "GET" and route.rule.startswith("/v1/mp/me/"):
            response = matrix.send(None, "GET", url, headers=_bearer(stranger.token))
            matrix.refused(f"unbound {label}", response, 403, check=_json_error("not_bound", NOT_BOUND_ZH))
        if route.method != "GET":
            continue
        # alice, pointing at bob (H03) every way a client could: she only ever gets her own figures
        for params, headers in _tampering(seeded):
            response = matrix.send(None, "GET", url, params=params, headers={**_bearer(alice.token), **headers})
            matrix.refused(f"alice→bob {label} {params or headers}", response, 200, markers=others,
                           check=_own_host("H12"))
        response = matrix.send(None, "GET", url, headers=_bearer(bob.token))  # and bob gets his
        matrix.refused(f"bob {label}", response, 200, markers=[], check=_own_host("H03"))

    # credits: alice's report, aimed at bob, adds to alice only
    credits_before = bob.call("GET", "/v1/mp/subscriptions").json()["credits"]
    response = matrix.send(None, "POST", seeded.base_url + "/v1/mp/subscriptions", headers=_bearer(alice.token),
                           json={"template_ids": [TPL_RANK], "user_id": seeded.bob_user_id, "host_id": "H03"})
    matrix.refused("alice credits aimed at bob", response, 200, markers=others)
    if bob.call("GET", "/v1/mp/subscriptions").json()["credits"] != credits_before:
        matrix.problems.append("alice's subscription report changed bob's credits")
    matrix.refused("unbound bind with a wrong code", matrix.send(
        None, "POST", seeded.base_url + "/v1/mp/bind", headers=_bearer(stranger.token), json={"code": "ZZZZ-ZZZZ"}),
        400, check=_json_error("invalid_bind_code"))
    me = matrix.send(None, "GET", seeded.base_url + "/v1/mp/me", headers=_bearer(stranger.token))
    matrix.refused("unbound /v1/mp/me", me, 200, check=lambda r: None if r.json()["bound"] is False else "bound?")
    matrix.done()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _tampering(seeded: Seeded) -> list[tuple[dict, dict]]:
    bob = str(seeded.bob_user_id)
    return [({}, {}),
            ({"host": "H03", "host_id": "H03", "participant_id": "H03", "id": "H03"}, {}),
            ({"user_id": bob, "user": bob, "uid": bob}, {}),
            ({"board": "enterprises", "period": "today", "campaign": "other"}, {}),
            ({}, {"X-Host-Id": "H03", "X-User-Id": bob, "X-Forwarded-User": bob}),
            ({}, {"Cookie": f"mp_token={seeded.bob.token}; token={seeded.bob.token}"})]


def _own_host(host_id: str):
    def check(response: requests.Response) -> str | None:
        payload = response.json()
        host = payload.get("host")
        if host is not None and host.get("id") != host_id:
            return f"answered for {host.get('id')}"
        return None

    return check


def test_route_kinds_cover_the_prefixes_the_issue_names():
    """The classifier's own rules, on a made-up route under each protected prefix."""
    from flask import Flask

    app = Flask(__name__)
    for path in ("/v1/admin/new-thing", "/console/new-page", "/v1/mp/me/new", "/v1/mp/other"):
        app.add_url_rule(path, endpoint=path, view_func=lambda: "")
    _, unclassified = classify(app)
    assert len(unclassified) == 3, unclassified  # /v1/mp/me/new is personal: bearer-checked by the matrix
    assert all(isinstance(r, Route) for r in classify(app)[0])


# -- county users of another county ------------------------------------------------------------------------
JISHOU = ("吉首市", "433101001")  # what a 泸溪 user must not see of 吉首 (besides the seeded markers)
CSV_JISHOU_HOST = ("kind,id,name,county\nhost,H99,吉首的新主播,433101\n".encode(), "hosts.csv")
CSV_JISHOU_TOWN = ("区划代码,区划名称\n433101001,乾州街道\n".encode(), "regions.csv")
PDF = b"%PDF-1.4\n%%EOF\n"


def _no_jishou(response: requests.Response) -> str | None:
    found = [m for m in JISHOU if m in response.text]
    return f"shows {found}" if found else None


def _import_refused(response: requests.Response) -> str | None:
    text = response.text
    if "县市账号只能导入和修改本县市的主播和企业" in text or "不在本账号负责的县市内" in text:
        return None
    return f"the other county's rows were not refused: {text[:160]}"


def _json_is(key: str, value) -> callable:
    return lambda r: None if r.json().get(key) == value else f"{key} = {r.json().get(key)!r}"


# The county-aware routes (backend.auth.COUNTY_AWARE) and what a 泸溪 user gets from each, pointed at
# 吉首's objects: 403 for any one of them, 200 without them for lists, a row-by-row refusal for imports.
COUNTY_CASES: dict[tuple[str, str], dict] = {
    ("admin_api.me", "GET"): {"status": 200, "check": _json_is("counties", ["433122"])},
    ("admin_api.list_participants", "GET"): {"status": 200, "query": {"board": "enterprises"}, "check": _no_jishou},
    ("admin_api.import_participants", "POST"): {"status": 200, "file": CSV_JISHOU_HOST, "check": _import_refused},
    ("admin_api.list_regions", "GET"): {"status": 200, "check": _no_jishou},
    ("admin_api.add_region", "POST"): {"status": 403, "json": {"code": "433101009", "name": "新镇", "parent_code": "433101"}},
    ("admin_api.list_stations", "GET"): {"status": 200, "check": _no_jishou},
    ("admin_api.add_station", "POST"): {"status": 403, "json": {"kind": "county_centre", "region_code": "433101",
                                                                "name": "另一个中心"}},
    ("awards_api.list_catalogue", "GET"): {"status": 200},
    ("awards_api.list_applications", "GET"): {"status": 200, "check": _json_is("applications", [])},
    ("awards_api.create_application", "POST"): {"status": 403, "json": {"reward_code": "self_built_platform",
                                                                        "year": 2026, "recipient_id": "E777"}},
    ("awards_api.get_application", "GET"): {"status": 403},
    ("awards_api.upload_application_file", "POST"): {"status": 403, "file": (PDF, "证明.pdf")},
    ("awards_api.download_application_file", "GET"): {"status": 403},
    ("awards_api.record_application_step", "POST"): {"status": 403, "json": {"step": "payment", "decision": "approved"}},
    ("awards_api.get_enterprise_awards", "GET"): {"status": 403},
    ("awards_api.set_tax_status", "PUT"): {"status": 403, "json": {"status": "non_compliant"}},
    ("awards_api.import_regions", "POST"): {"status": 200, "file": CSV_JISHOU_TOWN, "check": _import_refused},
    # (the page's help text names 吉首市 as an example: the seeded names and amounts are what must not show)
    ("console.participants", "GET"): {"status": 200, "query": {"board": "enterprises"}},
    ("console.participants_import", "POST"): {"status": 200, "file": CSV_JISHOU_HOST, "check": _import_refused},
    ("console.places_page", "GET"): {"status": 200, "check": _no_jishou},
    ("console.places_page", "POST"): {"status": 403, "data": {"kind": "county_centre", "region_code": "433101",
                                                              "name": "另一个中心"}},
    ("awards_console.catalogue", "GET"): {"status": 200},
    ("awards_console.applications", "GET"): {"status": 200},
    ("awards_console.application_new", "POST"): {"status": 403, "data": {"reward_code": "self_built_platform",
                                                                         "year": "2026", "recipient_id": "E777"}},
    ("awards_console.application_detail", "GET"): {"status": 403},
    ("awards_console.application_file", "GET"): {"status": 403},
    ("awards_console.application_upload", "POST"): {"status": 403, "file": (PDF, "证明.pdf")},
    ("awards_console.application_step", "POST"): {"status": 403, "data": {"step": "payment", "decision": "approved"}},
    ("awards_console.enterprise", "GET"): {"status": 403},
    ("awards_console.enterprise_tax", "POST"): {"status": 403, "data": {"year": "2026", "status": "non_compliant"}},
    ("awards_console.regions", "GET"): {"status": 200, "check": _no_jishou},
    ("awards_console.regions_import", "POST"): {"status": 200, "file": CSV_JISHOU_TOWN, "check": _import_refused},
}


def _county_page(response: requests.Response) -> str | None:
    from backend.auth import COUNTY_FORBIDDEN_ZH

    return None if "无权访问" in response.text and COUNTY_FORBIDDEN_ZH in response.text else "not the county 403 page"


def test_a_county_user_of_another_county_is_refused_everything_of_this_county(seeded):
    """Every admin and console route, as a 泸溪县 user of every role the route allows: prefecture-only
    routes are refused (403, county_scope), and the county-aware ones never hand over or change
    anything of 吉首市 (403 on its objects, lists without them, imports refusing its rows)."""
    from backend.auth import COUNTY_AWARE, COUNTY_FORBIDDEN_ZH

    routes = [r for r in classify(seeded.stack.app)[0] if r.kind in ("admin", "console")]
    assert {key for key in COUNTY_CASES} == {(r.endpoint, r.method) for r in routes if r.endpoint in COUNTY_AWARE}
    matrix = Matrix(seeded, "another county")
    browsers = {role: seeded.org.console(f"luxi-{role}") for role in ROLES}
    tokens = {role: page_csrf(http, seeded.base_url) for role, http in browsers.items()}
    before = store_fingerprint(seeded.stack.sessions)

    for route in routes:
        url = seeded.url(route.rule)
        case = COUNTY_CASES.get((route.endpoint, route.method))
        for role in [r for r in ROLES if RANK_OF[r] >= RANK_OF[route.role]]:
            label = f"luxi-{role} {route.method} {route.rule}"
            if route.kind == "admin":
                kwargs = {"headers": _bearer(seeded.org.tokens[f"luxi-{role}"])}
                if case and "file" in case:
                    kwargs["files"] = {"file": (case["file"][1], case["file"][0])}
                elif route.method in UNSAFE:
                    kwargs["json"] = (case or {}).get("json", {})
            else:
                kwargs = {}
                http = browsers[role]
                if route.method in UNSAFE:
                    kwargs["data"] = {"csrf_token": tokens[role], **(case or {}).get("data", {})}
                    if case and "file" in case:
                        kwargs["files"] = {"file": (case["file"][1], case["file"][0])}
            response = matrix.send(None if route.kind == "admin" else http, route.method, url,
                                   params=(case or {}).get("query", read_query()), **kwargs)
            if (route.endpoint, route.method) == ("console.dashboard", "GET"):  # the overview: to their start page
                matrix.refused(label, response, 302, check=lambda r: None if r.headers["Location"].endswith(
                    "/console/awards/applications") else f"sent to {r.headers['Location']}")
            elif case is None:
                check = (_json_error("county_scope", COUNTY_FORBIDDEN_ZH, {"counties": ["433122"]})
                         if route.kind == "admin" else _county_page)
                matrix.refused(label, response, 403, check=check)
            elif case["status"] == 403:
                matrix.refused(label, response, 403, check=_json_error("county_scope") if route.kind == "admin"
                               else lambda r: None if "无权访问" in r.text else "not a 403 page")
            else:
                matrix.refused(label, response, case["status"], check=case.get("check"))
    assert store_fingerprint(seeded.stack.sessions) == before, "another county's user changed the config store"
    matrix.done()


RANK_OF = {"viewer": 1, "operator": 2, "admin": 3}
