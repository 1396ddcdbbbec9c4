"""Host binding leaves an audit trail like every other change: codes issued (and the unused ones
they revoke), codes used, bindings made, replaced and removed, each with who did it; never a code."""
from __future__ import annotations

from collections import Counter
from typing import Iterator

import pytest

from backend.app import create_app
from configstore import accounts, audit
from configstore.migrate import upgrade as migrate_config
from configstore.wechat_models import utcnow
from settings import Settings
from tests.e2e.mp_helpers import seed_campaign, wechat_overrides
from tests.fakes.fake_wechat import FakeWeChat

PASSWORD = "correct-horse-42"


@pytest.fixture
def app(tmp_path) -> Iterator:
    with FakeWeChat() as fake:
        settings = Settings(data_dir=tmp_path / "data", **wechat_overrides(fake))
        settings.secure_data_dir()
        migrate_config(settings.config_db_url)
        app = create_app(settings)
        seed_campaign(app.extensions["liveboard"].sessions, "bind-audit", hosts=2)
        yield app
        app.extensions["liveboard"].close()


def _entries(sessions) -> list[dict]:
    found = [e for kind in ("host_bind_codes", "host_bindings")
             for e in audit.list_entries(sessions, target_type=kind, limit=500)]
    return sorted(found, key=lambda e: e["id"])


def test_codes_bindings_and_removals_are_audited_with_their_actor(app):
    sessions = app.extensions["liveboard"].sessions
    accounts.create_user(sessions, "bind-admin", PASSWORD, "operator")
    admin = {"Authorization": f"Bearer {accounts.create_token(sessions, 'bind-admin', 'binding')[1]}"}
    client = app.test_client()

    def issue() -> str:
        response = client.post("/v1/admin/hosts/H01/bind-code?image=0", headers=admin)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["code"]

    def mp_user(name: str) -> tuple[int, dict]:
        login = client.post("/v1/mp/login", json={"code": f"code-{name}.{utcnow().timestamp()}"}).get_json()
        return login["user"]["id"], {"Authorization": f"Bearer {login['token']}"}

    codes = [issue(), issue()]  # the second revokes the first
    alice, alice_auth = mp_user("alice")
    assert client.post("/v1/mp/bind", json={"code": codes[1]}, headers=alice_auth).status_code == 200
    codes.append(issue())
    bob, bob_auth = mp_user("bob")
    assert client.post("/v1/mp/bind", json={"code": codes[2]}, headers=bob_auth).status_code == 200  # replaces alice
    assert client.delete("/v1/admin/hosts/H01/binding", headers=admin).get_json()["unbound"] is True

    entries = _entries(sessions)
    seen = Counter((e["actor"], e["action"], e["target_type"]) for e in entries)
    print(f"\n[audit] binding: {len(entries)} entries: " + ", ".join(f"{k[0]} {k[1]} {k[2]} ×{n}"
                                                                   for k, n in seen.items()))
    assert seen == Counter({
        ("bind-admin", "create", "host_bind_codes"): 3,
        ("bind-admin", "update", "host_bind_codes"): 1,  # the first code revoked by the second
        (f"mp_user:{alice}", "update", "host_bind_codes"): 1,  # used
        (f"mp_user:{alice}", "create", "host_bindings"): 1,
        (f"mp_user:{bob}", "update", "host_bind_codes"): 1,
        (f"mp_user:{bob}", "delete", "host_bindings"): 1,  # alice's binding, replaced
        (f"mp_user:{bob}", "create", "host_bindings"): 1,
        ("bind-admin", "delete", "host_bindings"): 1,
    })
    revoked = next(e for e in entries if e["action"] == "update" and e["actor"] == "bind-admin")
    assert revoked["before"]["revoked_at"] is None and revoked["after"]["revoked_at"]
    used = next(e for e in entries if e["actor"] == f"mp_user:{alice}" and e["target_type"] == "host_bind_codes")
    assert used["after"]["used_by_user_id"] == alice and used["before"]["used_at"] is None
    removed = entries[-1]
    assert (removed["action"], removed["before"]["host_id"], removed["before"]["user_id"]) == ("delete", "H01", bob)
    text = str(entries)
    assert not [c for c in codes if c in text]  # codes never, their hashes only as fingerprints
    assert all(e["after"]["code_hash"].startswith("sha256:") for e in entries
               if e["target_type"] == "host_bind_codes" and e["action"] == "create")
