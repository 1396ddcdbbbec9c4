"""Import hosts and enterprises from CSV or .xlsx: keep the good rows, report each bad one.

Columns (English or Chinese headers, any order):
  kind/类型 (host|enterprise|主播|企业), id/编号, name/名称, county/县市代码,
  accounts/平台账号 ("douyin:dy123;kuaishou:ks9"), credit_code/统一社会信用代码 (enterprises),
  依法纳税(2025), 依法纳税(2026), ... / tax_2026 (enterprises: the tax status OF THAT YEAR, one column
  per year: 是/否/未核实, yes/no, 1/0; an empty cell changes nothing, and a year never filled in stays
  未核实 — it never counts as compliant). A 依法纳税 column without a year is refused: the status is
  a fact about a year.
  region_code/所在区划 (the participant's region at any level: county, 9-digit township or 12-digit
  village; it must lie inside the row's county, and gives the county when that cell is empty),
  enterprises/所属企业 (hosts: the enterprise ids they sell for, "E001;E002"; registered or in the file)
A row that names an existing id updates it; its accounts (and, when the column is there, its
enterprises) are replaced by the row's. A county user imports only rows of their counties.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from configstore import tax
from configstore.db import transaction
from configstore.models import (
    Enterprise,
    EnterpriseAccount,
    Host,
    HostAccount,
    HostEnterprise,
    Region,
)
from domain.regions import level_of_code

PLATFORMS = ("douyin", "kuaishou", "taobao", "jd", "pinduoduo", "wechat_channels", "mango", "youzan", "other")
HEADER_ALIASES = {
    "kind": "kind", "类型": "kind", "id": "id", "编号": "id", "name": "name", "名称": "name",
    "county": "county", "县市代码": "county", "区划代码": "county", "accounts": "accounts", "平台账号": "accounts",
    "credit_code": "credit_code", "统一社会信用代码": "credit_code", "tax_compliant": "tax_compliant",
    "依法纳税": "tax_compliant", "enterprises": "enterprises", "所属企业": "enterprises",
    "region_code": "region_code", "所在区划": "region_code", "所在区划代码": "region_code",
}
TAX_COLUMN = re.compile(r"^(?:依法纳税|tax_compliant|tax)\s*[_（(]?\s*(\d{4})\s*(?:年)?\s*[)）]?$", re.IGNORECASE)
KINDS = {"host": "host", "主播": "host", "达人": "host", "enterprise": "enterprise", "企业": "enterprise"}
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
COUNTY_PATTERN = re.compile(r"^[1-9]\d{5}$")
CREDIT_CODE_PATTERN = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based line number in the file, header is row 1
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "field": self.field, "message": self.message}


@dataclass
class ImportReport:
    hosts: int = 0
    enterprises: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def kept(self) -> int:
        return self.hosts + self.enterprises

    @property
    def bad_rows(self) -> int:
        return len({e.row for e in self.errors})


# What one import may hold; a file over any of these is refused before it is read whole.
MAX_ROWS = 20_000  # data rows, blank ones included
MAX_COLUMNS = 100
MAX_CSV_BYTES = 8 * 1024 * 1024
MAX_XLSX_UNCOMPRESSED_BYTES = 32 * 1024 * 1024  # the sum of the zip entries' declared sizes
MAX_XLSX_ENTRIES = 500  # a workbook has a dozen or two


class ImportTooLarge(ValueError):
    """A file over the import limits; the message (Chinese) says which one."""

    code = "import_too_large"


def _too_many_rows() -> ImportTooLarge:
    return ImportTooLarge(f"文件超过 {MAX_ROWS} 行的导入上限，请拆分为多个文件分批导入")


def _checked_zip(source) -> None:
    """Refuse a workbook whose zip declares too many entries or too many bytes once inflated, from
    its central directory alone (nothing is inflated). zipfile never inflates an entry past its
    declared size, so openpyxl reads no more than what was checked here."""
    with zipfile.ZipFile(source) as archive:
        entries = archive.infolist()
        if len(entries) > MAX_XLSX_ENTRIES:
            raise ImportTooLarge(f"文件包含 {len(entries)} 个压缩条目，不像是正常的 .xlsx 表格（上限 {MAX_XLSX_ENTRIES}）")
        inflated = sum(entry.file_size for entry in entries)
        if inflated > MAX_XLSX_UNCOMPRESSED_BYTES:
            raise ImportTooLarge(f"表格解压后约 {inflated / 1048576:.0f} MB，超过 "
                                 f"{MAX_XLSX_UNCOMPRESSED_BYTES // 1048576} MB 的导入上限，请拆分为多个文件分批导入")


def _xlsx_rows(source) -> list[list[str]]:
    from openpyxl import load_workbook

    _checked_zip(source)
    if hasattr(source, "seek"):
        source.seek(0)
    workbook = load_workbook(source, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # the declared size may lie: rows come as wide as their cells, no wider
        raw: list[list[str]] = []
        for row in sheet.iter_rows(values_only=True):  # gaps come as empty rows: they count too
            if len(raw) > MAX_ROWS:
                raise _too_many_rows()
            if len(row) > MAX_COLUMNS and any(value is not None for value in row[MAX_COLUMNS:]):
                raise ImportTooLarge(f"表格超过 {MAX_COLUMNS} 列的导入上限")
            raw.append(["" if v is None else str(v).strip() for v in row[:MAX_COLUMNS]])
    finally:
        workbook.close()
    width = max((max((i + 1 for i, value in enumerate(row) if value), default=0) for row in raw), default=0)
    return [row[:width] + [""] * (width - len(row)) for row in raw]  # as wide as the columns that hold something


def _csv_rows(content: bytes) -> list[list[str]]:
    if len(content) > MAX_CSV_BYTES:
        raise ImportTooLarge(f"CSV 文件超过 {MAX_CSV_BYTES // 1048576} MB 的导入上限，请拆分为多个文件分批导入")
    raw: list[list[str]] = []
    for row in csv.reader(io.StringIO(content.decode("utf-8-sig"))):
        if len(raw) > MAX_ROWS:
            raise _too_many_rows()
        if len(row) > MAX_COLUMNS:
            raise ImportTooLarge(f"表格超过 {MAX_COLUMNS} 列的导入上限")
        raw.append([cell.strip() for cell in row])
    return raw


def read_rows(path: Path | str, content: bytes | None = None) -> list[dict[str, str]]:
    """Rows as dicts of canonical column -> text, from .csv (UTF-8, BOM ok) or .xlsx.

    Raises ImportTooLarge (a ValueError) for a file over the limits above, before reading it
    whole: an .xlsx by its zip directory, then row by row (read-only mode); a CSV by its size,
    then row by row. The header row is not counted."""
    name = str(path).lower()
    if name.endswith(".xlsx"):
        raw = _xlsx_rows(io.BytesIO(content) if content is not None else Path(path))
    elif name.endswith(".csv"):
        if content is None:
            if Path(path).stat().st_size > MAX_CSV_BYTES:
                raise ImportTooLarge(f"CSV 文件超过 {MAX_CSV_BYTES // 1048576} MB 的导入上限，请拆分为多个文件分批导入")
            content = Path(path).read_bytes()
        raw = _csv_rows(content)
    else:
        raise ValueError("只支持 .csv 和 .xlsx 文件")
    if not raw:
        return []
    header = [HEADER_ALIASES.get(h.strip().lower(), HEADER_ALIASES.get(h.strip(), h.strip())) for h in raw[0]]
    return [dict(zip(header, row, strict=False)) for row in raw[1:]]


def _parse_accounts(text: str) -> list[tuple[str, str]]:
    accounts = []
    for part in filter(None, (p.strip() for p in re.split(r"[;；]", text or ""))):
        platform, sep, account = part.partition(":") if ":" in part else part.partition("：")
        if not sep or platform.strip() not in PLATFORMS or not account.strip():
            raise ValueError(f"平台账号格式应为 平台:账号，平台取值 {', '.join(PLATFORMS)}")
        accounts.append((platform.strip(), account.strip()))
    return accounts


def _tax_columns(row: dict[str, str]) -> dict[int, str]:
    """{year: cell text} of the row's 依法纳税(YYYY) columns."""
    found = {}
    for key, value in row.items():
        match = TAX_COLUMN.match((key or "").strip())
        if match:
            found[int(match.group(1))] = (value or "").strip()
    return found


