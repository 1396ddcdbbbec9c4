"""Places: the prefecture and its county-level divisions (statistical division codes)."""
from __future__ import annotations

from typing import Mapping

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
