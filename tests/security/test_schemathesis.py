"""Schemathesis against /v1/openapi.json: property-based requests to every documented operation of
the live app (embedded: SQLite event log, chDB, fake WeChat), authenticated and anonymously.

Checks on every response: no 5xx, the status code is documented, so is the content type, and the
body matches the documented schema (error bodies included: each error status pins error.code to
the codes the document lists). Anonymous requests to secured operations must get a 401. Two in
three webhook requests are signed (half of those with occurred_at set to now) so valid events reach
the 202 path; a rejected one must leave the event log as it was. Path parameters hit seeded data
(a campaign with published boards, participants, a bound host, an award list) for part of the cases.
"""
from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.adapter.validators import validate_v3
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.app import create_app
from backend.openapi import build_spec
from configstore import accounts, registry
from configstore.db import transaction
from configstore.models import Enterprise, Host
from configstore.sources import create_source
from liveboard.sender import sign_headers
from liveboard.wiring import build_writer
from operations.migrations import migrate_all
from scheduler.ranking_job import publish_all
from settings import Settings
from tests.e2e.mp_helpers import PEPPER, wechat_overrides
from tests.fakes.fake_wechat import FakeWeChat
from tests.security.fuzz_embedded import embedded_settings
from tests.support import order_event
from wechat.binding import issue_bind_code

pytestmark = pytest.mark.timeout(900)

MAX_EXAMPLES = {"authenticated": 50, "anonymous": 15}  # per operation and generation mode
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SLUG, SOURCE, PASSWORD = "st-2026", "st-shop", "correct-horse-42"
SEEDED = {"slug": SLUG, "board": "hosts", "participant_id": "H01", "host_id": "H01", "list_id": 1,
          "source_name": SOURCE, "username": "st-operator", "region_code": "433101", "year": 2026}
TODAY = datetime.now(timezone(timedelta(hours=8))).date().isoformat()  # the day the seeded boards are published for
# Run last, in this order: each can take away what the others use (a campaign's status, a binding,
# the operator account, a source's secret, tokens).
DESTRUCTIVE = ["POST /v1/admin/campaigns/{slug}/status", "DELETE /v1/admin/campaigns/{slug}",
               "DELETE /v1/admin/campaigns/{slug}/disqualifications/{board}/{participant_id}",
               "DELETE /v1/admin/hosts/{host_id}/binding", "PATCH /v1/admin/users/{username}",
               "POST /v1/admin/sources/{name}/rotate", "POST /v1/admin/sources/{name}/revoke",
               "DELETE /v1/admin/tokens/{token_id}"]
CASES: Counter[str] = Counter()
SKIPPED_NEGATIVE: list[str] = []
STATUSES: dict[str, Counter[int]] = {}


def _labels() -> list[str]:
    labels = [f"{method.upper()} {path}" for path, items in build_spec()["paths"].items() for method in items]
    assert set(DESTRUCTIVE) <= set(labels)
    return [label for label in labels if label not in DESTRUCTIVE] + DESTRUCTIVE


LABELS = _labels()


@dataclass
class Api:
    app: object
    schema: object
    secret: str
    admin_token: str
    admin_token_id: int
    mp_token: str

    @property
    def log(self):
        return self.app.extensions["liveboard"].event_log

    def log_size(self) -> int:
        return self.log.count(self.log.sales_topic)


