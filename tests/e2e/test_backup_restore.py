"""Issue 8: backup and restore of both stores. A restore on an empty machine reproduces the published
boards: the read API serves the same boards, and the ranking job recomputing them from the restored
events changes nothing. Embedded (chDB + SQLite) and scale-out (ClickHouse + PostgreSQL), each also
restored across backends; a non-empty target and a tampered backup are refused without writing.

chDB allows one process per data dir, so every chDB store here is touched only by child processes
(`python -m liveboard.cli backup|restore`)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import orjson
import psycopg2
import pytest
import requests
import sqlalchemy as sa
from werkzeug.serving import make_server

from analytics import open_store
from analytics.rows import COLUMNS as EVENT_COLUMNS
from backend.app import create_app
from configstore import awards as award_lists
from configstore import registry
from configstore.db import make_engine, make_sessionmaker
from configstore.secretbox import SecretBox
from configstore.sources import create_source
from consumers.rows import row_from_envelope
from liveboard.sender import WebhookSender
from operations.backup import BackupError, create_backup, restore_backup
from operations.migrations import migrate_all
from scheduler.ranking_job import publish_all
from services.awards import compute_and_store
from tests.e2e.conftest import REPO, build_stack
from tests.e2e.test_boards import SHANGHAI, SLUG, _register, _scenario
from tests.support import order_event

pytestmark = pytest.mark.e2e


# -- helpers ----------------------------------------------------------------------------------

def liveboard(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "liveboard.cli", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def liveboard_ok(env: dict, *args: str) -> str:
    out = liveboard(env, *args)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def env_for(stack, settings) -> dict:
    """A child's environment for the deployment `settings` names."""
    return stack.env(LIVEBOARD_STORE=settings.store, LIVEBOARD_EVENT_LOG=settings.event_log,
                     LIVEBOARD_DATA_DIR=str(settings.data_dir), LIVEBOARD_CHDB_DIR=str(settings.chdb_path),
                     LIVEBOARD_CLICKHOUSE_URL=settings.clickhouse_url, LIVEBOARD_DATABASE_URL=settings.config_db_url,
                     LIVEBOARD_SECRETS_KEY=settings.secrets_key)


def embedded_target(stack, data_dir: Path):
    """An empty machine: chDB and a SQLite config store in a new data dir, given the origin's
    LIVEBOARD_SECRETS_KEY (the backup's secrets are sealed with it)."""
    return stack.settings.with_(store="chdb", event_log="sqlite", data_dir=data_dir, chdb_dir=data_dir / "chdb",
                                database_url="", secrets_key=stack.runtime.settings.secrets_key)


def new_pg_database(pg) -> str:
    name = f"restore_{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(pg.dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return pg.url_for(name)


def scale_target(stack, request, data_dir: Path):
    """Scale-out settings naming a ClickHouse database and a PostgreSQL database nobody has used."""
    clickhouse = request.getfixturevalue("clickhouse_service")
    return stack.settings.with_(store="clickhouse", data_dir=data_dir,
                                clickhouse_url=clickhouse.url_for(f"restore_{uuid.uuid4().hex[:10]}"),
                                database_url=new_pg_database(request.getfixturevalue("postgres_service")),
                                secrets_key=stack.runtime.settings.secrets_key)


@contextmanager
def serving(settings) -> Iterator[str]:
    """The read API of a (restored) deployment, in this process; its base URL."""
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        app.extensions["liveboard"].event_log.close()
        app.extensions["liveboard"].engine.dispose()


PERIODS = ("campaign", "today")


def boards(base_url: str) -> dict:
    """Both periods' boards exactly as the read API serves them."""
    served = {}
    for period in PERIODS:
        response = requests.get(f"{base_url}/v1/campaigns/{SLUG}/boards", params={"period": period}, timeout=10)
        assert response.status_code == 200, response.text
        served[period] = response.json()
    return served


def published(base_url: str) -> dict:
    summary = requests.get(f"{base_url}/v1/campaigns/{SLUG}/summary", timeout=10)
    assert summary.status_code == 200, summary.text
    return {**boards(base_url), "summary": summary.json()}


