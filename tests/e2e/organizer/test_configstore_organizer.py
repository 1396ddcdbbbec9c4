"""Config-store rules for organizers, on SQLite and on a real PostgreSQL (Alembic-migrated)."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from configstore import accounts, audit, places, registry, sources
from configstore.audit import acting_as
from configstore.errors import ConfigError
from configstore.models import Campaign, WebhookSecret
from configstore.participants_import import import_participants
from configstore.secretbox import SecretBox

pytestmark = pytest.mark.e2e


def test_regions_are_seeded_from_the_province_with_xiangxi_and_its_eight_counties(config_sessions):
    regions = places.list_regions(config_sessions)
    by_code = {r["code"]: r for r in regions}
    assert by_code["430000"] == {"code": "430000", "name": "湖南省", "level": "province", "parent_code": None}
    assert by_code["433100"] == {"code": "433100", "name": "湘西土家族苗族自治州", "level": "city", "parent_code": "430000"}
    cities = {r["code"] for r in regions if r["level"] == "city"}
    assert len(cities) == 14 and all(by_code[c]["parent_code"] == "430000" for c in cities)
    counties = {r["code"]: r["name"] for r in regions if r["level"] == "county"}
    assert counties == {"433101": "吉首市", "433122": "泸溪县", "433123": "凤凰县", "433124": "花垣县",
                        "433125": "保靖县", "433126": "古丈县", "433127": "永顺县", "433130": "龙山县"}
    assert all(r["parent_code"] == "433100" for r in regions if r["level"] == "county")


def test_townships_villages_and_stations_follow_the_levels(config_sessions):
    township = places.add_region(config_sessions, code="433126100", name="古阳镇", parent_code="433126")
    village = places.add_region(config_sessions, code="433126100201", name="翁草村", parent_code="433126100")
    assert (township["level"], village["level"]) == ("township", "village")
    places.add_station(config_sessions, kind="county_centre", region_code="433126", name="古丈县电商运营中心")
    places.add_station(config_sessions, kind="village_point", region_code="433126100201", name="翁草村服务点")
    with pytest.raises(ConfigError) as wrong_level:
        places.add_station(config_sessions, kind="township_station", region_code="433126", name="错的")
    assert wrong_level.value.code == "station_level_mismatch"
    with pytest.raises(ConfigError):
        places.add_region(config_sessions, code="433126100201001", name="太深", parent_code="433126100201")
    with pytest.raises(ConfigError) as wrong_parent:  # a code's digits name its parent
        places.add_region(config_sessions, code="433122100", name="错的上级", parent_code="433126")
    assert wrong_parent.value.code == "invalid_region_parent"
    assert [s["kind"] for s in places.list_stations(config_sessions)] == ["county_centre", "village_point"]


def test_campaign_status_flow_and_boards(config_sessions):
    created = registry.create_campaign(config_sessions, slug="peach-2026", name="百名网红湘西桃直播活动",
                                       first_day=date(2026, 7, 1), last_day=date(2026, 7, 31), boards=["hosts"])
    assert (created.status, created.boards) == ("draft", ("hosts",))
    with pytest.raises(ConfigError) as skip:
        registry.transition_campaign(config_sessions, "peach-2026", "frozen")
    assert skip.value.code == "invalid_transition" and skip.value.status == 409
    for status in ("active", "frozen", "active", "frozen", "closed"):
        assert registry.transition_campaign(config_sessions, "peach-2026", status).status == status
    with pytest.raises(ConfigError):
        registry.update_campaign(config_sessions, "peach-2026", name="改名")
    with pytest.raises(ConfigError) as not_draft:
        registry.delete_campaign(config_sessions, "peach-2026")
    assert not_draft.value.code == "campaign_not_draft"
    with pytest.raises(ConfigError) as taken:
        registry.create_campaign(config_sessions, slug="peach-2026", name="x", first_day=date(2026, 7, 1),
                                 last_day=date(2026, 7, 2))
    assert taken.value.status == 409


def test_passwords_are_argon2_and_tokens_are_stored_as_hashes(config_sessions):
    user = accounts.create_user(config_sessions, "zhang.wei", "a-long-password", "operator")
    assert accounts.authenticate(config_sessions, "zhang.wei", "a-long-password") == user
    assert accounts.authenticate(config_sessions, "zhang.wei", "wrong-password") is None
    assert accounts.authenticate(config_sessions, "nobody", "a-long-password") is None
    with config_sessions() as session:
        stored = session.scalar(select(accounts.User.password_hash))
    assert stored.startswith("$argon2id$") and "a-long-password" not in stored
    listing, token = accounts.create_token(config_sessions, "zhang.wei", "导出脚本")
    assert token.startswith("lbt_") and listing["hint"] == token[:8]
    with config_sessions() as session:
        assert token not in {t.token_hash for t in session.scalars(select(accounts.ApiToken)).all()}
    assert accounts.user_for_token(config_sessions, token) == user
    accounts.update_user(config_sessions, "zhang.wei", active=False)
    assert accounts.user_for_token(config_sessions, token) is None  # a deactivated user's tokens stop
    accounts.update_user(config_sessions, "zhang.wei", active=True)
    accounts.revoke_token(config_sessions, listing["id"])
    assert accounts.user_for_token(config_sessions, token) is None
    with pytest.raises(ConfigError):
        accounts.create_user(config_sessions, "short", "short", "admin")


def test_every_change_leaves_an_exact_audit_entry(config_sessions):
    with acting_as("li.na"):
        registry.create_campaign(config_sessions, slug="kiwi", name="猕猴桃开园节", first_day=date(2026, 9, 1),
                                 last_day=date(2026, 9, 7))
        registry.update_campaign(config_sessions, "kiwi", name="湘西州（永顺）猕猴桃开园节",
                                 freeze_at=datetime(2026, 9, 7, 12, tzinfo=timezone.utc))
        registry.transition_campaign(config_sessions, "kiwi", "active")
        box = SecretBox(Fernet.generate_key().decode())
        secret = sources.create_source(config_sessions, "douyin-shop", "抖店", box=box)
        sources.rotate_secret(config_sessions, "douyin-shop", box=box)
    entries = list(reversed(audit.list_entries(config_sessions)))
    assert [(e["actor"], e["action"], e["target_type"]) for e in entries] == [
        ("li.na", "create", "campaigns"), ("li.na", "update", "campaigns"), ("li.na", "update", "campaigns"),
        ("li.na", "create", "webhook_sources"), ("li.na", "create", "webhook_secrets"),
        ("li.na", "create", "webhook_secrets")]
    with config_sessions() as session:
        row = session.scalar(select(Campaign).where(Campaign.slug == "kiwi"))
        created_at = audit._json(row.created_at)
    created = {"id": row.id, "slug": "kiwi", "name": "猕猴桃开园节", "starts_at": "2026-08-31T16:00:00+00:00",
               "ends_at": "2026-09-07T16:00:00+00:00", "status": "draft", "freeze_at": None,
               "boards": ["hosts", "enterprises"], "created_at": created_at}
    renamed = {**created, "name": "湘西州（永顺）猕猴桃开园节", "freeze_at": "2026-09-07T12:00:00+00:00"}
    assert (entries[0]["before"], entries[0]["after"]) == (None, created)
    assert (entries[1]["before"], entries[1]["after"]) == (created, renamed)
    assert (entries[2]["before"], entries[2]["after"]) == (renamed, {**renamed, "status": "active"})
    assert entries[0]["target_id"] == str(row.id)
    # secrets never reach the log: only a fingerprint (of the sealed value the store keeps)
    first_secret = entries[4]["after"]["secret"]
    with config_sessions() as session:
        stored = session.scalar(select(WebhookSecret.secret).order_by(WebhookSecret.id))
    assert box.open(stored) == secret
    assert first_secret == audit.fingerprint(stored) and secret not in str(entries) and stored not in str(entries)


def test_import_links_hosts_to_enterprises_and_is_audited(config_sessions):
    rows = [
        {"kind": "企业", "id": "E1", "name": "古丈茶业", "county": "433126", "accounts": ""},
        {"kind": "主播", "id": "H1", "name": "茶妹", "county": "433126", "accounts": "douyin:dy-1",
         "enterprises": "E1;E2"},
        {"kind": "企业", "id": "E2", "name": "保靖黄金茶", "county": "433125", "accounts": ""},
        {"kind": "主播", "id": "H2", "name": "果哥", "county": "433127", "accounts": "", "enterprises": "E9"},
    ]
    with acting_as("importer"):
        report = import_participants(config_sessions, rows)
    assert (report.hosts, report.enterprises) == (1, 2)
    assert [e.as_dict() for e in report.errors] == [{"row": 5, "field": "enterprises", "message": "所属企业未登记：E9"}]
    hosts = registry.list_participants(config_sessions, "hosts")
    assert hosts == [{"id": "H1", "name": "茶妹", "county": "433126", "region_code": "", "accounts": ["douyin:dy-1"],
                      "enterprises": ["E1", "E2"]}]
    links = [e for e in audit.list_entries(config_sessions, target_type="host_enterprises")]
    assert sorted(e["after"]["enterprise_id"] for e in links) == ["E1", "E2"]
    assert all(e["actor"] == "importer" and e["action"] == "create" for e in links)
    # a re-import with fewer enterprises removes the link (and the removal is audited)
    import_participants(config_sessions, [dict(rows[1], enterprises="E2")])
    assert registry.list_participants(config_sessions, "hosts")[0]["enterprises"] == ["E2"]
    removed = audit.list_entries(config_sessions, target_type="host_enterprises", limit=1)[0]
    assert (removed["action"], removed["before"], removed["after"]) == (
        "delete", {"host_id": "H1", "enterprise_id": "E1"}, None)


def test_reattribution_registers_an_account_once(config_sessions):
    import_participants(config_sessions, [{"kind": "主播", "id": "H1", "name": "茶妹", "accounts": ""},
                                          {"kind": "主播", "id": "H2", "name": "果哥", "accounts": ""}])
    registry.register_account(config_sessions, "hosts", "douyin", "dy-new", "H1")
    registry.register_account(config_sessions, "hosts", "douyin", "dy-new", "H1")  # idempotent
    with pytest.raises(ConfigError) as taken:
        registry.register_account(config_sessions, "hosts", "douyin", "dy-new", "H2")
    assert taken.value.code == "account_taken"
    with pytest.raises(ConfigError) as unknown:
        registry.register_account(config_sessions, "hosts", "douyin", "dy-x", "H404")
    assert unknown.value.status == 404
    assert registry.attribution(config_sessions, "hosts").accounts == {("douyin", "dy-new"): "H1"}
