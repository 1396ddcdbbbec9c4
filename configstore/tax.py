"""Enterprises' tax status per year (依法纳税 / 未依法纳税 / 未核实).

No row for a year means 未核实: nothing recorded never counts as compliant (domain.awards).
Set from the participants sheet (a column per year, configstore.participants_import) or edited per
year in the console and the API; every change is audited.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from configstore.award_models import EnterpriseTaxStatus
from configstore.db import transaction
from configstore.errors import ConfigError, NotFound
from configstore.models import Enterprise
from domain.awards import TAX_STATUS_NAMES_ZH, TaxStatus

MIN_YEAR, MAX_YEAR = 2000, 2100
WORDS = {"是": "compliant", "依法纳税": "compliant", "yes": "compliant", "y": "compliant", "true": "compliant",
         "1": "compliant", "compliant": "compliant",
         "否": "non_compliant", "未依法纳税": "non_compliant", "no": "non_compliant", "n": "non_compliant",
         "false": "non_compliant", "0": "non_compliant", "non_compliant": "non_compliant",
         "未核实": "unverified", "待核实": "unverified", "unverified": "unverified"}


def parse_status(text: str) -> str | None:
    """A cell or form value -> status code; None when it is not one of the accepted words."""
    return WORDS.get((text or "").strip().lower())


def check_year(year: int) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise ConfigError("invalid_year", f"年度应为 {MIN_YEAR}–{MAX_YEAR} 之间的四位年份")
    return year


def write(session: Session, enterprise_id: str, year: int, status: str, note: str = "") -> None:
    """Inside the caller's transaction (the participants import uses it)."""
    row = session.scalar(select(EnterpriseTaxStatus).where(EnterpriseTaxStatus.enterprise_id == enterprise_id,
                                                          EnterpriseTaxStatus.year == year))
    if row is None:
        session.add(EnterpriseTaxStatus(enterprise_id=enterprise_id, year=year, status=status, note=note))
    elif (row.status, row.note) != (status, note):
        row.status, row.note = status, note


def set_status(factory: sessionmaker[Session], enterprise_id: str, year: int, status: str, note: str = "") -> dict:
    check_year(year)
    if status not in TAX_STATUS_NAMES_ZH:
        raise ConfigError("invalid_tax_status", "纳税状态只能是 compliant（依法纳税）、non_compliant（未依法纳税）"
                                                "或 unverified（未核实）")
    with transaction(factory) as session:
        if session.get(Enterprise, enterprise_id) is None:
            raise NotFound("participant_not_found", f"企业 {enterprise_id} 未登记")
        write(session, enterprise_id, year, status, (note or "").strip()[:500])
    return {"enterprise_id": enterprise_id, "year": year, "status": status, "status_name": TAX_STATUS_NAMES_ZH[status]}


def statuses(factory: sessionmaker[Session], year: int) -> dict[str, TaxStatus]:
    """Every enterprise's status for the year (missing ones are 未核实)."""
    with factory() as session:
        ids = session.scalars(select(Enterprise.id)).all()
        rows: dict[str, str] = {pid: status for pid, status in session.execute(
            select(EnterpriseTaxStatus.enterprise_id, EnterpriseTaxStatus.status)
            .where(EnterpriseTaxStatus.year == year)).all()}
    return {pid: TaxStatus(rows.get(pid, "unverified")) for pid in ids}


def history(factory: sessionmaker[Session], enterprise_id: str) -> list[dict]:
    with factory() as session:
        rows = session.scalars(select(EnterpriseTaxStatus).where(EnterpriseTaxStatus.enterprise_id == enterprise_id)
                               .order_by(EnterpriseTaxStatus.year.desc())).all()
        return [{"year": r.year, "status": r.status, "status_name": TAX_STATUS_NAMES_ZH[r.status], "note": r.note}
                for r in rows]


def by_enterprise(factory: sessionmaker[Session]) -> dict[str, dict[int, str]]:
    """enterprise id -> {year: status} for every recorded year (listings)."""
    result: dict[str, dict[int, str]] = {}
    with factory() as session:
        for pid, year, status in session.execute(select(EnterpriseTaxStatus.enterprise_id, EnterpriseTaxStatus.year,
                                                         EnterpriseTaxStatus.status)).all():
            result.setdefault(pid, {})[year] = status
    return result