def publish_scenario(stack) -> list[dict]:
    """test_boards' scenario (accounts, ties, late refunds, repeats, a disqualification), written and ranked."""
    now = datetime.now(timezone.utc)
    _register(stack, now.astimezone(SHANGHAI).date())
    events = _scenario(now.astimezone(SHANGHAI).date(), now)
    assert {r.status_code for r in stack.sender.post_batches(events, batch_size=7)} == {202}
    assert stack.sender.post({"events": events[:5]}).status_code == 202  # repeats: stored once
    if stack.store_in_process:
        stack.drain(len(events))
    else:
        writer = stack.spawn("consume", "--exit-when-idle", "3")
        assert writer.wait(timeout=300) == 0, writer.stdout.read().decode()[-2000:]
    registry.disqualify(stack.sessions, SLUG, "hosts", "H10", "刷单嫌疑：同一买家短时间大量下单")
    assert "更新榜单" in stack.cli("rank")
    return events


def assert_recomputed_unchanged(settings, base_url: str, original: dict) -> None:
    """The ranking job over the restored events publishes nothing new: the standings are the same."""
    results = publish_all(make_sessionmaker(make_engine(settings.config_db_url)), open_store(settings))
    assert [r["changed_boards"] for r in results] == [0]
    assert boards(base_url) == {period: original[period] for period in PERIODS}


def _utc(value):
    if isinstance(value, datetime):  # SQLite keeps UTC times naive, PostgreSQL's timestamptz aware
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return value


