"""Spreadsheets for leaders (openpyxl): award lists and annual target progress, ready to sum, sort
and print.

* Amounts are numbers, never text: award money in 元 (what is paid, exact to the fen), sales and
  targets in 万元 (the unit of the policy documents and of the milestone tiers "突破1000万元"); the
  stored value is exact (fen scaled by a Decimal), shown as #,##0.00, the unit in the header.
  Completion rates are numbers with the 0.0% format.
* Titles name the campaign (not its code) or the year ("2026 年度…"); the second row states the
  list's state (草稿 / 已冻结 / 公示中 / 已定稿) and each line says whether it is included,
  adjusted or removed. Hosts carry their county and enterprises, enterprises and stations their
  county (from the registry, see load_directory).
* The header row is frozen and repeated on every printed page; pages are A4, fitted to the width,
  landscape when the sheet is wide; columns are as wide as their CJK text.
* Every text cell goes through safe_text, which keeps a spreadsheet from taking a name such as
  =HYPERLINK(...) for a formula (the same function serves any CSV export).
"""
from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from sqlalchemy.orm import Session, sessionmaker

from configstore import places, registry
from configstore.awards import REVIEW_STEP_NAMES_ZH
from domain.ledger import STATUS_NAMES_ZH as PAYMENT_NAMES_ZH
from domain.money import format_yuan
from domain.periods import SHANGHAI
from domain.regions import XIANGXI_COUNTIES

# openpyxl (with numpy and Pillow, which it loads when present: ~25 MiB) is imported where a workbook
# is written, so the API workers and the other processes that never export do not carry it.
if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.styles import Border, PatternFill
    from openpyxl.worksheet.worksheet import Worksheet

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"  # the exports' content type

MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.0%"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LEVEL_NAMES_ZH = {"province": "省", "city": "州", "county": "县市", "township": "乡镇", "village": "村"}
SELECTIONS = ("top_enterprises", "top_influencers")


@cache
def _header_style() -> tuple[PatternFill, Border]:
    """The header fill and the thin grey grid every table cell has."""
    from openpyxl.styles import Border, PatternFill, Side

    thin = Side(style="thin", color="B0B0B0")
    return PatternFill("solid", fgColor="F2E6C9"), Border(left=thin, right=thin, top=thin, bottom=thin)


def safe_text(value: str) -> str:
    """Text for a spreadsheet cell or a CSV field that no spreadsheet evaluates: characters xlsx
    cannot hold are dropped, and text that begins with = + - @ tab or CR (a formula, or a DDE
    call, to Excel, WPS and LibreOffice) is prefixed with an apostrophe."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    text = ILLEGAL_CHARACTERS_RE.sub("", value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def yuan_number(fen: int | None) -> Decimal | None:
    """fen -> 元 as an exact Decimal (written as a number cell)."""
    return None if fen is None else Decimal(fen).scaleb(-2)


def wan_yuan_number(fen: int | None) -> Decimal | None:
    """fen -> 万元 as an exact Decimal (written as a number cell)."""
    return None if fen is None else Decimal(fen).scaleb(-6)


def file_safe(name: str) -> str:
    """A file name any operating system accepts: no path separators, no characters Windows
    forbids, no control characters."""
    cleaned = re.sub(r'[\\/:*?"<>|\x00-\x1f\x7f]', "_", name).strip(" .")
    return cleaned or "导出文件"


@dataclass(frozen=True)
class DownloadName:
    """A download's file name, and the ASCII name for clients that cannot take UTF-8 (RFC 6266)."""

    name: str
    ascii: str


# -- registry facts ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Directory:
    """What the exports need from the registry: campaign names, county names, who is where and
    which enterprises a host sells for."""

    campaigns: Mapping[str, str] = field(default_factory=dict)  # slug -> name
    county_names: Mapping[str, str] = field(default_factory=dict)  # county code -> 吉首市, ...
    host_counties: Mapping[str, str] = field(default_factory=dict)  # host id -> county code
    host_enterprises: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # host id -> enterprise ids
    enterprise_names: Mapping[str, str] = field(default_factory=dict)
    enterprise_counties: Mapping[str, str] = field(default_factory=dict)
    station_counties: Mapping[str, str] = field(default_factory=dict)  # station id (text) -> county code

    def campaign_name(self, award_list: dict) -> str | None:
        """The campaign's name for a campaign list (the registry's, else the one stored with the
        list); None for a year list."""
        if award_list["scope"] != "campaign":
            return None
        return self.campaigns.get(award_list["scope_key"]) or award_list["params"].get("campaign_name")

    def county_name(self, code: str | None) -> str:
        if not code:
            return ""
        return self.county_names.get(code) or XIANGXI_COUNTIES.get(code) or code

    def county_of(self, kind: str, participant_id: str) -> str:
        counties = (self.host_counties if kind == "top_influencers" else
                    self.station_counties if kind == "station_rating" else self.enterprise_counties)
        return self.county_name(counties.get(participant_id))

    def enterprises_of(self, host_id: str) -> str:
        return "、".join(self.enterprise_names.get(e, e) for e in self.host_enterprises.get(host_id, ()))