def _region_error(code: str, county: str, known: set[str]) -> str | None:
    try:
        level = level_of_code(code)
    except ValueError as exc:
        return str(exc)
    if level in ("province", "city"):
        return "所在区划应为县市区、乡镇或村"
    if code not in known:
        return f"区划 {code} 不存在：请先导入乡镇和村"
    if county and code[:6] != county:
        return f"所在区划 {code} 不在县市 {county} 内"
    return None


def import_participants(factory: sessionmaker[Session], rows: Iterable[dict[str, str]],
                        counties: frozenset[str] | None = None) -> ImportReport:
    """``counties``: the importing user's counties (None: a prefecture user, every county)."""
    report = ImportReport()
    with factory() as session:
        known_regions = set(session.scalars(select(Region.code)).all())
        current_county = {("host", pid): c for pid, c in session.execute(select(Host.id, Host.county)).all()}
        current_county |= {("enterprise", pid): c for pid, c in
                           session.execute(select(Enterprise.id, Enterprise.county)).all()}
    seen_ids: dict[tuple[str, str], int] = {}
    seen_accounts: dict[tuple[str, str, str], int] = {}
    good: list[tuple[int, dict]] = []
    for line, row in enumerate(rows, start=2):
        if not any((v or "").strip() for v in row.values()):
            continue  # blank line
        errors: list[RowError] = []
        kind = KINDS.get((row.get("kind") or "").strip().lower())
        if kind is None:
            errors.append(RowError(line, "kind", "类型应为 主播/host 或 企业/enterprise"))
        pid = (row.get("id") or "").strip()
        if not ID_PATTERN.match(pid):
            errors.append(RowError(line, "id", "编号必填，只能包含字母、数字、下划线和连字符"))
        name = (row.get("name") or "").strip()
        if not name or len(name) > 100:
            errors.append(RowError(line, "name", "名称必填，最多 100 个字"))
        county = (row.get("county") or "").strip()
        if county and not COUNTY_PATTERN.match(county):
            errors.append(RowError(line, "county", "县市代码应为 6 位行政区划代码"))
        region = (row.get("region_code") or "").strip()
        if region.endswith(".0") and region[:-2].isdigit():  # a numeric xlsx cell
            region = region[:-2]
        if region:
            problem = _region_error(region, county, known_regions)
            if problem:
                errors.append(RowError(line, "region_code", problem))
            elif not county:
                county = region[:6]
        if counties is not None and kind and (county not in counties or
                                              current_county.get((kind, pid), county) not in counties):
            errors.append(RowError(line, "county", "县市账号只能导入和修改本县市的主播和企业"))
        try:
            accounts = _parse_accounts(row.get("accounts", ""))
        except ValueError as exc:
            accounts = []
            errors.append(RowError(line, "accounts", str(exc)))
        credit_code = (row.get("credit_code") or "").strip().upper()
        if kind == "enterprise" and credit_code and not CREDIT_CODE_PATTERN.match(credit_code):
            errors.append(RowError(line, "credit_code", "统一社会信用代码应为 18 位"))
        if (row.get("tax_compliant") or row.get("依法纳税") or "").strip():
            errors.append(RowError(line, "tax_compliant", "依法纳税须按年度填写：表头请写成“依法纳税(2026)”，每个年度一列"))
        tax_by_year: dict[int, str] = {}
        for year, text in sorted(_tax_columns(row).items()):
            status = tax.parse_status(text) if text else None
            if text and status is None:
                errors.append(RowError(line, f"依法纳税({year})", f"依法纳税({year})应填 是、否 或 未核实"))
            elif text and not tax.MIN_YEAR <= year <= tax.MAX_YEAR:
                errors.append(RowError(line, f"依法纳税({year})", f"年度应在 {tax.MIN_YEAR}–{tax.MAX_YEAR} 之间"))
            elif status is not None:
                tax_by_year[year] = status
        if tax_by_year and kind == "host":
            errors.append(RowError(line, "tax_compliant", "依法纳税只对企业填写"))
        if kind and pid:
            if (kind, pid) in seen_ids:
                errors.append(RowError(line, "id", f"编号与第 {seen_ids[(kind, pid)]} 行重复"))
            for platform, account in accounts:
                owner = seen_accounts.get((kind, platform, account))
                if owner is not None:
                    errors.append(RowError(line, "accounts", f"平台账号 {platform}:{account} 与第 {owner} 行重复"))
        if errors or kind is None:  # no kind is one of the errors
            report.errors.extend(errors)
            continue
        seen_ids[(kind, pid)] = line
        for platform, account in accounts:
            seen_accounts[(kind, platform, account)] = line
        enterprise_ids = None
        if kind == "host" and row.get("enterprises") is not None:
            enterprise_ids = [e for e in (p.strip() for p in re.split(r"[;；,，]", row["enterprises"])) if e]
        good.append((line, dict(kind=kind, id=pid, name=name, county=county, region_code=region, accounts=accounts,
                                credit_code=credit_code, tax=tax_by_year, enterprises=enterprise_ids)))

    with transaction(factory) as session:
        known = set(session.scalars(select(Enterprise.id)).all()) | {i["id"] for _, i in good
                                                                     if i["kind"] == "enterprise"}
        kept = []
        for line, item in good:
            unknown = [e for e in item["enterprises"] or () if e not in known]
            if unknown:
                report.errors.append(RowError(line, "enterprises", f"所属企业未登记：{', '.join(unknown)}"))
            else:
                kept.append(item)
        # enterprises first, so the hosts' links find them
        for item in sorted(kept, key=lambda i: i["kind"] != "enterprise"):
            if item["kind"] == "host":
                _upsert_host(session, item)
                report.hosts += 1
            else:
                _upsert_enterprise(session, item)
                report.enterprises += 1
    report.errors.sort(key=lambda e: e.row)
    return report


