"""Secrets at rest: webhook secrets and WeChat session keys are sealed in the config store (the
SQLite file's bytes and PostgreSQL's rows hold neither in clear); values stored before encryption
are sealed at start-up, once; the data dir and its files are the OS user's alone; a backup holds no
session key and no secret in clear, is the owner's alone, and restores only with the same key."""
from __future__ import annotations

import gzip
import os
import sqlite3
import stat
import time
import uuid
from pathlib import Path
from typing import Iterator

import orjson
import pytest
import requests
import sqlalchemy as sa
from cryptography.fernet import Fernet

from backend.app import create_app
from configstore import accounts
from configstore.secretbox import PREFIX, SecretBox, SecretUnreadable
from configstore.sources import new_secret
from liveboard.sender import WebhookSender, sign_headers
from operations.backup import BackupError, create_backup, restore_backup
from operations.migrations import migrate_all
from services.runtime import Runtime
from tests.e2e.conftest import build_stack
from tests.e2e.mp_helpers import MiniProgram, seed_campaign, wechat_overrides
from tests.fakes.fake_wechat import FakeWeChat
from tests.security.access_helpers import chdb_dir
from tests.security.fuzz_embedded import embedded_settings
from tests.support import order_event

pytestmark = pytest.mark.e2e
CAMPAIGN = "sec-rest"
PASSWORD = "at-rest-password-31"


@pytest.fixture
def fake() -> Iterator[FakeWeChat]:
    with FakeWeChat() as wx:
        yield wx


def _forms(secret: str) -> list[str]:
    """The ways a secret could sit in a file: whole, and its base64 key part."""
    return [secret, secret.removeprefix("whsec_")]


def _mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def _sealed_rows(engine) -> dict[str, list[str]]:
    with engine.connect() as conn:
        return {"webhook_secrets": list(conn.scalars(sa.text("SELECT secret FROM webhook_secrets"))),
                "wechat_users": list(conn.scalars(sa.text("SELECT session_key FROM wechat_users")))}


def _everything_stored(stack) -> bytes:
    """What an attacker with the store gets: the SQLite files' bytes, or every row of PostgreSQL."""
    engine = stack.runtime.engine
    if engine.dialect.name == "sqlite":
        path = Path(engine.url.database)
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    with engine.connect() as conn:
        tables = sa.inspect(conn).get_table_names()
        return "\n".join(str(row) for table in tables
                         for row in conn.execute(sa.text(f'SELECT t::text FROM "{table}" t'))).encode()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_no_secret_and_no_session_key_in_the_store(backend, request, tmp_path, tmp_path_factory, fake):
    database_url = request.getfixturevalue("postgres_service").create_database("rest") if backend == "postgres" else ""
    stack = build_stack("embedded", tmp_path, request, chdb_dir=chdb_dir(tmp_path_factory), database_url=database_url,
                        **wechat_overrides(fake))
    try:
        seed_campaign(stack.sessions, CAMPAIGN)
        accounts.create_user(stack.sessions, "rest-admin", PASSWORD, "admin")
        _, token = accounts.create_token(stack.sessions, "rest-admin", "rest")
        admin = {"Authorization": f"Bearer {token}"}
        created = requests.post(f"{stack.base_url}/v1/admin/sources", json={"name": "rest-shop"}, headers=admin,
                                timeout=30).json()["secret"]
        rotated = requests.post(f"{stack.base_url}/v1/admin/sources/rest-shop/rotate", headers=admin,
                                timeout=30).json()["secret"]
        event = order_event(campaign=CAMPAIGN, host="H01", enterprise="E1", amount_fen=100)
        for secret in (created, rotated):  # both active secrets verify: sealed, then opened in the cache
            assert WebhookSender(stack.base_url, "rest-shop", secret).post(event).status_code == 202
        for name in ("alice", "bob", "alice"):
            MiniProgram(stack.base_url).login(f"code-{name}.{time.time()}")
        session_keys = [c["session_key"] for c in fake.codes_issued]
        secrets = [stack.secret, created, rotated]

        stored = _everything_stored(stack)
        found = [value[:10] + "…" for s in secrets for value in _forms(s) if value.encode() in stored]
        found += [key[:6] + "…" for key in session_keys if key.encode() in stored]
        rows = _sealed_rows(stack.runtime.engine)
        print(f"\n[at rest] {backend}: {len(stored):,} bytes of the store searched for {len(secrets)} webhook secrets "
              f"and {len(session_keys)} session keys: {len(found)} found; stored values sealed: "
              f"{sum(v.startswith(PREFIX) for v in rows['webhook_secrets'])}/{len(rows['webhook_secrets'])} secrets, "
              f"{sum(v.startswith(PREFIX) for v in rows['wechat_users'])}/{len(rows['wechat_users'])} session keys")
        assert found == []
        assert rows["webhook_secrets"] and all(v.startswith(PREFIX) for v in rows["webhook_secrets"])
        assert len(rows["wechat_users"]) == 2 and all(v.startswith(PREFIX) for v in rows["wechat_users"])
        box = stack.runtime.secrets
        assert sorted(box.open(v) for v in rows["webhook_secrets"]) == sorted(secrets)
        assert {box.open(v) for v in rows["wechat_users"]} <= set(session_keys)
    finally:
        stack.close()


