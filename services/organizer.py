"""What the organizer API and the console both show, assembled from the registry, the analytics
store and the event log (no HTTP here): unattributed sales, ingestion health, imports."""
from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from analytics import ingestion
from analytics.base import StoreError
from analytics.boards import campaign_totals
from analytics.unattributed import (
    CampaignWindow,
    UnattributedGroup,
    totals,
    unattributed_groups,
)
from configstore import places, registry, snapshots, sources
from configstore.errors import ConfigError
from configstore.participants_import import ImportReport, ImportTooLarge, RowError, import_participants, read_rows
from configstore.targets_import import import_targets
from domain.boards import BOARDS
from domain.periods import SHANGHAI, local_day
from domain.regions import XIANGXI_COUNTIES, XIANGXI_PREFECTURE_CODE
from eventlog.base import EventLogUnavailable
from services import tolerant_input as tolerant
from services.health import health
from services.runtime import Runtime

log = logging.getLogger(__name__)
IMPORT_MAX_BYTES = 16 * 1024 * 1024  # participant spreadsheets may exceed the app-wide 1 MiB body cap
_DEAD_LETTER_TTL_S = 10.0
_dead_letter_cache: dict[int, tuple[float, int | None]] = {}


def unattributed(runtime: Runtime, campaign: str | None = None) -> list[UnattributedGroup]:
    sessions = runtime.sessions
    windows = {c.slug: CampaignWindow(c.status, c.first_day, c.last_day) for c in registry.all_campaigns(sessions)}
    return unattributed_groups(runtime.store, campaigns=windows, hosts=registry.attribution(sessions, "hosts"),
                               enterprises=registry.attribution(sessions, "enterprises"), campaign=campaign)


def import_file(runtime: Runtime, filename: str, content: bytes) -> ImportReport:
    """Hosts and enterprises from a spreadsheet, read tolerantly (see import_participant_rows)."""
    return import_participant_rows(runtime, _read(filename, content))


def _row_dict(error: RowError) -> dict:
    return {**error.as_dict(), "field_name": tolerant.field_name(error.field)}


def report_dict(report: ImportReport) -> dict:
    return {"hosts": report.hosts, "enterprises": report.enterprises, "kept": report.kept,
            "bad_rows": report.bad_rows, "errors": [_row_dict(e) for e in report.errors],
            "warnings": [_row_dict(w) for w in getattr(report, "warnings", [])]}


def create_source(runtime: Runtime, name: str, description: str = "", *, platforms=None, campaigns=None,
                  enterprises=None) -> str:
    """A new source, scoped to what it may report (None: any); returns its secret."""
    secret = sources.create_source(runtime.sessions, name, description, box=runtime.secrets, platforms=platforms,
                                   campaigns=campaigns, enterprises=enterprises)
    runtime.sources.invalidate(name)  # an earlier 401 for this name must not linger in the cache
    return secret


def set_source_scope(runtime: Runtime, name: str, *, platforms=None, campaigns=None, enterprises=None) -> dict:
    source = sources.set_scope(runtime.sessions, name, platforms=platforms, campaigns=campaigns,
                               enterprises=enterprises)
    runtime.sources.invalidate(name)  # the new scope holds at once in this process
    return source


def rotate_source(runtime: Runtime, name: str) -> str:
    secret = sources.rotate_secret(runtime.sessions, name, box=runtime.secrets)
    runtime.sources.invalidate(name)  # the new secret works at once in this process
    return secret


def revoke_source(runtime: Runtime, name: str) -> None:
    sources.revoke_source(runtime.sessions, name)
    runtime.sources.invalidate(name)  # refused at once here; other processes within the cache ttl


def dead_lettered(runtime: Runtime) -> int | None:
    """Records in the dead-letter topic, cached briefly (Kafka needs a connection); None if unknown."""
    now = time.monotonic()
    cached = _dead_letter_cache.get(id(runtime))
    if cached and now - cached[0] < _DEAD_LETTER_TTL_S:
        return cached[1]
    try:
        count = runtime.event_log.count(runtime.event_log.dead_letter_topic)
    except (EventLogUnavailable, AttributeError):
        count = None
    _dead_letter_cache[id(runtime)] = (now, count)
    return count


