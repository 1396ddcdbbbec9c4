"""Security headers on every page: each GET route of app.url_map (seeded path parameters, the
credentials its kind needs) and the error answers (302 to login, 400, 401, 403, 404, 405, 500),
checked for the Content-Security-Policy, nosniff, framing, Referrer-Policy, no-store on private
answers, and HSTS behind TLS. Rendered pages carry no inline script, style or handler (the CSP
would refuse them), and real chromium shows the board and the console with no CSP violation."""
from __future__ import annotations

import re
import time
from html.parser import HTMLParser

import pytest
import requests

from backend.app import create_app
from tests.e2e.organizer.conftest import PASSWORD
from tests.security.access_helpers import SLUG, Seeded, anonymous_csrf, classify, read_query, seeded_stack

pytestmark = pytest.mark.e2e
PRIVATE = ("/console", "/v1/admin", "/v1/mp/")
seeded = seeded_stack("headers")


def _policy(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def header_problems(path: str, response, *, tls: bool = False) -> list[str]:
    """What is wrong with one response's security headers (empty: nothing)."""
    headers, problems = response.headers, []
    csp = _policy(headers.get("Content-Security-Policy", ""))
    if csp.get("default-src") != ["'self'"] or csp.get("script-src") != ["'self'"]:
        problems.append(f"CSP scripts: {headers.get('Content-Security-Policy')}")
    for directive, allowed in (("style-src", ["'self'"]), ("object-src", ["'none'"]),
                               ("frame-ancestors", ["'none'"]), ("base-uri", ["'none'"])):
        if csp.get(directive) != allowed:
            problems.append(f"CSP {directive}: {csp.get(directive)}")
    if any("unsafe" in word for words in csp.values() for word in words):
        problems.append("CSP allows unsafe-*")
    expected = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                "Referrer-Policy": "strict-origin-when-cross-origin"}
    problems += [f"{name}: {headers.get(name)}" for name, value in expected.items() if headers.get(name) != value]
    if path.startswith(PRIVATE) and "no-store" not in headers.get("Cache-Control", ""):
        problems.append(f"Cache-Control: {headers.get('Cache-Control')}")
    hsts = headers.get("Strict-Transport-Security")
    if tls and not (hsts and "max-age=31536000" in hsts):
        problems.append(f"HSTS: {hsts}")
    if not tls and hsts:
        problems.append("HSTS over plain HTTP without cookie_secure")
    return [f"{response.status_code} {path}: {p}" for p in problems]