def config_contents(url: str) -> dict[str, list[dict]]:
    """Every config-store table's rows in key order, as values (times as UTC instants)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            tables = sa.MetaData()
            tables.reflect(conn)
            return {t.name: [{k: _utc(v) for k, v in row.items()}
                             for row in conn.execute(sa.select(t).order_by(*t.primary_key.columns)).mappings()]
                    for t in tables.sorted_tables if t.name != "alembic_version"}
    finally:
        engine.dispose()


def expected_campaign_totals(events: list[dict]) -> dict:
    unique = {e["event_id"]: e for e in events}.values()
    paid = sum(e["amount_fen"] for e in unique if e["type"] == "order.paid")
    refunded = sum(e["amount_fen"] for e in unique if e["type"] == "order.refunded")
    return {SLUG: {"events": len(unique), "paid_fen": paid, "refunded_fen": refunded, "net_gmv_fen": paid - refunded}}


# -- embedded ---------------------------------------------------------------------------------

def test_embedded_backup_restores_the_published_boards(tmp_path, request):
    origin = build_stack("embedded", tmp_path / "origin", request, chdb_dir=tmp_path / "origin" / "chdb",
                         store_in_process=False)
    try:
        events = publish_scenario(origin)
        original = published(origin.base_url)
        assert len(original["campaign"]["hosts"]) == 10 and original["today"]["hosts"]  # the scenario really ranked
        origin_stats = origin.reconcile()

        out = liveboard(origin.env(), "backup", str(tmp_path / "backup"), "--json")
        assert out.returncode == 0, out.stdout + out.stderr
        manifest = json.loads(out.stdout)
        assert manifest == json.loads((tmp_path / "backup" / "manifest.json").read_text("utf-8"))
        assert manifest["analytics_store"]["campaigns"] == expected_campaign_totals(events)
        assert manifest["config_store"]["tables"]["board_snapshots"] >= 4
        assert f"[backup] sales_events {len({e['event_id'] for e in events})}/" in out.stderr

        # an empty machine: a new data dir, its own chDB and SQLite config store
        target = embedded_target(origin, tmp_path / "restored")
        restored = json.loads(liveboard_ok(env_for(origin, target), "restore", str(tmp_path / "backup"), "--json"))
        assert restored["reconciled"] is True
        assert restored["campaigns"] == manifest["analytics_store"]["campaigns"]
        assert restored["config_rows"] == manifest["config_store"]["tables"]
        assert config_contents(target.config_db_url) == config_contents(origin.settings.config_db_url)
        with serving(target) as base_url:
            assert published(base_url) == original
            rank = liveboard_ok(env_for(origin, target), "rank")
            assert f"{SLUG}: 更新榜单 0 个" in rank  # recomputed from the restored chDB: the same standings
            assert boards(base_url) == {period: original[period] for period in PERIODS}
            stats = json.loads(liveboard_ok(env_for(origin, target), "stats", "--json").splitlines()[-1])
            assert stats == origin_stats
            # the restored sources and secrets: the platform's next webhook is accepted as before
            next_event = order_event(campaign=SLUG, host="dy01", enterprise="E1", amount_fen=100)
            assert WebhookSender(base_url, origin.source, origin.secret).post(next_event).status_code == 202

        # across backends: SQLite -> PostgreSQL, chDB -> ClickHouse server
        cross = scale_target(origin, request, tmp_path / "cross")
        restore_backup(cross, tmp_path / "backup")
        assert config_contents(cross.config_db_url) == config_contents(origin.settings.config_db_url)
        with serving(cross) as base_url:
            assert published(base_url) == original
            assert_recomputed_unchanged(cross, base_url, original)
    finally:
        origin.close()


# -- scale-out --------------------------------------------------------------------------------

def test_scale_backup_restores_into_fresh_databases(tmp_path, request, postgres_service):
    origin = build_stack("scale", tmp_path / "origin", request, database_url=new_pg_database(postgres_service))
    try:
        events = publish_scenario(origin)
        original = published(origin.base_url)
        # an award list in 公示 (dates, JSON details, booleans, amounts in fen)
        award = compute_and_store(origin.sessions, origin.store, kind="top_influencers", scope="campaign",
                                  scope_key=SLUG)
        assert award["items"]
        today = datetime.now(timezone.utc).astimezone(SHANGHAI).date()
        award_lists.transition(origin.sessions, award["id"], "frozen")
        award_lists.transition(origin.sessions, award["id"], "notice", notice_start=today,
                               notice_end=today + timedelta(days=7))
        origin_config = config_contents(origin.settings.config_db_url)
        progress: list[str] = []
        manifest = create_backup(origin.settings, tmp_path / "backup", progress.append, chunk_rows=8)
        assert manifest["config_store"]["backend"] == "postgresql"
        assert manifest["analytics_store"]["campaigns"] == expected_campaign_totals(events)
        # pages of 8 ids (event_id ranges), progress reported page by page up to the total
        stored = len({e["event_id"] for e in events})
        pages = [line.split()[-1] for line in progress if line.startswith("[backup] sales_events ")]
        assert pages == [f"{done}/{stored}" for done in [*range(8, stored + 1, 8), stored]]

        target = scale_target(origin, request, tmp_path / "target")
        result = restore_backup(target, tmp_path / "backup", progress.append, chunk_rows=8)
        assert result["campaigns"] == manifest["analytics_store"]["campaigns"]
        assert config_contents(target.config_db_url) == origin_config
        target_sessions = make_sessionmaker(make_engine(target.config_db_url))
        with serving(target) as base_url:
            assert published(base_url) == original
            assert_recomputed_unchanged(target, base_url, original)
        # PostgreSQL sequences moved past the restored ids: new rows (a source, its audit entries) fit
        create_source(target_sessions, "after-restore", box=SecretBox(target.secrets_key))
        with target_sessions() as session:
            ids = session.execute(sa.text("SELECT id, name FROM webhook_sources ORDER BY id")).all()
        assert [name for _, name in ids] == [origin.source, "after-restore"] and ids[-1][0] == ids[-2][0] + 1

        # the target now holds data: refused; --force replaces it (not added on top)
        with pytest.raises(BackupError) as refused:
            restore_backup(target, tmp_path / "backup")
        assert refused.value.code == "restore_target_not_empty"
        forced = restore_backup(target, tmp_path / "backup", force=True)
        assert forced["campaigns"] == manifest["analytics_store"]["campaigns"]
        with target_sessions() as session:
            assert session.scalars(sa.text("SELECT name FROM webhook_sources")).all() == [origin.source]

        # across backends: PostgreSQL -> SQLite, ClickHouse server -> chDB
        cross = embedded_target(origin, tmp_path / "cross")
        liveboard_ok(env_for(origin, cross), "restore", str(tmp_path / "backup"))
        assert config_contents(cross.config_db_url) == origin_config
        with serving(cross) as base_url:
            assert published(base_url) == original
            assert f"{SLUG}: 更新榜单 0 个" in liveboard_ok(env_for(origin, cross), "rank")
            assert boards(base_url) == {period: original[period] for period in PERIODS}
    finally:
        origin.close()


# -- refusals ---------------------------------------------------------------------------------

def small_backup(tmp_path: Path, request):
    """A scale-out deployment with one campaign and three events, backed up into tmp_path/backup and
    stopped; returned for its settings."""
    stack = build_stack("scale", tmp_path / "origin", request)
    try:
        today = datetime.now(timezone.utc).astimezone(SHANGHAI).date()
        registry.upsert_campaign(stack.sessions, slug=SLUG, name="千村千红·测试", first_day=today - timedelta(days=1),
                                 last_day=today + timedelta(days=1))
        events = [order_event(campaign=SLUG, host=f"H{n}", enterprise="E1", amount_fen=1000 * n) for n in (1, 2, 3)]
        assert stack.sender.post({"events": events}).status_code == 202
        stack.drain(len(events))
        create_backup(stack.settings, tmp_path / "backup")
    finally:
        stack.close()
    return stack


def _refused(env: dict, backup_dir: Path) -> dict:
    out = liveboard(env, "restore", str(backup_dir), "--json")
    assert out.returncode == 1, out.stdout + out.stderr
    return json.loads(out.stdout)


def _counts(settings) -> tuple[dict, dict]:
    engine = make_engine(settings.config_db_url)
    with engine.connect() as conn:
        config = {t: conn.scalar(sa.text(f"SELECT count(*) FROM {t}")) for t in sa.inspect(conn).get_table_names()}
    engine.dispose()
    store = open_store(settings)
    return config, {t: store.query(f"SELECT count() FROM {{db}}.{t}") for t in ("sales_events", "sales_daily")}


def test_restore_refuses_a_target_that_holds_data(tmp_path, request):
    origin = small_backup(tmp_path, request)
    # a deployment in use: a source, and two events of one host (one pre-aggregate row)
    target = scale_target(origin, request, tmp_path / "target")
    migrate_all(target)
    create_source(make_sessionmaker(make_engine(target.config_db_url)), "douyin-shop", box=SecretBox(target.secrets_key))
    events = [order_event(campaign=SLUG, host="H1", enterprise="E1", amount_fen=fen) for fen in (500, 700)]
    open_store(target).insert("{db}.sales_events", EVENT_COLUMNS,
                              [row_from_envelope({"event": e, "source": "douyin-shop"}, orjson.dumps(e)) for e in events])
    before = _counts(target)

    assert _refused(env_for(origin, target), tmp_path / "backup") == {"error": {
        "code": "restore_target_not_empty",
        "message": "恢复目标已有数据，未做任何改动；确认要用备份覆盖请加 --force",
        "details": {"sales_events": 2, "sales_daily": 1,
                    "config_tables": ["audit_log", "webhook_secrets", "webhook_sources"]}}}
    out = liveboard(env_for(origin, target), "restore", str(tmp_path / "backup"))
    assert out.returncode == 1
    assert "恢复目标已有数据，未做任何改动；确认要用备份覆盖请加 --force（restore_target_not_empty）" in out.stderr
    assert _counts(target) == before


def test_restore_refuses_a_tampered_backup_without_writing(tmp_path, request):
    origin = small_backup(tmp_path, request)
    tampered = tmp_path / "tampered"
    shutil.copytree(tmp_path / "backup", tampered)
    damaged = tampered / "analytics" / "sales_events.jsonl.gz"
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0x01
    damaged.write_bytes(bytes(data))

    empty_dir = tmp_path / "empty-machine"
    assert _refused(env_for(origin, embedded_target(origin, empty_dir)), tampered) == {"error": {
        "code": "backup_checksum_mismatch",
        "message": "备份文件 analytics/sales_events.jsonl.gz 的校验和不符（已损坏或被改动）；未写入任何数据",
        "details": {"file": "analytics/sales_events.jsonl.gz"}}}
    assert not empty_dir.exists()

    target = scale_target(origin, request, tmp_path / "scale-target")
    with pytest.raises(BackupError) as refused:
        restore_backup(target, tampered)
    assert refused.value.code == "backup_checksum_mismatch"
    assert sa.inspect(make_engine(target.config_db_url)).get_table_names() == []
    clickhouse = open_store(target)
    assert clickhouse.query("SELECT count() FROM system.databases WHERE name = %(db)s", {"db": clickhouse.database}) \
        == [(0,)]

    # a backup from a newer liveboard (a config-store revision this code does not know)
    newer = tmp_path / "newer"
    shutil.copytree(tmp_path / "backup", newer)
    manifest = json.loads((newer / "manifest.json").read_text("utf-8"))
    manifest["config_store"]["alembic_revision"] = "9999"
    (newer / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    refusal = _refused(env_for(origin, embedded_target(origin, empty_dir)), newer)
    assert refusal["error"]["code"] == "backup_revision_unknown"
    assert refusal["error"]["message"].startswith("备份的配置库版本 9999 不在本程序的迁移中")
    assert not empty_dir.exists()