def ingestion_health(runtime: Runtime) -> dict:
    metrics = runtime.metrics
    counters = metrics.snapshot()
    try:
        unattributed_totals: dict | None = totals(unattributed(runtime))
    except StoreError:
        log.warning("analytics store unavailable for the health view", exc_info=True)
        unattributed_totals = None
    try:
        set_aside: dict[str, int] | None = ingestion.counts(runtime.store)
    except StoreError:
        set_aside = None
    status, overall = health(runtime)
    return {
        "events_accepted": counters.get("events_accepted", 0),
        "events_rejected": counters.get("events_rejected", 0),
        "requests_bad_signature": counters.get("webhook_bad_signature", 0),
        "requests_unavailable": counters.get("webhook_unavailable", 0),
        "accepted_per_minute": metrics.per_minute("events_accepted"),
        "rejected_per_minute": metrics.per_minute("events_rejected"),
        "dead_lettered": dead_lettered(runtime),
        "unattributed": unattributed_totals,
        "held_refunds": set_aside["held_refunds"] if set_aside else None,
        "conflicts": set_aside["conflicts"] if set_aside else None,
        "healthy": status == 200, "problems": overall["problems"], "components": overall["components"],
        "scope": "process",  # counters are this API process's since it started
    }


# -- spreadsheets the organizers fill in ---------------------------------------------------------
# Extra header spellings people use, beyond configstore.participants_import.HEADER_ALIASES.
_PARTICIPANT_HEADERS = {"县市": "county", "县市名称": "county", "所在县市": "county", "区县": "county",
                        "账号": "accounts", "平台与账号": "accounts", "信用代码": "credit_code",
                        "是否依法纳税": "tax_compliant", "纳税": "tax_compliant", "企业编号": "enterprises"}
_TARGET_HEADERS = {"年度目标（元）": "年度目标(元)",
                   "目标（元）": "年度目标(元)", "目标(元)": "年度目标(元)", "年度目标(万元)": "target_wan",
                   "年度目标（万元）": "target_wan"}


@dataclass
class ParticipantImport(ImportReport):
    """An import report with the rows that were kept but deserve a second look."""

    warnings: list[RowError] = field(default_factory=list)


def _header(row: dict[str, str], aliases: dict[str, str]) -> dict[str, str]:
    return {aliases.get(key, key): value for key, value in row.items()}


def normalise_participant_rows(rows: list[dict[str, str]]) -> tuple[list[dict[str, str]], list[RowError],
                                                                      list[RowError]]:
    """Rows as the importer wants them (county codes, platform values, 是/否), read tolerantly
    (services.tolerant_input); a row that cannot be read is blanked (the importer skips blank rows,
    so line numbers stay) and reported here instead. Returns (rows, errors, warnings)."""
    cleaned: list[dict[str, str]] = []
    errors: list[RowError] = []
    warnings: list[RowError] = []
    for line, raw in enumerate(rows, start=2):
        row = _header(raw, _PARTICIPANT_HEADERS)
        problems = []
        for column, normalise in (("county", tolerant.parse_county),
                                  ("accounts", lambda text: tolerant.accounts_text(tolerant.parse_accounts(text)))):
            if (row.get(column) or "").strip():
                try:
                    row[column] = normalise(row[column])
                except tolerant.InputError as exc:
                    problems.append(RowError(line, column, exc.message))
        if (row.get("tax_compliant") or "").strip():
            try:
                row["tax_compliant"] = "是" if tolerant.parse_yes_no(row["tax_compliant"]) else "否"
            except tolerant.InputError as exc:
                problems.append(RowError(line, "tax_compliant", exc.message))
        if row.get("credit_code"):
            row["credit_code"] = tolerant.normalise_credit_code(row["credit_code"])
        for column in ("kind", "id", "name"):
            if row.get(column) is not None:
                row[column] = tolerant.fold(row[column]) if column != "name" else str(row[column]).strip()
        if problems:
            errors += problems
            cleaned.append({})
            continue
        warning = tolerant.county_warning(row.get("county") or "")
        if warning:
            warnings.append(RowError(line, "county", warning))
        cleaned.append(row)
    return cleaned, errors, warnings