def load_directory(sessions: sessionmaker[Session]) -> Directory:
    regions = {r["code"]: r for r in places.list_regions(sessions)}

    def county_code(region_code: str) -> str:
        code: str | None = region_code
        while code is not None and code in regions and regions[code]["level"] != "county":
            code = regions[code]["parent_code"]
        return code if code is not None and code in regions else ""

    hosts = registry.list_participants(sessions, "hosts")
    enterprises = registry.list_participants(sessions, "enterprises")
    return Directory(
        campaigns={c.slug: c.name for c in registry.all_campaigns(sessions)},
        county_names={code: r["name"] for code, r in regions.items() if r["level"] == "county"},
        host_counties={h["id"]: h["county"] for h in hosts},
        host_enterprises={h["id"]: tuple(h["enterprises"]) for h in hosts},
        enterprise_names={e["id"]: e["name"] for e in enterprises},
        enterprise_counties={e["id"]: e["county"] for e in enterprises},
        station_counties={str(s["id"]): county_code(s["region_code"]) for s in places.list_stations(sessions)})


# -- writing -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    header: str
    number_format: str | None = None  # numbers only
    max_width: int = 40
    wrap: bool = False


def _display_width(value: Any, number_format: str | None) -> int:
    if value is None:
        return 0
    if isinstance(value, Decimal) and number_format == MONEY_FORMAT:
        text = f"{value:,.2f}"
    elif isinstance(value, Decimal) and number_format == PERCENT_FORMAT:
        text = f"{value * 100:.1f}%"
    else:
        text = str(value)
    return max(sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)
               for line in text.split("\n"))


def _put(ws: Worksheet, row: int, column: int, value: Any, number_format: str | None = None):
    """One cell: text through safe_text and stored as text, numbers as numbers, "" left empty."""
    cell = ws.cell(row=row, column=column)
    if isinstance(value, str) and value:
        cell.value = safe_text(value)
        cell.data_type = "s"
    elif value != "":
        cell.value = value
        if number_format and value is not None:
            cell.number_format = number_format
    return cell