def _legacy_rows(engine, secret: str, session_key: str) -> None:
    """What a store written before encryption holds: a source with a plain secret, a plain session key."""
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO webhook_sources (name, description, created_at) "
                             "VALUES ('legacy-shop', '', CURRENT_TIMESTAMP)"))
        source_id = conn.scalar(sa.text("SELECT id FROM webhook_sources WHERE name = 'legacy-shop'"))
        conn.execute(sa.text("INSERT INTO webhook_secrets (source_id, secret, created_at) "
                             "VALUES (:id, :secret, CURRENT_TIMESTAMP)"), {"id": source_id, "secret": secret})
        conn.execute(sa.text("INSERT INTO wechat_users (appid, openid, session_key, created_at) "
                             "VALUES ('wxapp', 'o-legacy', :key, CURRENT_TIMESTAMP)"), {"key": session_key})


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_plain_rows_are_sealed_at_start_once(backend, request, tmp_path):
    database_url = request.getfixturevalue("postgres_service").create_database("legacy") if backend == "postgres" \
        else ""
    settings = embedded_settings(tmp_path / "data", database_url=database_url)
    migrate_all(settings)
    engine = sa.create_engine(settings.config_db_url)
    secret, session_key = new_secret(), "bGVnYWN5LXNlc3Npb24ta2V5"
    _legacy_rows(engine, secret, session_key)

    migrate_all(settings)  # start-up: the plain values get sealed
    sealed = _sealed_rows(engine)
    migrate_all(settings)  # and again: nothing changes
    assert _sealed_rows(engine) == sealed
    assert all(v.startswith(PREFIX) for values in sealed.values() for v in values)
    box = SecretBox(settings.with_secret_key().secrets_key)
    assert box.open(sealed["webhook_secrets"][0]) == secret and box.open(sealed["wechat_users"][0]) == session_key

    app = create_app(settings)  # the platform's old secret still signs
    body = orjson.dumps(order_event(campaign=CAMPAIGN, host="H1", enterprise="E1", amount_fen=1))
    response = app.test_client().post("/v1/webhooks/legacy-shop", data=body, headers=sign_headers(secret, body))
    assert response.status_code == 202, response.get_json()
    app.extensions["liveboard"].close()

    wrong = settings.with_(secrets_key=Fernet.generate_key().decode())
    with pytest.raises(SecretUnreadable, match="LIVEBOARD_SECRETS_KEY 与加密时不一致"):
        migrate_all(wrong)  # a process with another key stops at start, and changes nothing
    assert _sealed_rows(engine) == sealed
    print(f"\n[at rest] {backend}: plain rows sealed at start-up "
          f"({len(sealed['webhook_secrets'])} secret, {len(sealed['wechat_users'])} session key), unchanged by a "
          f"second start, refused with another key")
    engine.dispose()


