"""Places: the region tree (省 -> 市州 -> 县市区 -> 乡镇 -> 村) and the e-commerce service stations on it.

Hunan (430000), its 14 cities and prefectures, and Xiangxi's 8 county-level units are seeded by
migrations; townships (9-digit codes) and villages (12-digit codes) are added by organizers, one by
one or from a spreadsheet. A code's digits name its parent (domain.regions.parent_code_of): a
township's code starts with its county's, a village's with its township's.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from configstore.db import transaction
from configstore.errors import ConfigError, Conflict, NotFound
from configstore.models import Region, ServiceStation
from configstore.participants_import import RowError
from domain.regions import LEVEL_NAMES_ZH, level_of_code, parent_code_of

STATION_KINDS = {"county_centre": "county", "township_station": "township", "village_point": "village"}
STATION_KIND_NAMES_ZH = {"county_centre": "县级运营中心", "township_station": "乡镇服务站", "village_point": "村级服务点"}
# Levels an organizer adds (the ones above are seeded by migrations).
ADDABLE_LEVELS = ("township", "village")


def _region_dict(region: Region) -> dict:
    return {"code": region.code, "name": region.name, "level": region.level, "parent_code": region.parent_code}


def county_of(code: str) -> str:
    """The county a code at or below county level belongs to ("" above it)."""
    try:
        level = level_of_code(code)
    except ValueError:
        return ""
    return code[:6] if level in ("county", "township", "village") else ""


def list_regions(factory: sessionmaker[Session], parent_code: str | None = None,
                 counties: frozenset[str] | None = None) -> list[dict]:
    """Every region (or one region's children); with ``counties``, what lies inside those counties
    and the regions above them."""
    query = select(Region).order_by(Region.code)
    if parent_code:
        query = query.where(Region.parent_code == parent_code)
    with factory() as session:
        rows = [_region_dict(r) for r in session.scalars(query).all()]
    if counties is not None:
        rows = [r for r in rows if county_of(r["code"]) in counties or r["level"] in ("province", "city")]
    return rows


def known_codes(factory: sessionmaker[Session]) -> set[str]:
    with factory() as session:
        return set(session.scalars(select(Region.code)).all())


def _check_new_region(session: Session, code: str, name: str, parent_code: str | None) -> tuple[str, str]:
    """(level, parent code) of a new township or village, or ConfigError in Chinese."""
    try:
        level = level_of_code(code or "")
    except ValueError as exc:
        raise ConfigError("invalid_region_code", str(exc)) from None
    if level not in ADDABLE_LEVELS:
        raise ConfigError("invalid_region_level", "只能添加乡镇（9 位代码）和村（12 位代码）；省、市州和县市区已预置")
    if not (name or "").strip() or len(name.strip()) > 100:
        raise ConfigError("invalid_region_name", "区划名称必填，最多 100 个字")
    implied = parent_code_of(code)
    if implied is None:  # townships and villages always have one
        raise ConfigError("invalid_region_level", "只能添加乡镇（9 位代码）和村（12 位代码）；省、市州和县市区已预置")
    if parent_code and parent_code != implied:
        raise ConfigError("invalid_region_parent", f"区划代码 {code} 的上级应为 {implied}（代码前 {len(implied)} 位），"
                                                   f"不是 {parent_code}")
    parent = session.get(Region, implied)
    if parent is None:
        need = "县市区" if level == "township" else "乡镇"
        raise NotFound("unknown_region", f"上级{need} {implied} 不存在：请先添加上级区划")
    if session.get(Region, code) is not None:
        raise Conflict("region_exists", f"区划代码 {code} 已存在")
    return level, implied


def add_region(factory: sessionmaker[Session], *, code: str, name: str, parent_code: str | None = None) -> dict:
    """A township under a county or a village under a township; the parent follows from the code."""
    with transaction(factory) as session:
        level, parent = _check_new_region(session, code, name, parent_code)
        region = Region(code=code, name=name.strip(), level=level, parent_code=parent)
        session.add(region)
        session.flush()
        return _region_dict(region)


@dataclass
class RegionImportReport:
    added: int = 0
    renamed: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def bad_rows(self) -> int:
        return len({e.row for e in self.errors})

    def as_dict(self) -> dict:
        return {"added": self.added, "renamed": self.renamed, "bad_rows": self.bad_rows,
                "errors": [e.as_dict() for e in self.errors]}


CODE_COLUMNS = ("region_code", "county", "区划代码", "code", "统计用区划代码")
NAME_COLUMNS = ("name", "区划名称", "名称")


def _cell(row: dict[str, str], columns: Iterable[str]) -> str:
    for column in columns:
        value = (row.get(column) or "").strip()
        if value:
            return value[:-2] if value.endswith(".0") and value[:-2].isdigit() else value  # numeric xlsx cells
    return ""


def import_regions(factory: sessionmaker[Session], rows: Iterable[dict[str, str]],
                   counties: frozenset[str] | None = None) -> RegionImportReport:
    """Townships and villages from a sheet (columns 区划代码/region_code and 区划名称/name; parents may
    come earlier in the same file, in any order). A code already there with another name is renamed.
    With ``counties`` (a county user), rows outside those counties are refused."""
    report = RegionImportReport()
    wanted: dict[str, tuple[int, str]] = {}
    for line, row in enumerate(rows, start=2):
        if not any((v or "").strip() for v in row.values()):
            continue
        code, name = _cell(row, CODE_COLUMNS), _cell(row, NAME_COLUMNS)
        if counties is not None and county_of(code) not in counties:
            report.errors.append(RowError(line, "region_code", f"区划 {code} 不在本账号负责的县市内"))
        elif code in wanted:
            report.errors.append(RowError(line, "region_code", f"区划代码与第 {wanted[code][0]} 行重复"))
        else:
            wanted[code] = (line, name)
    with transaction(factory) as session:
        for code in sorted(wanted, key=len):  # townships before their villages
            line, name = wanted[code]
            existing = session.get(Region, code)
            if existing is not None and existing.level in ADDABLE_LEVELS and name and len(name) <= 100:
                if existing.name != name:
                    existing.name = name
                    report.renamed += 1
                continue
            try:
                with session.begin_nested():
                    level, parent = _check_new_region(session, code, name, None)
                    session.add(Region(code=code, name=name, level=level, parent_code=parent))
                    session.flush()
                report.added += 1
            except ConfigError as exc:
                report.errors.append(RowError(line, "region_code" if "名称" not in exc.message else "name",
                                              exc.message))
    report.errors.sort(key=lambda e: e.row)
    return report


def _station_dict(station: ServiceStation) -> dict:
    return {"id": station.id, "kind": station.kind, "kind_name": STATION_KIND_NAMES_ZH[station.kind],
            "region_code": station.region_code, "county_code": county_of(station.region_code), "name": station.name}


def list_stations(factory: sessionmaker[Session], kind: str | None = None,
                  counties: frozenset[str] | None = None) -> list[dict]:
    query = select(ServiceStation).order_by(ServiceStation.id)
    if kind:
        query = query.where(ServiceStation.kind == kind)
    with factory() as session:
        stations = [_station_dict(s) for s in session.scalars(query).all()]
    return [s for s in stations if counties is None or s["county_code"] in counties]


def station_county(factory: sessionmaker[Session], station_id: int) -> str:
    with factory() as session:
        station = session.get(ServiceStation, station_id)
        if station is None:
            raise NotFound("station_not_found", f"服务站点 {station_id} 不存在")
        return county_of(station.region_code)


def add_station(factory: sessionmaker[Session], *, kind: str, region_code: str, name: str) -> dict:
    """A station sits at the level its kind names: a county centre on a county, and so on."""
    if kind not in STATION_KINDS:
        raise ConfigError("invalid_station_kind", f"服务站类型只能是 {', '.join(STATION_KINDS)}")
    if not (name or "").strip():
        raise ConfigError("invalid_station_name", "服务站名称必填")
    with transaction(factory) as session:
        region = session.get(Region, region_code)
        if region is None:
            raise NotFound("unknown_region", f"区划 {region_code} 不存在")
        if region.level != STATION_KINDS[kind]:
            raise ConfigError("station_level_mismatch",
                              f"{STATION_KIND_NAMES_ZH[kind]}应设在{LEVEL_NAMES_ZH[STATION_KINDS[kind]]}级区划上")
        if session.scalar(select(ServiceStation).where(ServiceStation.region_code == region_code,
                                                       ServiceStation.name == name.strip())):
            raise Conflict("station_exists", f"{region.name}已有名为 {name} 的服务站")
        station = ServiceStation(kind=kind, region_code=region_code, name=name.strip())
        session.add(station)
        session.flush()
        return _station_dict(station)