def _table(ws: Worksheet, title: str, subtitle: str, columns: list[Column], rows: Iterable[list[Any]],
           totals: list[Any] | None = None) -> None:
    """Title (row 1), subtitle (row 2), header (row 3), the rows, an optional totals row; then the
    column widths, the frozen header, filters and the print set-up."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    header_fill, grid = _header_style()
    width = len(columns)
    _put(ws, 1, 1, title).font = Font(bold=True, size=16)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.row_dimensions[1].height = 30
    _put(ws, 2, 1, subtitle).font = Font(color="555555")
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    header_row = 3
    for index, column in enumerate(columns, start=1):
        cell = _put(ws, header_row, index, column.header)
        cell.font, cell.fill, cell.border = Font(bold=True), header_fill, grid
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    widths = [_display_width(c.header, None) for c in columns]
    row_number = header_row
    for row_number, values in enumerate(rows, start=header_row + 1):
        for index, (column, value) in enumerate(zip(columns, values, strict=True), start=1):
            cell = _put(ws, row_number, index, value, column.number_format)
            cell.border = grid
            cell.alignment = Alignment(vertical="top", wrap_text=column.wrap)
            widths[index - 1] = max(widths[index - 1], _display_width(value, column.number_format))
    last_data_row = row_number
    if totals is not None:
        row_number += 1
        for index, (column, value) in enumerate(zip(columns, totals, strict=True), start=1):
            cell = _put(ws, row_number, index, value, column.number_format)
            cell.font, cell.border = Font(bold=True), grid
            widths[index - 1] = max(widths[index - 1], _display_width(value, column.number_format))
    for index, (column, content) in enumerate(zip(columns, widths, strict=True), start=1):
        ws.column_dimensions[get_column_letter(index)].width = min(max(content + 2, 6), column.max_width)
    last_column = get_column_letter(width)
    ws.freeze_panes = f"A{header_row + 1}"
    if last_data_row > header_row:
        ws.auto_filter.ref = f"A{header_row}:{last_column}{last_data_row}"
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.print_area = f"A1:{last_column}{row_number}"
    setup = ws.page_setup
    setup.paperSize = ws.PAPERSIZE_A4
    setup.orientation = "landscape" if sum(ws.column_dimensions[get_column_letter(i)].width
                                           for i in range(1, width + 1)) > 90 else "portrait"
    setup.fitToWidth, setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"


def _workbook() -> Workbook:
    from openpyxl import Workbook

    return Workbook()


def _save(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# -- budgets -------------------------------------------------------------------------------------
def budget_xlsx(budget: dict) -> bytes:
    """A year's funds (services.budget.overview): budget, committed, paid, unpaid and what is left of
    each, in yuan, with their totals and the print set-up every export has."""
    columns = [Column("资金"), Column("年度"), Column("预算（元）", MONEY_FORMAT), Column("已承诺（元）", MONEY_FORMAT),
               Column("已支付（元）", MONEY_FORMAT), Column("待支付（元）", MONEY_FORMAT),
               Column("预算余额（元）", MONEY_FORMAT), Column("说明", max_width=60, wrap=True)]
    amounts = ("budget_fen", "committed_fen", "paid_fen", "unpaid_fen", "remaining_fen")
    rows = [[line["name"], line["year"], *(yuan_number(line[key]) for key in amounts),
             line["warning"] or ("未录入预算，按政策默认额度" if line["default"] else "")] for line in budget["funds"]]
    totals = ["合计", "", *(yuan_number(sum(line[key] for line in budget["funds"])) for key in amounts), ""]
    wb = _workbook()
    ws = wb.active
    ws.title = "预算执行"
    _table(ws, f"{budget['year']} 年度电子商务发展专项资金预算执行情况",
           f"州级专项资金与各县市区资金　　金额单位：元　　超出预算 {len(budget['warnings'])} 项", columns, rows, totals)
    return _save(wb)


def budget_filename(year: int) -> DownloadName:
    return DownloadName(f"{year}年度电子商务发展专项资金预算执行.xlsx", f"budget-{year}.xlsx")


# -- award lists ---------------------------------------------------------------------------------
def list_title(award_list: dict, directory: Directory) -> str:
    """“千村千红·湘西香伴”十大电商达人名单 / 2026 年度十佳电商企业名单."""
    campaign = directory.campaign_name(award_list)
    if award_list["scope"] == "campaign":
        return f"“{campaign or award_list['scope_key']}”{award_list['kind_name']}名单"
    return f"{award_list['scope_key']} 年度{award_list['kind_name']}名单"


def line_status(item: dict) -> str:
    if not item["included"]:
        return "已移出"
    return "入选（人工调整）" if item["adjusted"] else "入选"


_METRIC_HEADERS = {"top_enterprises": "净成交额（万元）", "top_influencers": "净成交额（万元）",
                   "sales_milestone": "年度销售额（万元）", "station_rating": "年度交易额（万元）"}


def beijing_minute(instant: str) -> str:
    """An ISO instant as people read it: Beijing time "YYYY-MM-DD HH:mm"."""
    return datetime.fromisoformat(instant).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _reviews(item: dict) -> str:
    return "\n".join(f"{REVIEW_STEP_NAMES_ZH[r['step']]}：{r['decision_name']}（{r['reviewer']}，{beijing_minute(r['at'])}）"
                     for r in item["reviews"])


def _ledger_note(item: dict) -> str:
    """What the grant ledger already holds for the line, what this version adds, and its review flags
    (the console's 奖励台账 column): a leader must not read carried money as money still to pay."""
    detail = item.get("detail") or {}
    notes = [f"已记入台账：{g['source']}，{PAYMENT_NAMES_ZH.get(g['status'], g['status'])}，{format_yuan(g['amount_fen'])}"
             for g in detail.get("ledger") or []]
    if detail.get("new_fen"):
        notes.append(f"本版新增{format_yuan(detail['new_fen'])}")
    notes += [f"复核：{flag}" for flag in detail.get("flags") or []]
    return "\n".join(notes)


def award_list_xlsx(award_list: dict, directory: Directory) -> bytes:
    """One award list (configstore.awards.list_dict) as a workbook: 获奖名单, and 未入选及原因 when
    the computation left candidates out."""
    kind = award_list["kind"]
    hosts = kind == "top_influencers"
    columns = [Column("序号"), Column("编号"), Column("名称", max_width=36), Column("奖项类别", max_width=28),
               Column("县市")]
    if hosts:
        columns.append(Column("所属企业", max_width=40, wrap=True))
    amount_column = len(columns)
    milestones = kind == "sales_milestone"  # lines carry ledger money: what this version adds is its own column
    columns.append(Column("奖励金额（元）", MONEY_FORMAT))
    if milestones:
        columns.append(Column("其中本版新增（元）", MONEY_FORMAT))
    columns += [Column(_METRIC_HEADERS[kind], MONEY_FORMAT), Column("状态"),
                Column("奖励台账与复核", max_width=60, wrap=True), Column("调整原因", max_width=36, wrap=True),
                Column("评审记录", max_width=48, wrap=True)]

    def row(item: dict) -> list[Any]:
        values = [item["position"], item["participant_id"], item["name"], item["category"],
                  directory.county_of(kind, item["participant_id"])]
        if hosts:
            values.append(directory.enterprises_of(item["participant_id"]))
        values.append(yuan_number(item["amount_fen"]))
        if milestones:
            values.append(yuan_number((item.get("detail") or {}).get("new_fen", item["amount_fen"])))
        return values + [wan_yuan_number(item["metric_fen"]), line_status(item), _ledger_note(item),
                         item["adjustment_reason"] or "", _reviews(item)]

    included = [i for i in award_list["items"] if i["included"]]
    totals: list[Any] = [None] * len(columns)
    totals[2] = f"合计：入选 {len(included)} 个"
    totals[amount_column] = yuan_number(sum(i["amount_fen"] for i in included))
    if milestones:
        totals[amount_column + 1] = yuan_number(sum((i.get("detail") or {}).get("new_fen", i["amount_fen"])
                                                    for i in included))
    notice = (f"　　公示期：{award_list['notice_start']} 至 {award_list['notice_end']}"
              if award_list.get("notice_start") else "")
    subtitle = (f"名单状态：{award_list['state_name']}　　第 {award_list['version']} 版{notice}"
                "　　合计不含已移出的行")

    wb = _workbook()
    ws = wb.active
    ws.title = "获奖名单"
    title = f"{list_title(award_list, directory)}（第 {award_list['version']} 版）"
    _table(ws, title, subtitle, columns, (row(i) for i in award_list["items"]), totals)
    _left_out_sheet(wb, award_list, directory)
    _notes_sheet(wb, award_list, directory)
    wb.properties.title = title
    wb.properties.creator = "Liveboard"
    return _save(wb)


def _left_out_sheet(wb: Workbook, award_list: dict, directory: Directory) -> None:
    """未入选及原因: the candidates the rules left out, each with its reasons."""
    params = award_list["params"]
    rows = list(params.get("ineligible") or params.get("not_granted") or params.get("not_rewarded") or [])
    rows += [{**row, "category": "待核实", "reason": f"{row['reason']}；缺少：{'、'.join(row.get('missing') or [])}"}
             for row in params.get("unverified") or []]  # unknown tax status never grants: the leader sees who waits
    if not rows:
        return
    kind = award_list["kind"]

    def reason(row: dict) -> str:
        if row.get("reasons") or row.get("reason"):
            return "；".join(row.get("reasons") or [row["reason"]])
        rank = (row.get("detail") or {}).get("rank")
        return f"位列第 {rank} 名，未进入奖励名额" if rank else ""

    def metric(row: dict) -> int | None:
        return row.get("annual_sales_fen", row.get("metric_fen"))

    with_metric = any(metric(r) is not None for r in rows)
    columns = [Column("编号"), Column("名称", max_width=36), Column("类别", max_width=28), Column("县市")]
    columns += [Column(_METRIC_HEADERS[kind], MONEY_FORMAT)] if with_metric else []
    columns.append(Column("原因", max_width=60, wrap=True))
    sheet = wb.create_sheet("未入选及原因")
    _table(sheet, f"{list_title(award_list, directory)}：未入选及原因", f"名单状态：{award_list['state_name']}",
           columns, ([r["participant_id"], r["name"], r.get("category", ""), directory.county_of(kind, r["participant_id"])]
                     + ([wan_yuan_number(metric(r))] if with_metric else []) + [reason(r)] for r in rows))


def _notes_sheet(wb: Workbook, award_list: dict, directory: Directory) -> None:
    """计算说明与复核: the computation's warnings (e.g. the previous year not final), the granted awards
    to review (also of other years: the ledger keeps them), a confirmed over-budget finalize."""
    params = award_list["params"]
    names = {i["participant_id"]: i["name"] for i in award_list["items"]}
    rows: list[list[Any]] = [["计算说明", "", "", None, w] for w in params.get("warnings") or []]
    rows += [["需复核（台账保留）", f["participant_id"], names.get(f["participant_id"], ""), f.get("year"), f["reason"]]
             for f in params.get("review_flags") or []]
    rows += [["定稿时确认超出预算", "", "", None, w] for w in params.get("over_budget_confirmed") or []]
    if not rows:
        return
    columns = [Column("类型", max_width=20), Column("编号"), Column("名称", max_width=36), Column("年度"),
               Column("说明", max_width=80, wrap=True)]
    sheet = wb.create_sheet("计算说明与复核")
    _table(sheet, f"{list_title(award_list, directory)}：计算说明与复核",
           f"名单状态：{award_list['state_name']}　　第 {award_list['version']} 版", columns, rows)


def award_list_filename(award_list: dict, directory: Directory) -> DownloadName:
    """千村千红·湘西香伴-十大电商达人名单-第1版-已定稿.xlsx (ASCII: award-list-12-v1.xlsx)."""
    campaign = directory.campaign_name(award_list)
    scope = (campaign or award_list["scope_key"]) if award_list["scope"] == "campaign" \
        else f"{award_list['scope_key']}年度"
    name = f"{scope}-{award_list['kind_name']}名单-第{award_list['version']}版-{award_list['state_name']}.xlsx"
    return DownloadName(file_safe(name), f"award-list-{award_list['id']}-v{award_list['version']}.xlsx")


# -- target progress -------------------------------------------------------------------------------
def targets_xlsx(progress: dict) -> bytes:
    """Annual target progress (services.awards.target_progress) over the region tree."""
    regions = {r["code"]: r for r in progress["regions"]}

    def depth(region: dict) -> int:
        level, parent = 0, region["parent_code"]
        while parent in regions:
            level, parent = level + 1, regions[parent]["parent_code"]
        return level

    def county(region: dict) -> str:
        current: dict | None = region
        while current is not None and current["level"] != "county":
            current = regions.get(current["parent_code"])
        return current["name"] if current else ""

    columns = [Column("区划代码"), Column("区划名称", max_width=30), Column("层级"), Column("所属县市"),
               Column("上级区划", max_width=24), Column("年度目标（万元）", MONEY_FORMAT),
               Column("直接计入（万元）", MONEY_FORMAT), Column("实际完成（万元）", MONEY_FORMAT),
               Column("完成率", PERCENT_FORMAT), Column("完成情况", max_width=30)]
    rows = [[r["code"], r["name"], LEVEL_NAMES_ZH.get(r["level"], r["level"]), county(r),
             regions[r["parent_code"]]["name"] if r["parent_code"] in regions else "",
             wan_yuan_number(r["annual_target_fen"]), wan_yuan_number(r["direct_sales_fen"]),
             wan_yuan_number(r["actual_sales_fen"]),
             Decimal(r["percent"]).scaleb(-2) if r["percent"] is not None else None,
             r["label"] or "未设目标"] for r in progress["regions"]]
    totals: list[Any] = [None] * len(columns)
    totals[1] = "未计入任何区划的销售额"
    totals[7] = wan_yuan_number(progress.get("uncredited_fen", 0))

    wb = _workbook()
    ws = wb.active
    ws.title = "目标完成情况"
    title = f"{progress['year']} 年度网络销售目标完成情况"
    _table(ws, title, "金额单位：万元；完成率 = 实际完成 ÷ 年度目标；下级区划的销售额逐级计入上级", columns, rows,
           totals)
    from openpyxl.styles import Alignment

    for row_number, region in enumerate(progress["regions"], start=4):
        ws.cell(row=row_number, column=2).alignment = Alignment(indent=depth(region), vertical="top")
    wb.properties.title = title
    wb.properties.creator = "Liveboard"
    return _save(wb)


def targets_filename(year: int) -> DownloadName:
    return DownloadName(f"{year}年度网络销售目标完成情况.xlsx", f"targets-{year}.xlsx")
