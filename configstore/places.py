"""Places: the region tree (州 -> 县市 -> 乡镇 -> 村) and the e-commerce service stations on it.

The prefecture and its 8 county-level units are seeded by migration 0003; townships and
villages are added by organizers.
"""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from configstore.db import transaction
from configstore.errors import ConfigError, Conflict, NotFound
from configstore.models import Region, ServiceStation

LEVELS = ("prefecture", "county", "township", "village")
LEVEL_NAMES_ZH = {"prefecture": "州", "county": "县市", "township": "乡镇", "village": "村"}
STATION_KINDS = {"county_centre": "county", "township_station": "township", "village_point": "village"}
STATION_KIND_NAMES_ZH = {"county_centre": "县级运营中心", "township_station": "乡镇服务站", "village_point": "村级服务点"}
REGION_CODE = re.compile(r"^\d{6,12}$")


def _region_dict(region: Region) -> dict:
    return {"code": region.code, "name": region.name, "level": region.level, "parent_code": region.parent_code}


def list_regions(factory: sessionmaker[Session], parent_code: str | None = None) -> list[dict]:
    query = select(Region).order_by(Region.code)
    if parent_code:
        query = query.where(Region.parent_code == parent_code)
    with factory() as session:
        return [_region_dict(r) for r in session.scalars(query).all()]


def add_region(factory: sessionmaker[Session], *, code: str, name: str, parent_code: str) -> dict:
    """A township under a county or a village under a township (the level follows the parent)."""
    if not REGION_CODE.match(code or ""):
        raise ConfigError("invalid_region_code", "区划代码应为 6–12 位数字")
    if not (name or "").strip():
        raise ConfigError("invalid_region_name", "区划名称必填")
    with transaction(factory) as session:
        parent = session.get(Region, parent_code)
        if parent is None:
            raise NotFound("unknown_region", f"上级区划 {parent_code} 不存在")
        if parent.level == "village":
            raise ConfigError("invalid_region_parent", "村以下不能再添加区划")
        if session.get(Region, code) is not None:
            raise Conflict("region_exists", f"区划代码 {code} 已存在")
        region = Region(code=code, name=name.strip(), level=LEVELS[LEVELS.index(parent.level) + 1],
                        parent_code=parent.code)
        session.add(region)
        session.flush()
        return _region_dict(region)


def _station_dict(station: ServiceStation) -> dict:
    return {"id": station.id, "kind": station.kind, "region_code": station.region_code, "name": station.name}


def list_stations(factory: sessionmaker[Session], kind: str | None = None) -> list[dict]:
    query = select(ServiceStation).order_by(ServiceStation.id)
    if kind:
        query = query.where(ServiceStation.kind == kind)
    with factory() as session:
        return [_station_dict(s) for s in session.scalars(query).all()]


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