def test_the_data_dir_is_the_owners_alone(tmp_path):
    old_umask = os.umask(0o022)  # what most systems give a process
    try:
        # a data dir made by an older version: 0755, its SQLite files 0644
        old = embedded_settings(tmp_path / "old")
        old.data_dir.mkdir(mode=0o755)
        sqlite3.connect(old.data_dir / "config.sqlite3").close()
        (old.data_dir / "secret_key").write_text("k")
        os.chmod(old.data_dir / "secret_key", 0o644)
        fresh = embedded_settings(tmp_path / "fresh")
        modes = {}
        for name, settings in (("existing", old), ("fresh", fresh)):
            migrate_all(settings)
            runtime = Runtime.build(settings)
            with runtime.engine.begin() as conn:
                conn.execute(sa.text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))  # -wal and -shm exist now
            files = sorted(p for p in settings.data_dir.rglob("*") if p.is_file() and "chdb" not in p.parts)
            modes[name] = {"data dir": _mode(settings.data_dir), "chdb dir": _mode(settings.chdb_path),
                           **{p.name: _mode(p) for p in files}}
            runtime.close()
    finally:
        os.umask(old_umask)
    print("\n[at rest] modes with umask 022: " + "; ".join(f"{k}: {v}" for k, v in modes.items()))
    for found in modes.values():
        assert found["data dir"] == found["chdb dir"] == "0o700"
        assert {"config.sqlite3", "eventlog.sqlite3", "secret_key", "secrets_key"} <= set(found)
        assert {mode for name, mode in found.items() if not name.endswith("dir")} == {"0o600"}, found


def _backup_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_backups_keep_secrets_sealed_and_leave_session_keys_out(request, tmp_path, tmp_path_factory, fake):
    stack = build_stack("embedded", tmp_path / "origin", request, chdb_dir=chdb_dir(tmp_path_factory),
                        **wechat_overrides(fake))
    try:
        seed_campaign(stack.sessions, CAMPAIGN)
        MiniProgram(stack.base_url).login(f"code-carol.{time.time()}")
        session_keys = [c["session_key"] for c in fake.codes_issued]
        legacy = new_secret()  # written in plain text after start-up (as by an older process): sealed on the way out
        _legacy_rows(stack.runtime.engine, legacy, "cGxhaW4ta2V5")
        settings = stack.runtime.settings
        dest = tmp_path / "backups" / "b1"
        create_backup(settings, dest)

        files = _backup_files(dest)
        everything = b"".join(files.values())
        modes = {str(p.relative_to(dest)) or ".": _mode(p) for p in [dest, *dest.rglob("*")]}
        found = [v[:10] + "…" for s in (stack.secret, legacy) for v in _forms(s) if v.encode() in everything]
        found += [k[:6] + "…" for k in (*session_keys, "cGxhaW4ta2V5") if k.encode() in everything]
        print(f"\n[backup] {len(files)} files, {len(everything):,} bytes: modes {sorted(set(modes.values()))}, "
              f"{len(found)} secrets or session keys found in clear")
        assert found == []
        assert {mode for name, mode in modes.items() if (dest / name).is_dir()} == {"0o700"}
        assert {mode for name, mode in modes.items() if (dest / name).is_file()} == {"0o600"}
        users = [line for line in files["config/wechat_users.jsonl.gz"].splitlines() if line]
        assert len(users) == 2 and all(b'"session_key":null' in line for line in users)
        assert files["config/webhook_secrets.jsonl.gz"].count(PREFIX.encode()) == 2

        def target(name: str, secrets_key: str):
            return settings.with_(data_dir=tmp_path / name, database_url="", secrets_key=secrets_key,
                                  chdb_database=f"r_{uuid.uuid4().hex[:10]}")

        for name, key, code in (("other-key", Fernet.generate_key().decode(), "secrets_key_mismatch"),
                                ("no-key", "", "secrets_key_missing")):
            with pytest.raises(BackupError) as refused:
                restore_backup(target(name, key), dest)
            assert refused.value.code == code and "LIVEBOARD_SECRETS_KEY" in refused.value.message
            assert not (tmp_path / name).exists()  # refused before anything was written
        restored = target("same-key", settings.secrets_key)
        restore_backup(restored, dest)
        app = create_app(restored)
        try:
            client = app.test_client()
            for source, secret in ((stack.source, stack.secret), ("legacy-shop", legacy)):
                body = orjson.dumps(order_event(campaign=CAMPAIGN, host="H01", enterprise="E1", amount_fen=7))
                response = client.post(f"/v1/webhooks/{source}", data=body, headers=sign_headers(secret, body))
                assert response.status_code == 202, response.get_json()
        finally:
            app.extensions["liveboard"].close()
        print("[backup] restore refused with another key and with none (nothing written); with the same key "
              "both sources verify their platform's signatures")
    finally:
        stack.close()