def _seed(app, settings_: Settings, client) -> tuple[str, str, int, str]:
    runtime = app.extensions["liveboard"]
    sessions = runtime.sessions
    today = datetime.now(timezone(timedelta(hours=8))).date()
    registry.upsert_campaign(sessions, slug=SLUG, name="千村千红·湘西香伴（安全测试）", first_day=today - timedelta(days=3),
                             last_day=today + timedelta(days=3))
    with transaction(sessions) as s:
        for i in range(1, 6):
            s.add(Host(id=f"H{i:02d}", name=f"主播{i:02d}", county="433101"))
        for i in range(1, 4):
            s.add(Enterprise(id=f"E{i:02d}", name=f"企业{i:02d}", county="433122"))
    secret = create_source(sessions, SOURCE, box=runtime.secrets)
    events = [order_event(campaign=SLUG, host=f"H{i % 5 + 1:02d}", enterprise=f"E{i % 3 + 1:02d}",
                          amount_fen=1000 * (i + 1), buyer=f"b{i}") for i in range(15)]
    body = json.dumps({"events": events}).encode()
    assert client.post(f"/v1/webhooks/{SOURCE}", data=body, headers=sign_headers(secret, body)).status_code == 202
    writer = build_writer(settings_)
    for _ in range(10):
        writer.run_once()
    writer.close()
    publish_all(sessions, runtime.store)

    accounts.create_user(sessions, "st-admin", PASSWORD, "admin")
    accounts.create_user(sessions, "st-operator", PASSWORD, "operator")
    listing, admin_token = accounts.create_token(sessions, "st-admin", "schemathesis")
    auth = {"Authorization": f"Bearer {admin_token}"}
    computed = client.post("/v1/admin/awards/compute", headers=auth,
                           json={"kind": "top_influencers", "scope": "campaign", "scope_key": SLUG})
    assert computed.status_code == 201, computed.get_data(as_text=True)

    login = client.post("/v1/mp/login", json={"code": "code-schemathesis"})
    assert login.status_code == 200, login.get_data(as_text=True)
    mp_token = login.get_json()["token"]
    code = issue_bind_code(sessions, "H01", ttl_seconds=3600, pepper=PEPPER).code
    bound = client.post("/v1/mp/bind", json={"code": code}, headers={"Authorization": f"Bearer {mp_token}"})
    assert bound.status_code == 200, bound.get_data(as_text=True)
    return secret, admin_token, listing["id"], mp_token


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    data = tmp_path_factory.mktemp("schemathesis")
    with FakeWeChat() as wx:
        settings_ = embedded_settings(data / "data", **wechat_overrides(wx))
        migrate_all(settings_)
        app = create_app(settings_)
        secret, admin_token, admin_token_id, mp_token = _seed(app, settings_, app.test_client())
        schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", app)
        started = time.monotonic()
        yield Api(app, schema, secret, admin_token, admin_token_id, mp_token)
        app.extensions["liveboard"].event_log.close()
        for name, statuses in STATUSES.items():
            print(f"\n  {name}: " + " ".join(f"{status}×{n}" for status, n in sorted(statuses.items())), end="")
        print(f"\n[schemathesis] cases tried: {sum(CASES.values())} "
              f"(authenticated {CASES['authenticated']}, anonymous {CASES['anonymous']}) "
              f"over {len(LABELS)} operations in {time.monotonic() - started:.0f} s; negative mode unsatisfiable "
              f"(nothing to make invalid) for {len(set(SKIPPED_NEGATIVE))} of them")


