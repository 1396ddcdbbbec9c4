"""The region tree from the province to the village on the real data path: townships and villages
imported from a sheet, participants registered at a village, sales credited to the most precise region
known and rolled up to the province, targets at every level with real progress, stations' volumes."""
from __future__ import annotations

import pytest

from configstore import places
from configstore.participants_import import import_participants
from domain.money import wan_yuan
from tests.e2e.awards.test_awards import at, paid, post_and_drain
from tests.e2e.awards.test_targets_import import _xlsx

pytestmark = pytest.mark.e2e


def test_village_credit_rolls_up_to_the_province_with_targets_at_every_level(org):
    stack = org.stack
    sheet = _xlsx([["区划代码", "区划名称"], ["433101001002", "乾元村"], ["433101001", "乾州街道"],  # parent later
                    ["433101002", "石家冲街道"], ["433122100", "白沙镇"], ["433101009001", "无上级的村"],
                    ["4331010", "位数不对"], ["433126100", ""]])
    report = org.api("POST", "/regions/import", role="operator", files={"file": ("乡镇村.xlsx", sheet)}).json()
    assert (report["added"], report["bad_rows"]) == (4, 3)
    assert [(e["row"], e["message"]) for e in report["errors"]] == [
        (6, "上级乡镇 433101009 不存在：请先添加上级区划"),
        (7, "区划代码应为 6 位（省、市州、县市区）、9 位（乡镇）或 12 位（村）数字：'4331010'"),
        (8, "区划名称必填，最多 100 个字")]
    renamed = org.api("POST", "/regions/import", files={"file": ("r.csv", "区划代码,区划名称\n433101002,石家冲街道办事处\n".encode())})
    assert renamed.json()["renamed"] == 1

    # a host registered at the village, an enterprise at the township; another enterprise unplaced
    assert import_participants(stack.sessions, [
        {"kind": "host", "id": "H1", "name": "乾元村主播", "region_code": "433101001002"},
        {"kind": "enterprise", "id": "E1", "name": "乾州茶业", "region_code": "433101001"},
        {"kind": "enterprise", "id": "E2", "name": "吉首供销"},
        {"kind": "enterprise", "id": "E3", "name": "泸溪椪柑", "county": "433122"}]).bad_rows == 0
    village_point = places.add_station(stack.sessions, kind="village_point", region_code="433101001002",
                                       name="乾元村服务点")["id"]
    post_and_drain(stack, [
        paid("c", "E2", wan_yuan(30), at(2026, 3, 1), host="H1", county="433101"),  # the host's village
        paid("c", "E1", wan_yuan(20), at(2026, 3, 1), host="H9", county="433101"),  # the enterprise's township
        paid("c", "E2", wan_yuan(10), at(2026, 3, 1), host="H9", county="433101"),  # only the county is known
        paid("c", "E3", wan_yuan(5), at(2026, 3, 1), host="H9", county="433122"),
        paid("c", "E1", wan_yuan(7), at(2026, 3, 1), host="H1", county="430102"),  # a Changsha product: 长沙市
    ])
    for code, target_wan in (("430000", 200), ("433100", 100), ("433101", 50), ("433101001", 40),
                             ("433101001002", 20)):
        assert org.api("PUT", f"/targets/{code}/2026", json={"annual_target_fen": wan_yuan(target_wan)}).ok
    progress = {r["code"]: r for r in org.api("GET", "/targets/progress?year=2026", role="viewer").json()["regions"]}
    assert [(progress[c]["level"], progress[c]["actual_sales_fen"], progress[c]["label"]) for c in
            ("430000", "433100", "433101", "433101001", "433101001002", "433122", "430100")] == [
        ("province", wan_yuan(72), "完成年度任务的 36.0%"), ("city", wan_yuan(65), "完成年度任务的 65.0%"),
        ("county", wan_yuan(60), "完成年度任务的 120.0%"), ("township", wan_yuan(50), "完成年度任务的 125.0%"),
        ("village", wan_yuan(30), "完成年度任务的 150.0%"), ("county", wan_yuan(5), None), ("city", wan_yuan(7), None)]
    assert progress["433101"]["direct_sales_fen"] == wan_yuan(10)  # what only the county could take

    # the village point's volume is its village's sales; it is rated on them
    assert org.api("PUT", f"/stations/{village_point}/scores/2026", json={"quality_score": "90"}).ok
    rating = org.api("POST", "/awards/compute", role="operator",
                     json={"kind": "station_rating", "scope": "year", "scope_key": "2026"}).json()
    assert [(i["name"], i["metric_fen"], i["amount_fen"]) for i in rating["items"]] == [
        ("乾元村服务点", wan_yuan(30), wan_yuan(1))]
    page = org.console("viewer-user").get(f"{org.base_url}/console/awards/targets?year=2026", timeout=30).text
    assert "湖南省" in page and "乾元村" in page and "完成年度任务的 150.0%" in page


def test_events_region_code_is_the_most_precise_credit_on_both_stores(org_both):
    """Sales carry their own township or village code (event region_code): it comes first, before any
    registered region; a code the tree does not know yet counts for its county."""
    org = org_both
    stack = org.stack
    for code, name in (("433101001", "乾州街道"), ("433101001002", "乾元村"), ("433101002", "石家冲街道"),
                       ("433101002001", "石家冲村")):
        places.add_region(stack.sessions, code=code, name=name)
    assert import_participants(stack.sessions, [
        {"kind": "enterprise", "id": "E1", "name": "乾州茶业", "region_code": "433101001"},
        {"kind": "enterprise", "id": "E2", "name": "吉首供销", "county": "433101"}]).bad_rows == 0
    places.add_station(stack.sessions, kind="township_station", region_code="433101002", name="石家冲服务站")
    post_and_drain(stack, [
        # E1 is registered at 乾州街道, but the sale says 石家冲村: the event wins
        paid("c", "E1", wan_yuan(8), at(2026, 4, 1), county="433101", region_code="433101002001"),
        paid("c", "E2", wan_yuan(4), at(2026, 4, 1), county="433101", region_code="433101002"),
        paid("c", "E2", wan_yuan(2), at(2026, 4, 1), county="433101", region_code="433101009"),  # not in the tree
        paid("c", "E1", wan_yuan(1), at(2026, 4, 1), county="433101"),  # no code: E1's township
    ])
    progress = {r["code"]: r for r in org.api("GET", "/targets/progress?year=2026", role="viewer").json()["regions"]}
    assert [(c, progress[c]["direct_sales_fen"], progress[c]["actual_sales_fen"]) for c in
            ("433101002001", "433101002", "433101001", "433101", "433100", "430000")] == [
        ("433101002001", wan_yuan(8), wan_yuan(8)), ("433101002", wan_yuan(4), wan_yuan(12)),
        ("433101001", wan_yuan(1), wan_yuan(1)), ("433101", wan_yuan(2), wan_yuan(15)),
        ("433100", 0, wan_yuan(15)), ("430000", 0, wan_yuan(15))]
    page = org.console("viewer-user").get(f"{org.base_url}/console/awards/stations?year=2026", timeout=30).text
    assert "石家冲服务站" in page and "120,000.00元" in page  # its township with the village below it