class InlineCode(HTMLParser):
    """Inline <script>, <style>, style="", on*="" and javascript: URLs in a page."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and not attrs.get("src") and attrs.get("type") not in ("application/json",):
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs.items():
            if name == "style":
                self.found.append(f"style attribute on <{tag}>")
            if name.startswith("on"):
                self.found.append(f"{name} handler on <{tag}>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: URL on <{tag}>")


def _credentials(seeded: Seeded) -> dict[str, dict]:
    console = seeded.console("admin")
    return {"console": {"session": console}, "admin": {"headers": {"Authorization": f"Bearer {seeded.org.tokens['admin']}"}},
            "mp_personal": {"headers": {"Authorization": f"Bearer {seeded.alice.token}"}}}


def test_every_get_route_and_error_answer_has_the_headers(seeded):
    routes = [r for r in classify(seeded.stack.app)[0] if r.method == "GET"]
    credentials = _credentials(seeded)
    problems, pages, inline = [], 0, []
    started = time.monotonic()
    for route in routes:
        how = credentials.get(route.kind, {})
        http = how.get("session") or requests
        url = seeded.url(route.rule)
        response = http.get(url, headers=how.get("headers", {}), params=read_query(), allow_redirects=False,
                            timeout=60)
        # /healthz is 503 here by design: the seeded deployment runs no writer
        if response.status_code != (503 if route.rule == "/healthz" else 200):
            problems.append(f"{route.rule}: {response.status_code} (seeded parameters should give a page)")
        problems += header_problems(route.rule, response)
        if response.headers.get("Content-Type", "").startswith("text/html"):
            pages += 1
            parser = InlineCode()
            parser.feed(response.text)
            inline += [f"{route.rule}: {what}" for what in parser.found]

    # the answers nobody asked for: redirects, refusals, errors
    anonymous, _ = anonymous_csrf(seeded.base_url)
    viewer = seeded.console("viewer")
    base = seeded.base_url
    errors = [
        ("/console/", requests.get(f"{base}/console/", allow_redirects=False, timeout=30), 302),
        ("/console/tokens", anonymous.post(f"{base}/console/tokens", data={}, timeout=30), 400),
        ("/console/users", viewer.get(f"{base}/console/users", timeout=30), 403),
        ("/console/nope", viewer.get(f"{base}/console/nope", timeout=30), 404),
        ("/console/login", requests.post(f"{base}/console/login", data={"username": "x", "password": "y"},
                                         timeout=30), 400),
        ("/v1/admin/campaigns", requests.get(f"{base}/v1/admin/campaigns", timeout=30), 401),
        ("/v1/admin/users", requests.get(f"{base}/v1/admin/users", timeout=30,
                                         headers={"Authorization": f"Bearer {seeded.org.tokens['viewer']}"}), 403),
        ("/v1/mp/me", requests.get(f"{base}/v1/mp/me", timeout=30), 401),
        ("/v1/mp/login", requests.get(f"{base}/v1/mp/login", timeout=30), 405),
        ("/v1/nope", requests.get(f"{base}/v1/nope", timeout=30), 404),
        ("/boards/no-such", requests.get(f"{base}/boards/no-such", timeout=30), 404),
        ("/static/nope.js", requests.get(f"{base}/static/nope.js", timeout=30), 404),
        (f"/v1/webhooks/{seeded.stack.source}", requests.post(f"{base}/v1/webhooks/{seeded.stack.source}",
                                                               json={}, timeout=30), 401),
    ]
    for path, response, status in errors:
        if response.status_code != status:
            problems.append(f"{path}: {response.status_code}, expected {status}")
        problems += header_problems(path, response)
    print(f"\n[headers] {len(routes)} GET routes ({pages} HTML pages) + {len(errors)} error answers: "
          f"{len(problems)} problems, {len(inline)} inline scripts/styles ({time.monotonic() - started:.1f} s)")
    assert problems == [], "\n".join(problems)
    assert inline == [], "\n".join(inline)


def test_server_error_and_tls_answers_have_the_headers(seeded):
    settings = seeded.stack.settings
    plain = create_app(settings)

    @plain.get("/__boom")
    def boom():
        raise RuntimeError("boom")

    secure = create_app(settings.with_(cookie_secure=True))
    try:
        client = plain.test_client()
        response = client.get("/__boom")
        assert response.status_code == 500 and response.get_json()["error"]["code"] == "internal_error"
        problems = header_problems("/__boom", response)
        # behind TLS (cookie_secure, or the request itself over https): HSTS, and a Secure cookie
        for path in ("/", "/console/login", f"/boards/{SLUG}", "/v1/nope"):
            response = secure.test_client().get(path)
            problems += header_problems(path, response, tls=True)
        login = secure.test_client().get("/console/login")
        assert "Secure" in login.headers["Set-Cookie"] and "HttpOnly" in login.headers["Set-Cookie"]
        problems += header_problems("/ (https)", client.get("/", base_url="https://localhost"), tls=True)
        assert problems == [], "\n".join(problems)
    finally:
        for app in (plain, secure):
            app.extensions["liveboard"].event_log.close()
            app.extensions["liveboard"].engine.dispose()
    print("\n[headers] 500 page, TLS (cookie_secure and https): headers present, HSTS max-age=31536000")


def test_chromium_shows_the_pages_with_no_csp_violation(seeded, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    base, wait = seeded.base_url, WebDriverWait(browser, 30)
    browser.get(f"{base}/boards/{SLUG}")
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded") == "1")
    wait.until(EC.text_to_be_present_in_element((By.ID, "board-hosts"), "主播12"))
    assert browser.find_elements(By.CSS_SELECTOR, "#chart canvas"), "ECharts drew nothing"
    assert browser.execute_script("return getComputedStyle(document.querySelector('header')).color") == \
        "rgb(255, 255, 255)", "the page's stylesheet did not apply"
    visited = [f"/boards/{SLUG}"]

    browser.get(f"{base}/console/login")
    browser.find_element(By.ID, "username").send_keys("admin-user")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login-submit").click()
    wait.until(EC.presence_of_element_located((By.ID, "health")))
    for path in ("/console/", "/console/sources", f"/console/campaigns/{SLUG}", "/console/tokens",
                 f"/console/awards/{seeded.path_values['list_id']}", "/console/awards/boards", "/v1/docs"):
        browser.get(base + path)
        wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
        visited.append(path)
    # the revoke button asks first (the handler moved from an inline onsubmit to /static/js/console.js)
    browser.get(f"{base}/console/sources")
    browser.execute_script("window.confirm = function (q) { window.__asked = q; return false; };")
    browser.find_element(By.CSS_SELECTOR, "form[data-confirm] button").click()
    assert "吊销" in (browser.execute_script("return window.__asked") or "")
    assert "/console/sources" in browser.current_url

    logs = browser.get_log("browser")
    violations = [entry["message"] for entry in logs if entry.get("source") == "security"
                  or re.search(r"Content.Security.Policy|Refused to", entry["message"], re.I)]
    print(f"\n[headers] chromium: {len(visited)} pages, {len(logs)} console messages, "
          f"{len(violations)} CSP violations")
    assert violations == [], "\n".join(violations)