def test_document_is_valid_and_covers_every_json_route(api):
    document = api.app.test_client().get("/v1/openapi.json").get_json()
    validate_v3(document)  # the OpenAPI 3.0 meta-schema (raises on any violation)
    documented = {(method.upper(), path) for path, items in document["paths"].items() for method in items}
    served = set()
    for rule in api.app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in ("console", "awards_console", "connectors_console", "pages", "static",
                                           "api_docs"):
            continue  # HTML pages and the document itself
        if rule.endpoint == "health.metrics":
            continue  # Prometheus text format, not JSON
        path = rule.rule.replace("<int:", "<").replace("<", "{").replace(">", "}")
        served |= {(method, path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == documented
    for path, items in document["paths"].items():
        for method, item in items.items():
            for status, response in item["responses"].items():
                if (method, path, status) == ("get", "/healthz", "503"):
                    continue  # an unhealthy deployment's health report, not an error of the request
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"} or \
                        schema["allOf"][0] == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def _auth_headers(api: Api, operation, mode: str) -> dict[str, str]:
    if mode == "anonymous":
        return {}
    schemes = {name for requirement in operation.definition.raw.get("security", []) for name in requirement}
    if "bearer" in schemes:
        return {"Authorization": f"Bearer {api.admin_token}"}
    if "mpSession" in schemes:
        return {"Authorization": f"Bearer {api.mp_token}"}
    return {}


def _strategy(operation, generation_mode: GenerationMode):
    """Generated cases; in positive mode also cases whose path (and `day`) name seeded data."""
    generated = operation.as_strategy(generation_mode=generation_mode)
    parameters = operation.definition.raw.get("parameters", [])
    seeded = {p["name"]: SEEDED[p["name"]] for p in parameters if p["in"] == "path" and p["name"] in SEEDED}
    query = {"day": TODAY} if any(p["in"] == "query" and p["name"] == "day" for p in parameters) else None
    if not (seeded or query) or generation_mode == GenerationMode.NEGATIVE:
        return generated
    on_seeds = operation.as_strategy(generation_mode=generation_mode, path_parameters=seeded, query=query)
    return st.booleans().flatmap(lambda use_seeds: on_seeds if use_seeds else generated)  # half and half


def _now_events(body):
    """The generated event(s) with occurred_at set to now, so schema-valid ones reach the 202 path."""
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    items = body.get("events") if isinstance(body.get("events"), list) else [body]
    for item in items:
        if isinstance(item, dict) and "occurred_at" in item:
            item["occurred_at"] = now
    return body


def _call(api: Api, case, headers: dict[str, str], signing: str):
    if case.operation.path == "/v1/webhooks/{source_name}" and signing != "unsigned" and \
            isinstance(case.body, (dict, list)):
        payload = _now_events(case.body) if signing == "signed-now" and isinstance(case.body, dict) else case.body
        body = json.dumps(payload, ensure_ascii=False).encode()
        return case.call(data=body, headers={**headers, **sign_headers(api.secret, body)})
    if case.path_parameters and case.path_parameters.get("token_id") == api.admin_token_id:
        case.path_parameters["token_id"] = api.admin_token_id + 10_000  # keep the token this run uses
    return case.call(headers=headers)


def _unrouted(response, generation_mode: GenerationMode) -> bool:
    """A negative case whose path matches no route (e.g. a negative <int:...>): Flask's 404 before any auth."""
    return generation_mode == GenerationMode.NEGATIVE and response.status_code == 404 and \
        response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("mode", ["anonymous", "authenticated"])
@pytest.mark.parametrize("label", LABELS)
def test_operation(api, label, mode):
    operation = api.schema.find_operation_by_label(label)
    assert operation is not None, label
    headers = _auth_headers(api, operation, mode)
    secured = bool(operation.definition.raw.get("security"))
    webhook = operation.path == "/v1/webhooks/{source_name}"
    # /healthz answers 503 here by design (this deployment runs no writer): a documented health
    # report, checked against its schema like every answer, not a server error
    checks = [c for c in CHECKS if c is not not_a_server_error] if operation.path == "/healthz" else CHECKS

    for generation_mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        @settings(max_examples=MAX_EXAMPLES[mode], derandomize=True, database=None, deadline=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=_strategy(operation, generation_mode),
               signing=st.sampled_from(["unsigned", "signed", "signed-now"]) if webhook else st.just("unsigned"))
        def run(case, signing):
            CASES[mode] += 1
            before = api.log_size() if webhook else 0
            response = _call(api, case, headers, signing)
            STATUSES.setdefault(f"{label} [{mode}]", Counter())[response.status_code] += 1
            case.validate_response(response, checks=checks)
            if mode == "anonymous" and secured and not _unrouted(response, generation_mode):  # noqa: B023 (same iteration)
                assert response.status_code == 401, case.as_curl_command()
            if webhook and response.status_code >= 400:
                assert api.log_size() == before, case.as_curl_command()  # nothing rejected is stored

        try:
            run()
        except Unsatisfiable:
            if generation_mode == GenerationMode.POSITIVE:
                raise
            SKIPPED_NEGATIVE.append(label)  # nothing in the operation can be made invalid (e.g. only a free-text path)