def _release_accounts(session: Session, account_model, owner_attr: str, owner_id: str, accounts) -> None:
    for platform, account in accounts:
        existing = session.scalar(select(account_model).where(account_model.platform == platform,
                                                              account_model.account_id == account))
        if existing is not None and getattr(existing, owner_attr) != owner_id:
            session.delete(existing)  # the file is the newer truth: the account moves to this row
            session.flush()


def _upsert_host(session: Session, item: dict) -> None:
    host = session.get(Host, item["id"]) or Host(id=item["id"])
    host.name, host.county, host.region_code = item["name"], item["county"], item["region_code"]
    session.add(host)
    host.accounts.clear()
    session.flush()  # delete the old accounts before inserting the row's (unique platform+account)
    _release_accounts(session, HostAccount, "host_id", item["id"], item["accounts"])
    host.accounts = [HostAccount(platform=p, account_id=a) for p, a in item["accounts"]]
    if item["enterprises"] is not None:
        wanted = set(item["enterprises"])
        host.enterprise_links = [link for link in host.enterprise_links if link.enterprise_id in wanted] + [
            HostEnterprise(host_id=host.id, enterprise_id=e) for e in sorted(wanted)
            if e not in {link.enterprise_id for link in host.enterprise_links}]
    session.flush()


def _upsert_enterprise(session: Session, item: dict) -> None:
    enterprise = session.get(Enterprise, item["id"]) or Enterprise(id=item["id"])
    enterprise.name, enterprise.county, enterprise.region_code = item["name"], item["county"], item["region_code"]
    enterprise.credit_code = item["credit_code"]
    session.add(enterprise)
    session.flush()
    for year, status in item["tax"].items():
        tax.write(session, enterprise.id, year, status)
    enterprise.accounts.clear()
    session.flush()
    _release_accounts(session, EnterpriseAccount, "enterprise_id", item["id"], item["accounts"])
    enterprise.accounts = [EnterpriseAccount(platform=p, account_id=a) for p, a in item["accounts"]]
    session.flush()