def import_participant_rows(runtime: Runtime, rows: list[dict[str, str]]) -> ParticipantImport:
    cleaned, errors, warnings = normalise_participant_rows(rows)
    report = import_participants(runtime.sessions, cleaned)
    bad_lines = {e.row for e in report.errors}
    return ParticipantImport(hosts=report.hosts, enterprises=report.enterprises,
                             errors=sorted(report.errors + errors, key=lambda e: e.row),
                             warnings=[w for w in warnings if w.row not in bad_lines])


def _read(filename: str, content: bytes) -> list[dict[str, str]]:
    try:
        return read_rows(filename, content)
    except ImportTooLarge as exc:  # refused before it was read whole
        raise ConfigError(exc.code, str(exc)) from None
    except ValueError as exc:
        raise ConfigError("unsupported_file", str(exc)) from None
    except Exception:  # a corrupt workbook, a CSV that is not UTF-8, ...
        log.info("unreadable import file %s", filename, exc_info=True)
        raise ConfigError("unreadable_file", "文件无法读取：请上传 UTF-8 编码的 CSV 或 .xlsx 表格") from None


def normalise_target_rows(sessions, rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Target rows with region codes for region names ("吉首市", or any registered township or
    village name that is unique) and amounts in plain yuan ("1,200万" -> "12000000.00")."""
    by_name: dict[str, list[str]] = {}
    for region in places.list_regions(sessions):
        by_name.setdefault(region["name"], []).append(region["code"])
    cleaned = []
    for raw in rows:
        row = _header(raw, _TARGET_HEADERS)
        named = next((row[k] for k in ("区划名称", "区划", "县市") if (row.get(k) or "").strip()), "")
        code = tolerant.normalise_code(row.get("county") or row.get("region_code") or named)
        if code and not code.isdigit():
            matches = by_name.get(code, [])
            try:
                code = matches[0] if len(matches) == 1 else tolerant.parse_county(code)
            except tolerant.InputError:
                pass  # left as written: the importer says the code does not exist
        if code:
            row["county"] = code
        for column, scale in (("年度目标(元)", 1), ("target_yuan", 1), ("年度目标", 1), ("target_wan", 10_000)):
            if (row.get(column) or "").strip():
                try:
                    fen = tolerant.parse_yuan(row[column], minimum=None) * scale
                except tolerant.InputError:
                    continue  # left as written: the importer reports it
                row.pop(column)
                row["target_yuan"] = f"{fen // 100}.{fen % 100:02d}"
                break
        cleaned.append(row)
    return cleaned


def import_targets_file(runtime: Runtime, filename: str, content: bytes, year: int) -> dict:
    report = import_targets(runtime.sessions, normalise_target_rows(runtime.sessions, _read(filename, content)),
                            year)
    return report.as_dict()


def _workbook(sheets: list[tuple[str, list[list[Any]]]], widths: list[int]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="FBEEE0")
        for index, width in enumerate(widths):
            sheet.column_dimensions[chr(ord("A") + index)].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


PARTICIPANT_COLUMNS = ["类型", "编号", "名称", "县市代码", "平台账号", "统一社会信用代码", "依法纳税", "所属企业"]


def participants_template_xlsx() -> bytes:
    """The participant import template: the headers, one example host and one enterprise, and a
    sheet that explains each column."""
    rows = [PARTICIPANT_COLUMNS,
            ["企业", "E001", "古丈县牛角山生态农业有限公司", "古丈县", "抖音:gzmj-shop", "91433126MA4L0XXXX1", "是", ""],
            ["主播", "H001", "向秀英", "433126", "抖音:dy-xxy;快手:ks-xxy", "", "", "E001"]]
    notes = [["列", "怎么填"],
             ["类型", "主播 或 企业"],
             ["编号", "自定的唯一编号，字母、数字、下划线、连字符，例如 H001、E001；编号已存在的行会更新"],
             ["名称", "主播姓名或企业全称"],
             ["县市代码", "6 位行政区划代码或县市名称，例如 433101 或 吉首市；湘西州以外的代码会照常导入并提示核对"],
             ["平台账号", "平台:账号，多个用分号隔开，例如 抖音:dy123;快手:ks9（平台可写中文名，冒号全角半角均可）"],
             ["统一社会信用代码", "企业填写，18 位"],
             ["依法纳税", "企业填写，是 或 否（不填按 是）"],
             ["所属企业", "主播填写，主播代为销售的企业编号，多个用分号隔开"]]
    return _workbook([("主播与企业", rows), ("填写说明", notes)], [10, 10, 30, 12, 28, 22, 10, 12])


def targets_template_xlsx(year: int) -> bytes:
    rows = [["区划代码", "区划名称", "年度目标(元)"],
            [XIANGXI_PREFECTURE_CODE, "湘西土家族苗族自治州", "900,000,000"],
            ["433101", "吉首市", "150,000,000"]]
    notes = [["列", "怎么填"],
             ["区划代码", "州、县市、乡镇或村的区划代码；也可只填区划名称（如 吉首市）"],
             ["区划名称", "可选，便于核对"],
             ["年度目标(元)", f"{year} 年网络销售目标，单位元，可带千分位（1,200,000）或写 1200万"]]
    return _workbook([(f"{year}年度目标", rows), ("填写说明", notes)], [14, 26, 18])


# -- WeChat binding codes per host ---------------------------------------------------------------
@dataclass(frozen=True)
class IssuedBindCode:
    host_id: str
    name: str
    county: str
    display: str  # ABCD-EFGH
    expires_at: datetime  # aware UTC
    png: bytes | None  # the mini-program code, when WeChat is configured and answered
    warning: str | None


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def issue_bind_codes(runtime: Runtime, host_ids: list[str], *, with_image: bool = True) -> list[IssuedBindCode]:
    """A new one-time code per host (the host's earlier unused codes stop working), with the
    mini-program code image when WeChat is configured and `with_image`."""
    from wechat.binding import UnknownHost, issue_bind_code, wxa_code_png
    from wechat.errors import WeChatError

    settings = runtime.settings
    names = registry.names(runtime.sessions, "hosts")
    counties = registry.counties(runtime.sessions, "hosts")
    client = runtime.wechat if with_image and settings.wechat_enabled else None
    issued = []
    for host_id in host_ids:
        try:
            code = issue_bind_code(runtime.sessions, host_id, ttl_seconds=settings.mp_bind_code_ttl_seconds,
                                   pepper=settings.secret_key, now=_naive_utc(runtime.clock.now()))
        except UnknownHost:
            raise ConfigError("host_not_found", f"主播 {host_id} 不存在", status=404) from None
        png, warning = None, None
        if client is not None:
            try:
                png = wxa_code_png(client, code)
            except WeChatError as exc:
                log.warning("wxa code for host %s failed: %s", host_id, type(exc).__name__)
                warning = "小程序码生成失败，请让主播在小程序中手动输入绑定码"
        issued.append(IssuedBindCode(host_id, names.get(host_id, host_id), counties.get(host_id, ""), code.display,
                                     code.expires_at.replace(tzinfo=timezone.utc), png, warning))
    return issued


def binding_rows(runtime: Runtime) -> list[dict]:
    """Every host with its binding state: bound (since when), a code out (valid until), or neither."""
    from configstore.wechat_models import HostBindCode, HostBinding

    now = _naive_utc(runtime.clock.now())
    with runtime.sessions() as session:
        bound = {host_id: at for host_id, at in session.execute(select(HostBinding.host_id, HostBinding.bound_at))}
        latest: dict[str, HostBindCode] = {}
        for issued in session.scalars(select(HostBindCode).order_by(HostBindCode.id)).all():
            latest[issued.host_id] = issued
    rows = []
    for host in registry.list_participants(runtime.sessions, "hosts"):
        code = latest.get(host["id"])
        if host["id"] in bound:
            state, label, since = "bound", "已绑定", bound[host["id"]]
        elif code is None:
            state, label, since = "none", "未发码", None
        elif code.used_at is None and code.revoked_at is None and code.expires_at > now:
            state, label, since = "issued", "已发码，待绑定", code.expires_at
        else:
            state, label, since = "expired", "绑定码已失效", code.expires_at
        rows.append({**host, "binding": state, "binding_label": label,
                     "binding_at": since.replace(tzinfo=timezone.utc) if since else None,
                     "code_issued_at": code.created_at.replace(tzinfo=timezone.utc) if code else None})
    return rows


def bind_codes_xlsx(codes: list[IssuedBindCode], wechat_name: str = "小程序") -> bytes:
    """Issued codes to hand out: host, county, code, valid until (Beijing time)."""
    rows = [["主播编号", "主播", "县市", "绑定码", "有效期至（北京时间）"]]
    rows += [[c.host_id, c.name, XIANGXI_COUNTIES.get(c.county, c.county), c.display,
              c.expires_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")] for c in codes]
    notes = [["说明"], [f"主播打开{wechat_name}的“绑定”页，输入绑定码即可把微信与主播身份绑定。"],
             ["每个绑定码只能使用一次；重新生成后，之前未使用的绑定码失效。"]]
    return _workbook([("绑定码", rows), ("说明", notes)], [12, 16, 10, 14, 22])


# -- the console's overview ----------------------------------------------------------------------
TREND_DAYS = 14
_overview_cache: dict[tuple[int, str], tuple[float, dict]] = {}
_OVERVIEW_TTL_S = 10.0


def featured_campaign(campaigns: list[registry.CampaignInfo], slug: str | None = None) -> registry.CampaignInfo | None:
    """The campaign the overview shows: the one asked for, else the latest running one."""
    chosen = next((c for c in campaigns if c.slug == slug), None)
    if chosen is not None:
        return chosen
    for status in ("active", "frozen", "closed"):
        candidates = [c for c in campaigns if c.status == status]
        if candidates:
            return candidates[-1]
    return None


def overview(runtime: Runtime, campaign: registry.CampaignInfo) -> dict:
    """Today's net GMV and orders, the top three of both boards today, and net GMV per day over the
    last 14 days of the campaign (Beijing days). Cached for a few seconds."""
    key = (id(runtime.sessions), campaign.slug)
    now_s = runtime.clock.monotonic()
    cached = _overview_cache.get(key)
    if cached and now_s - cached[0] < _OVERVIEW_TTL_S:
        return cached[1]
    today = local_day(runtime.clock.now())
    last = min(today, campaign.last_day)
    days = [last - timedelta(days=n) for n in range(TREND_DAYS - 1, -1, -1)]
    trend = []
    try:
        for day in days:
            figures = campaign_totals(runtime.store, campaign=campaign.slug, first_day=day, last_day=day) \
                if campaign.first_day <= day <= campaign.last_day else {"net_gmv_fen": 0, "order_count": 0}
            trend.append({"day": day.isoformat(), "net_gmv_fen": figures["net_gmv_fen"],
                          "order_count": figures["order_count"]})
        available = True
    except StoreError:
        log.warning("analytics store unavailable for the overview", exc_info=True)
        available = False
    today_figures = trend[-1] if trend and trend[-1]["day"] == today.isoformat() else {"net_gmv_fen": 0,
                                                                                         "order_count": 0}
    top = {}
    for board in BOARDS:
        snap = snapshots.latest(runtime.sessions, campaign.slug, board, "day", today.isoformat())
        top[board] = snap.entries[:3] if snap else []
    result = {"campaign": campaign, "today": today, "in_campaign": campaign.first_day <= today <= campaign.last_day,
              "net_gmv_fen": today_figures["net_gmv_fen"], "order_count": today_figures["order_count"],
              "top": top, "trend": trend, "available": available}
    _overview_cache[key] = (now_s, result)
    return result
