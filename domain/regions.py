"""Places: Hunan, its cities, the Xiangxi prefecture and its county-level divisions (statistical
division codes), what a code says about its level and parent, and where a sale is credited."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Iterable, Mapping, Sequence

XIANGXI_PREFECTURE_CODE = "433100"
XIANGXI_PREFECTURE_NAME = "湘西土家族苗族自治州"

# Xiangxi's eight county-level divisions (registration inside the prefecture).
XIANGXI_COUNTIES: Mapping[str, str] = {
    "433101": "吉首市",
    "433122": "泸溪县",
    "433123": "凤凰县",
    "433124": "花垣县",
    "433125": "保靖县",
    "433126": "古丈县",
    "433127": "永顺县",
    "433130": "龙山县",
}
XIANGXI_COUNTY_CODES = frozenset(XIANGXI_COUNTIES)

# Hunan province and its 14 cities / autonomous prefecture (statistical division codes), the top of
# the region tree: targets are split from the province down to each village.
HUNAN_PROVINCE_CODE = "430000"
HUNAN_PROVINCE_NAME = "湖南省"
HUNAN_CITIES: Mapping[str, str] = {
    "430100": "长沙市",
    "430200": "株洲市",
    "430300": "湘潭市",
    "430400": "衡阳市",
    "430500": "邵阳市",
    "430600": "岳阳市",
    "430700": "常德市",
    "430800": "张家界市",
    "430900": "益阳市",
    "431000": "郴州市",
    "431100": "永州市",
    "431200": "怀化市",
    "431300": "娄底市",
    XIANGXI_PREFECTURE_CODE: XIANGXI_PREFECTURE_NAME,
}

LEVELS = ("province", "city", "county", "township", "village")
LEVEL_NAMES_ZH = {"province": "省", "city": "市州", "county": "县市区", "township": "乡镇（街道）",
                  "village": "村（社区）"}


def level_of_code(code: str) -> str:
    """The level a statistical division code names: 6 digits (province xx0000, city xxxx00, county),
    9 digits a township, 12 digits a village. ValueError for anything else."""
    if not (isinstance(code, str) and code.isascii() and code.isdigit() and len(code) in (6, 9, 12)):
        raise ValueError(f"区划代码应为 6 位（省、市州、县市区）、9 位（乡镇）或 12 位（村）数字：{code!r}")
    if len(code) == 12:
        return "village"
    if len(code) == 9:
        return "township"
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "city"
    return "county"


def parent_code_of(code: str) -> str | None:
    """The parent a code implies: village -> township (first 9 digits), township -> county (first 6),
    county -> city (xxxx00), city -> province (xx0000), province -> None."""
    level = level_of_code(code)
    return {"village": code[:9], "township": code[:6], "county": code[:4] + "00", "city": code[:2] + "0000",
            "province": None}[level]


def code_chain(code: str) -> list[str]:
    """The code and every ancestor its digits imply, nearest first."""
    chain = [code]
    while (parent := parent_code_of(chain[-1])) is not None:
        chain.append(parent)
    return chain


def nearest_known(code: str, known: Collection[str]) -> str | None:
    """The code itself if it is in the tree, else its nearest ancestor that is (None: none is)."""
    try:
        return next((c for c in code_chain(code) if c in known), None)
    except ValueError:
        return None


def _within(code: str, area: str) -> bool:
    try:
        return area in code_chain(code)
    except ValueError:
        return False


def credited_region(county: str, region_code: str, participant_regions: Sequence[str],
                    known: Collection[str]) -> str | None:
    """The most precise known region a sale is credited to.

    In order: the event's own ``region_code``, then the participants' registered regions (the
    enterprise's, then the host's), each only when it is in the tree and lies inside the event's
    county (a participant registered elsewhere says nothing about where this product comes from);
    else the event's county, or its nearest known ancestor (a county missing from the tree still
    counts for its city and the province). None: the sale cannot be placed (uncredited)."""
    for candidate in (region_code, *participant_regions):
        if candidate and candidate in known and (not county or _within(candidate, county)):
            return candidate
    return nearest_known(county, known) if county else None


@dataclass(frozen=True)
class SaleRow:
    """Net sales of one (county, region, enterprise, host) combination, participants as ids."""

    county: str
    region_code: str
    enterprise_id: str
    host_id: str
    net_fen: int


def credit_sales(rows: Iterable[SaleRow], participant_regions: Mapping[tuple[str, str], str],
                 known: Collection[str]) -> tuple[dict[str, int], int]:
    """Direct sales per region code (to roll up with domain.targets.roll_up) and the uncredited rest.

    ``participant_regions`` maps ("enterprises"|"hosts", participant id) -> region code."""
    direct: dict[str, int] = {}
    uncredited = 0
    for row in rows:
        regions = [participant_regions.get(("enterprises", row.enterprise_id), ""),
                   participant_regions.get(("hosts", row.host_id), "")]
        code = credited_region(row.county, row.region_code, regions, known)
        if code is None:
            uncredited += row.net_fen
        else:
            direct[code] = direct.get(code, 0) + row.net_fen
    return direct, uncredited
