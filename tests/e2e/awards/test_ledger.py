"""The grant ledger on the real data path (webhooks -> writer -> sales_daily -> rules -> lists -> ledger):
the S8 sequence, a draft deciding nothing, unknown tax status, payments, budgets and their export,
and the migration of data written before the ledger existed."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from configstore import audit
from configstore.db import make_engine
from configstore.migrate import alembic_config
from configstore.participants_import import import_participants
from domain.money import wan_yuan
from tests.e2e.awards.test_awards import at, compute, paid, post_and_drain, refund, walk_to_final
from tests.e2e.organizer.conftest import csrf_token

pytestmark = pytest.mark.e2e


def register(stack, rows):
    assert import_participants(stack.sessions, rows).bad_rows == 0


def enterprise(pid, **tax_years):
    return {"kind": "enterprise", "id": pid, "name": f"湘西{pid}电商", "county": "433101",
            **{f"依法纳税({year})": status for year, status in tax_years.items()}}


def final_attempt(org, list_id, **body):
    for state, extra in (("frozen", {}), ("notice", {"notice_start": "2020-01-01", "notice_end": "2020-01-07"})):
        response = org.api("POST", f"/awards/{list_id}/transition", json={"state": state, **extra})
        assert response.status_code == 200, response.text
    return org.api("POST", f"/awards/{list_id}/transition", json={"state": "final", **body})


def ledger(org, **query):
    response = org.api("GET", "/ledger", role="viewer", params=query)
    assert response.status_code == 200, response.text
    return response.json()["entries"]


def test_s8_refund_after_a_paid_tier_keeps_the_line_refuses_a_contradicting_final_and_never_pays_twice(org):
    stack = org.stack
    register(stack, [enterprise("S8", **{"2023": "是", "2024": "是"})])
    post_and_drain(stack, [paid("qcqh-2023", "S8", wan_yuan(1000) + 100, at(2023, 5, 1), order_id="s8-2023")])
    v1 = compute(org, kind="sales_milestone", scope="year", scope_key="2023")
    assert [(i["participant_id"], i["amount_fen"]) for i in v1["items"]] == [("S8", wan_yuan(5))]
    assert "2022 年度的销售额奖励名单尚未定稿（尚未计算）" in v1["params"]["warnings"][0]
    assert walk_to_final(org, v1["id"])["state"] == "final"
    [entry] = ledger(org)
    assert (entry["recipient_id"], entry["reward_code"], entry["year"], entry["amount_fen"], entry["status"],
            entry["list_version"]) == ("S8", "sales_milestone_1", 2023, wan_yuan(5), "pending", 1)
    # the 50,000 is paid, and the payment is audited
    paid_entry = org.api("POST", f"/ledger/{entry['id']}/payment",
                         json={"status": "paid", "paid_on": "2024-03-01", "note": "凭证 2024-031"})
    assert paid_entry.status_code == 200 and paid_entry.json()["status_name"] == "已支付"
    again = org.api("POST", f"/ledger/{entry['id']}/payment", json={"status": "revoked", "note": "x"})
    assert again.status_code == 409 and again.json()["error"]["message"] == "台账记录 1 已是“已支付”，不能改为“已撤销”"
    assert org.api("POST", f"/ledger/{entry['id']}/payment", role="operator", json={"status": "paid"}).status_code == 403
    change = audit.list_entries(stack.sessions, target_type="grant_ledger", target_id=str(entry["id"]))[0]
    assert (change["actor"], change["before"]["status"], change["after"]["status"]) == ("admin-user", "pending", "paid")

    # a refund takes 2023 to 9 million: version 2 keeps S8's line, flagged, not "未突破"
    post_and_drain(stack, [refund("qcqh-2023", "S8", wan_yuan(1000) + 100 - wan_yuan(900), at(2023, 12, 1),
                                  order_id="s8-2023")])  # a refund of that order
    v2 = compute(org, kind="sales_milestone", scope="year", scope_key="2023")
    assert (v2["version"], v2["based_on_id"]) == (2, v1["id"])
    [line] = v2["items"]
    assert (line["participant_id"], line["amount_fen"], line["metric_fen"], line["detail"]["new_fen"]) == (
        "S8", wan_yuan(5), wan_yuan(900), 0)
    assert line["detail"]["ledger"][0]["status"] == "paid"
    assert v2["params"]["not_granted"] == []
    assert [f["reason"] for f in v2["params"]["review_flags"]] == [
        "退款后2023年度销售额为9,000,000.00元，未突破1000万元（该档已奖励50,000.00元，已记入奖励台账："
        "2023 电商企业年度销售额首次突破奖励第 1 版），请复核；台账记录保留，不因重新计算删除"]

    # an admin takes S8 off version 2: finalizing it is refused, with the reason in Chinese
    removed = org.api("POST", f"/awards/{v2['id']}/adjustments",
                      json={"participant_id": "S8", "included": False, "reason": "退款后未达标"})
    assert removed.status_code == 201
    refused = final_attempt(org, v2["id"])
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "ledger_conflict"
    assert refused.json()["error"]["message"].startswith(
        "第 2 版定稿将与奖励台账冲突，已拒绝：湘西S8电商的“年度销售额首次突破1000万元”50,000.00元（2023 电商企业年度销售额"
        "首次突破奖励第 1 版，已支付）已记入奖励台账；第 2 版移出了该行。")
    assert org.api("POST", f"/awards/{v2['id']}/transition", json={"state": "draft"}).status_code == 200
    restored = org.api("POST", f"/awards/{v2['id']}/adjustments",
                       json={"participant_id": "S8", "included": True, "reason": "台账已发放，保留复核"})
    assert restored.status_code == 201
    assert final_attempt(org, v2["id"]).status_code == 200
    [entry] = ledger(org)  # still one entry, now carrying the review note
    assert entry["status"] == "paid" and entry["review_note"].startswith("第 2 版定稿时的复核提示：退款后2023年度销售额")

    # 2024: S8 sells 11 million: tier 1 is not paid again
    post_and_drain(stack, [paid("qcqh-2024", "S8", wan_yuan(1100), at(2024, 5, 1))])
    v2024 = compute(org, kind="sales_milestone", scope="year", scope_key="2024")
    assert v2024["items"] == []
    assert v2024["params"]["not_granted"][0]["reason"] == "突破1000万元档已于2023年度奖励，不重复奖励"
    # and a manual line paying it anyway cannot be finalized
    forced = org.api("POST", f"/awards/{v2024['id']}/adjustments",
                     json={"participant_id": "S8", "name": "湘西S8电商", "amount_fen": wan_yuan(5),
                           "category": "突破1000万元", "reason": "手工补录"})
    assert forced.status_code == 201
    refused = final_attempt(org, v2024["id"])
    assert refused.status_code == 409 and "不重复计算" in refused.json()["error"]["message"]
    assert len(ledger(org)) == 1

    console = org.console("viewer-user")
    page = console.get(f"{org.base_url}/console/awards/enterprises/S8", timeout=30).text
    assert "年度销售额首次突破1000万元" in page and "已支付" in page and "凭证 2024-031" in page
    assert "复核" in console.get(f"{org.base_url}/console/awards/ledger", timeout=30).text


def test_a_draft_decides_nothing_the_assumption_is_stated_and_the_second_final_is_refused(org):
    stack = org.stack
    register(stack, [enterprise("E1", **{"2017": "是", "2018": "是"})])
    post_and_drain(stack, [paid("c2017", "E1", wan_yuan(1200), at(2017, 6, 1)),
                           paid("c2018", "E1", wan_yuan(1300), at(2018, 6, 1))])
    draft_2017 = compute(org, kind="sales_milestone", scope="year", scope_key="2017")  # left in draft
    v2018 = compute(org, kind="sales_milestone", scope="year", scope_key="2018")
    assert [(i["participant_id"], i["amount_fen"]) for i in v2018["items"]] == [("E1", wan_yuan(5))]
    assert v2018["params"]["warnings"] == [
        "2017 年度的销售额奖励名单尚未定稿（当前为第 1 版草稿）。只有已定稿名单记入奖励台账：本次计算假定 2017 年度未发放任何"
        "销售额奖励；2017 年度名单日后定稿时，如与已定稿的名单重复发放同一档，定稿将被拒绝",
        "湘西E1电商（E1）在 2017 年度第 1 版（草稿）名单中也获得“突破1000万元”奖励；两份名单只能有一份定稿发放该档"]
    assert walk_to_final(org, v2018["id"])["state"] == "final"
    refused = final_attempt(org, draft_2017["id"])
    assert refused.status_code == 409 and "“年度销售额首次突破1000万元”已于2018年度发放" in refused.json()["error"]["message"]
    assert [e["year"] for e in ledger(org)] == [2018]


def test_unknown_tax_status_is_listed_as_pending_verification_never_granted(org):
    stack = org.stack
    # E1: no 依法纳税 column at all; E2: 2026 confirmed; E3: only an earlier year confirmed
    register(stack, [enterprise("E1"), enterprise("E2", **{"2026": "是"}), enterprise("E3", **{"2025": "是"})])
    post_and_drain(stack, [paid("c", pid, wan_yuan(1500), at(2026, 4, 1)) for pid in ("E1", "E2", "E3")])
    result = compute(org, kind="sales_milestone", scope="year", scope_key="2026")
    assert [i["participant_id"] for i in result["items"]] == ["E2"]
    assert [(u["participant_id"], u["missing"]) for u in result["params"]["unverified"]] == [
        ("E1", ["2026年度依法纳税核实结果"]), ("E3", ["2026年度依法纳税核实结果"])]
    page = org.console("viewer-user").get(f"{org.base_url}/console/awards/{result['id']}", timeout=30).text
    assert "待核实" in page and "录入纳税状态" in page
    # the tax status is entered for the year (console or API), then the recompute grants
    set_tax = org.api("PUT", "/enterprises/E1/tax/2026", role="operator", json={"status": "compliant", "note": "完税证明"})
    assert set_tax.status_code == 200 and set_tax.json()["status_name"] == "依法纳税"
    assert org.api("PUT", "/enterprises/E1/tax/2026", role="viewer", json={"status": "compliant"}).status_code == 403
    again = compute(org, kind="sales_milestone", scope="year", scope_key="2026")
    assert [i["participant_id"] for i in again["items"]] == ["E1", "E2"]
    history = org.api("GET", "/enterprises/E3/awards", role="viewer").json()["tax"]
    assert history == [{"year": 2025, "status": "compliant", "status_name": "依法纳税", "note": ""}]


def test_tax_status_is_edited_per_year_in_the_console_and_a_year_decides_only_itself(org):
    """The enterprise's page sets one year's status; the other year keeps its own: 2025 (依法纳税) still
    grants, 2026 (set to 未依法纳税 in the console) does not, and back to 未核实 it is 待核实."""
    stack = org.stack
    register(stack, [enterprise("E1", **{"2025": "是", "2026": "是"})])
    post_and_drain(stack, [paid("c2025", "E1", wan_yuan(1200), at(2025, 6, 1)),
                           paid("c2026", "E1", wan_yuan(3100), at(2026, 6, 1))])
    console = org.console("operator-user")
    page = f"{org.base_url}/console/awards/enterprises/E1"
    token = csrf_token(console.get(page, timeout=30).text)
    saved = console.post(f"{page}/tax", timeout=30, data={"csrf_token": token, "year": "2026",
                                                         "status": "non_compliant", "note": "2026 年欠税通报"})
    assert saved.status_code == 200 and saved.url == page and "2026 年度纳税状态已保存（记入审计日志）" in saved.text
    assert org.api("GET", "/enterprises/E1/awards", role="viewer").json()["tax"] == [
        {"year": 2026, "status": "non_compliant", "status_name": "未依法纳税", "note": "2026 年欠税通报"},
        {"year": 2025, "status": "compliant", "status_name": "依法纳税", "note": ""}]
    change = audit.list_entries(stack.sessions, target_type="enterprise_tax_status")[0]
    assert (change["actor"], change["after"]["year"], change["after"]["status"]) == (
        "operator-user", 2026, "non_compliant")

    y2025 = compute(org, kind="sales_milestone", scope="year", scope_key="2025")
    assert [(i["participant_id"], i["amount_fen"]) for i in y2025["items"]] == [("E1", wan_yuan(5))]
    y2026 = compute(org, kind="sales_milestone", scope="year", scope_key="2026")
    assert y2026["items"] == []
    assert [(n["participant_id"], n["reason"]) for n in y2026["params"]["not_granted"]] == [("E1", "未依法纳税，不予奖励")]

    bad = console.post(f"{page}/tax", timeout=30, data={"csrf_token": token, "year": "2026", "status": "yes"})
    assert "纳税状态只能是 compliant（依法纳税）、non_compliant（未依法纳税）或 unverified（未核实）" in bad.text
    console.post(f"{page}/tax", timeout=30, data={"csrf_token": token, "year": "2026", "status": "unverified"})
    again = compute(org, kind="sales_milestone", scope="year", scope_key="2026")
    assert again["items"] == [] and [(u["participant_id"], u["missing"]) for u in again["params"]["unverified"]] == [
        ("E1", ["2026年度依法纳税核实结果"])]
    still = compute(org, kind="sales_milestone", scope="year", scope_key="2025")
    assert [(i["participant_id"], i["amount_fen"]) for i in still["items"]] == [("E1", wan_yuan(5))]


def test_budget_warning_on_finalize_and_the_budget_export(org, tmp_path):
    stack = org.stack
    register(stack, [enterprise("E1", **{"2026": "是"}), enterprise("E3", **{"2026": "是"})])
    post_and_drain(stack, [paid("c", "E1", wan_yuan(1500), at(2026, 2, 1)),
                           paid("c", "E3", wan_yuan(3100), at(2026, 2, 1))])
    low = org.api("PUT", "/budget/prefecture/2026", json={"amount_fen": wan_yuan(12)})
    assert low.status_code == 200
    county_floor = org.api("PUT", "/budget/433101/2026", json={"amount_fen": wan_yuan(400)})
    assert county_floor.status_code == 400 and "不少于5,000,000.00元" in county_floor.json()["error"]["message"]
    award = compute(org, kind="sales_milestone", scope="year", scope_key="2026")
    warned = final_attempt(org, award["id"])
    assert warned.status_code == 409 and warned.json()["error"] == {
        "code": "over_budget",
        "message": "州级专项资金2026年度预算120,000.00元，已承诺0.00元，本次150,000.00元后合计150,000.00元，将超出预算"
                   "30,000.00元。如确需定稿，请确认超出预算后再提交"}
    final = org.api("POST", f"/awards/{award['id']}/transition", json={"state": "final", "accept_over_budget": True})
    assert final.status_code == 200 and final.json()["params"]["over_budget_confirmed"]
    budget = org.api("GET", "/budget?year=2026", role="viewer").json()
    prefecture = budget["funds"][0]
    assert (prefecture["holder"], prefecture["budget_fen"], prefecture["committed_fen"], prefecture["paid_fen"],
            prefecture["over"]) == ("prefecture", wan_yuan(12), wan_yuan(15), 0, True)
    assert budget["funds"][1]["budget_fen"] == wan_yuan(500) and budget["funds"][1]["default"]
    assert budget["warnings"] == ["州级专项资金2026年度预算120,000.00元，已承诺150,000.00元，超出预算30,000.00元"]

    # the admin records one payment in the console; the budget counts it as paid
    console = org.console("admin-user")
    token = csrf_token(console.get(f"{org.base_url}/console/awards/ledger", timeout=30).text)
    entry = next(e for e in ledger(org) if e["recipient_id"] == "E1")
    done = console.post(f"{org.base_url}/console/awards/ledger/{entry['id']}/payment", timeout=30,
                        data={"csrf_token": token, "status": "paid", "paid_on": "2026-12-20", "note": "凭证 118",
                              "back": "https://evil.example/"})
    assert done.status_code == 200 and done.url.endswith("/console/awards/ledger")  # never an open redirect
    assert f"台账记录 {entry['id']} 已登记为“已支付”" in done.text
    assert org.api("GET", "/budget?year=2026").json()["funds"][0]["paid_fen"] == wan_yuan(5)

    sheet = load_workbook(io.BytesIO(org.api("GET", "/budget.xlsx?year=2026", role="viewer").content)).active
    assert sheet["A1"].value == "2026 年度电子商务发展专项资金预算执行情况"
    assert sheet.freeze_panes == "A4" and sheet.print_title_rows == "$3:$3"
    assert int(sheet.page_setup.paperSize) == 9 and int(sheet.page_setup.fitToWidth) == 1  # A4, one page wide
    assert [c.value for c in sheet[3]] == ["资金", "年度", "预算（元）", "已承诺（元）", "已支付（元）", "待支付（元）",
                                           "预算余额（元）", "说明"]
    row = [c for c in sheet[4]]
    assert [c.value for c in row[:7]] == ["州级专项资金", 2026, 120000, 150000, 50000, 100000, -30000]
    assert all(c.number_format == "#,##0.00" and isinstance(c.value, (int, float, Decimal)) for c in row[2:7])
    assert sheet.max_row == 3 + 9 + 1  # the prefecture, the 8 counties, the totals
    totals = [c.value for c in sheet[sheet.max_row]]
    # 120,000 for the prefecture, each county's default 5,000,000
    assert totals[:7] == ["合计", None, 120000 + 8 * 5_000_000, 150000, 50000, 100000, 120000 + 8 * 5_000_000 - 150000]
    (tmp_path / "budget.xlsx").write_bytes(org.api("GET", "/budget.xlsx?year=2026").content)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_migration_moves_the_old_flag_and_final_lists_into_the_new_tables(tmp_path, request, backend):
    from alembic import command

    url = (f"sqlite:///{tmp_path / 'old.sqlite3'}" if backend == "sqlite"
           else request.getfixturevalue("postgres_service").create_database("mig"))
    config = alembic_config(url)
    command.upgrade(config, "0007")
    engine = make_engine(url)
    with engine.begin() as c:
        c.execute(sa.text("INSERT INTO enterprises (id, name, county, credit_code, tax_compliant) VALUES "
                          "('E1', '甲', '433101', '', false), ('E2', '乙', '433101', '', true)"))
        c.execute(sa.text("INSERT INTO award_lists (id, kind, scope, scope_key, version, state, params, computed_at, "
                          "created_by) VALUES (1, 'sales_milestone', 'year', '2025', 1, 'final', '{}', "
                          "'2026-01-01 00:00:00', 'x'), (2, 'sales_milestone', 'year', '2024', 1, 'draft', '{}', "
                          "'2026-01-01 00:00:00', 'x')"))
        c.execute(sa.text("INSERT INTO award_items (list_id, position, participant_id, name, category, amount_fen, "
                          "metric_fen, detail, included, adjusted) VALUES "
                          "(1, 1, 'E2', '乙', '突破3000万元', 10000000, 0, '{\"tier\": 2}', true, false), "
                          "(2, 1, 'E1', '甲', '突破1000万元', 5000000, 0, '{\"tier\": 1}', true, false)"))
        c.execute(sa.text("INSERT INTO enterprise_accounts (enterprise_id, platform, account_id) "
                          "VALUES ('E1', 'douyin', 'shop-e1')"))
        c.execute(sa.text("INSERT INTO hosts (id, name, county) VALUES ('H1', '丙', '433101')"))
        c.execute(sa.text("INSERT INTO host_enterprises (host_id, enterprise_id) VALUES ('H1', 'E2')"))
    command.upgrade(config, "head")
    with engine.connect() as c:
        taxes = c.execute(sa.text("SELECT enterprise_id, status FROM enterprise_tax_status")).all()
        entries = c.execute(sa.text("SELECT recipient_id, reward_code, year, amount_fen, status, list_version, "
                                    "county_code FROM grant_ledger")).all()
        xiangxi = c.execute(sa.text("SELECT level, parent_code FROM regions WHERE code = '433100'")).one()
        columns = {col["name"] for col in sa.inspect(c).get_columns("enterprises")}
        # rows referring to the enterprises survive the column change (no table copy cascading deletes)
        kept = (c.execute(sa.text("SELECT count(*) FROM enterprise_accounts")).scalar(),
                c.execute(sa.text("SELECT count(*) FROM host_enterprises")).scalar())
    engine.dispose()
    assert taxes == [("E1", "non_compliant")]  # a recorded "否" is kept; a "是" cannot be told from "never checked"
    assert entries == [("E2", "sales_milestone_2", 2025, 10_000_000, "pending", 1, "433101")]  # final lists only
    assert tuple(xiangxi) == ("city", "430000") and "tax_compliant" not in columns and "region_code" in columns
    assert kept == (1, 1)
    command.downgrade(config, "0007")  # and back, nothing referring to the enterprises lost either
    with engine.connect() as c:
        flags = c.execute(sa.text("SELECT id, tax_compliant FROM enterprises ORDER BY id")).all()
        assert [(pid, bool(flag)) for pid, flag in flags] == [("E1", False), ("E2", True)]
        assert c.execute(sa.text("SELECT count(*) FROM enterprise_accounts")).scalar() == 1
        assert c.execute(sa.text("SELECT count(*) FROM award_items")).scalar() == 2
    engine.dispose()
