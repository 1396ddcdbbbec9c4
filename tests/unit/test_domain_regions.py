"""Region codes down to the village, where a sale is credited, and the roll-up to the province."""
import pytest

from domain.regions import (
    HUNAN_CITIES,
    SaleRow,
    code_chain,
    credit_sales,
    credited_region,
    level_of_code,
    parent_code_of,
)
from domain.targets import RegionNode, roll_up

PROVINCE, XIANGXI, JISHOU, QIANZHOU, VILLAGE = "430000", "433100", "433101", "433101001", "433101001002"
LUXI, LUXI_TOWN = "433122", "433122100"
KNOWN = {PROVINCE, XIANGXI, "430100", JISHOU, QIANZHOU, VILLAGE, LUXI, LUXI_TOWN}


@pytest.mark.parametrize(
    "code, level, parent",
    [(PROVINCE, "province", None), ("430100", "city", PROVINCE), (XIANGXI, "city", PROVINCE),
     (JISHOU, "county", XIANGXI), ("430102", "county", "430100"), (QIANZHOU, "township", JISHOU),
     (VILLAGE, "village", QIANZHOU)],
)
def test_levels_and_parents_from_codes(code, level, parent):
    assert (level_of_code(code), parent_code_of(code)) == (level, parent)


@pytest.mark.parametrize("bad", ["43310", "4331010011", "43310100100a", "", "４３３１０１"])
def test_bad_codes(bad):
    with pytest.raises(ValueError):
        level_of_code(bad)


def test_hunan_has_fourteen_cities_and_prefectures():
    assert len(HUNAN_CITIES) == 14 and all(level_of_code(c) == "city" for c in HUNAN_CITIES)
    assert code_chain(VILLAGE) == [VILLAGE, QIANZHOU, JISHOU, XIANGXI, PROVINCE]


@pytest.mark.parametrize(
    "county, region, participants, expected",
    [
        (JISHOU, VILLAGE, [], VILLAGE),  # the event's own region code first
        (JISHOU, QIANZHOU, [VILLAGE], QIANZHOU),
        (JISHOU, "", [VILLAGE, ""], VILLAGE),  # else the enterprise's registered region
        (JISHOU, "", ["", QIANZHOU], QIANZHOU),  # else the host's
        (JISHOU, "", [LUXI_TOWN], JISHOU),  # a participant registered in another county says nothing here
        (JISHOU, "433101009", [], JISHOU),  # a region code the tree does not know: the county
        (LUXI, VILLAGE, [], LUXI),  # an event region outside its own county is not believed
        ("430102", "", [], "430100"),  # a county missing from the tree counts for its city
        ("999999", "", [], None),  # nowhere: uncredited
        ("", "", [QIANZHOU], QIANZHOU),  # no county on the event: the participant's region
        ("", "", [], None),
    ],
)
def test_credited_region(county, region, participants, expected):
    assert credited_region(county, region, participants, KNOWN) == expected


def test_village_and_township_credit_roll_up_to_the_province_and_station_volume():
    rows = [SaleRow(JISHOU, VILLAGE, "E1", "H1", 300), SaleRow(JISHOU, "", "E2", "H2", 200),
            SaleRow(JISHOU, "", "E9", "H9", 100), SaleRow(LUXI, "", "E1", "H1", 50),
            SaleRow("430102", "", "", "", 40), SaleRow("999999", "", "", "", 7)]
    regions = {("enterprises", "E2"): QIANZHOU, ("hosts", "H1"): VILLAGE, ("enterprises", "E1"): ""}
    direct, uncredited = credit_sales(rows, regions, KNOWN)
    assert direct == {VILLAGE: 300, QIANZHOU: 200, JISHOU: 100, LUXI: 50, "430100": 40} and uncredited == 7
    nodes = [RegionNode(PROVINCE, "湖南省", "province", None, 1000), RegionNode(XIANGXI, "湘西州", "city", PROVINCE, 500),
             RegionNode("430100", "长沙市", "city", PROVINCE), RegionNode(JISHOU, "吉首市", "county", XIANGXI, 400),
             RegionNode(LUXI, "泸溪县", "county", XIANGXI), RegionNode(LUXI_TOWN, "某镇", "township", LUXI),
             RegionNode(QIANZHOU, "乾州街道", "township", JISHOU, 400),
             RegionNode(VILLAGE, "某村", "village", QIANZHOU, 200)]
    progress = roll_up(nodes, direct)
    actual = {code: p.actual_sales_fen for code, p in progress.items()}
    assert actual == {PROVINCE: 690, XIANGXI: 650, "430100": 40, JISHOU: 600, LUXI: 50, LUXI_TOWN: 0,
                      QIANZHOU: 500, VILLAGE: 300}
    assert [progress[c].label for c in (PROVINCE, XIANGXI, JISHOU, QIANZHOU, VILLAGE)] == [
        "完成年度任务的 69.0%", "完成年度任务的 130.0%", "完成年度任务的 150.0%", "完成年度任务的 125.0%",
        "完成年度任务的 150.0%"]
    # a station's transaction volume is its area's credited sales: county centre, township station, village point
    assert (actual[JISHOU], actual[QIANZHOU], actual[VILLAGE]) == (600, 500, 300)
