"""Exports for leaders: award lists and target progress as .xlsx (openpyxl), and one printable
award certificate (PDF, reportlab, built-in CJK CID font STSong-Light: no font files needed) per
winner. Money is written with domain.money.format_yuan, the one money formatter."""
from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from configstore.awards import REVIEW_STEP_NAMES_ZH, STATE_NAMES_ZH
from domain.money import format_yuan

AWARD_COLUMNS = ("序号", "编号", "名称", "类别", "奖励金额（元）", "业绩（元）", "状态", "调整原因", "评审记录")
TARGET_COLUMNS = ("区划代码", "名称", "层级", "上级代码", "年度目标（元）", "直接计入（元）", "实际完成（元）", "完成情况")
LEVEL_NAMES_ZH = {"province": "省", "city": "州（市）", "county": "县市", "township": "乡镇", "village": "村"}


def _append(sheet, values) -> None:
    """A row whose text is safe for xlsx: openpyxl refuses control characters (which imported
    names or reasons may still carry), so they are dropped."""
    sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values])


def _yuan(fen: int | None) -> str:
    return "" if fen is None else format_yuan(fen, suffix="")


def _title(award_list: dict) -> str:
    return f"{award_list['scope_key']} {award_list['kind_name']}（第 {award_list['version']} 版）"


def award_list_xlsx(award_list: dict) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "获奖名单"
    _append(ws, [_title(award_list)])
    ws["A1"].font = Font(bold=True, size=14)
    notice = (f"{award_list['notice_start']} 至 {award_list['notice_end']}" if award_list.get("notice_start") else "—")
    _append(ws, ["状态", STATE_NAMES_ZH[award_list["state"]], "公示期", notice, "奖励合计（元）",
               _yuan(award_list["total_fen"])])
    _append(ws, list(AWARD_COLUMNS))
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for item in award_list["items"]:
        status = "已移除" if not item["included"] else ("人工调整" if item["adjusted"] else "计算结果")
        reviews = "；".join(f"{REVIEW_STEP_NAMES_ZH[r['step']]}：{r['decision_name']}（{r['reviewer']}，{r['at'][:10]}）"
                           for r in item["reviews"])
        _append(ws, [item["position"], item["participant_id"], item["name"], item["category"], _yuan(item["amount_fen"]),
                   _yuan(item["metric_fen"]), status, item["adjustment_reason"] or "", reviews])
    for column, width in zip("ABCDEFGHI", (6, 14, 28, 22, 16, 18, 10, 30, 60), strict=True):
        ws.column_dimensions[column].width = width
    ineligible = award_list["params"].get("ineligible") or award_list["params"].get("not_granted") or []
    if ineligible:
        other = wb.create_sheet("未入选及原因")
        _append(other, ["编号", "名称", "原因"])
        for row in ineligible:
            _append(other, [row["participant_id"], row["name"], "；".join(row.get("reasons") or [row.get("reason", "")])])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def targets_xlsx(progress: dict) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "目标完成情况"
    _append(ws, [f"{progress['year']} 年度网络销售目标完成情况"])
    ws["A1"].font = Font(bold=True, size=14)
    _append(ws, list(TARGET_COLUMNS))
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for r in progress["regions"]:
        _append(ws, [r["code"], r["name"], LEVEL_NAMES_ZH[r["level"]], r["parent_code"] or "",
                   _yuan(r["annual_target_fen"]), _yuan(r["direct_sales_fen"]), _yuan(r["actual_sales_fen"]),
                   r["label"] or "未设目标"])
    for column, width in zip("ABCDEFGH", (14, 20, 10, 14, 18, 18, 18, 24), strict=True):
        ws.column_dimensions[column].width = width
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


FONT = "STSong-Light"


def certificate_pdf(award_list: dict, item: dict, *, issuer: str = "湘西土家族苗族自治州商务局",
                    issued_on: date | None = None) -> bytes:
    """A4 landscape certificate for one winner of a list. Lists not yet final are marked 样稿."""
    from reportlab.lib.colors import HexColor
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    width, height = landscape(A4)
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(width, height))
    pdf.setTitle(f"荣誉证书 {item['name']}")
    red, gold = HexColor("#b71c1c"), HexColor("#c9a227")
    pdf.setStrokeColor(gold)
    pdf.setLineWidth(6)
    pdf.rect(24, 24, width - 48, height - 48)
    pdf.setLineWidth(1.5)
    pdf.rect(36, 36, width - 72, height - 72)
    pdf.setFillColor(red)
    pdf.setFont(FONT, 48)
    pdf.drawCentredString(width / 2, height - 130, "荣 誉 证 书")
    pdf.setFillColor(HexColor("#222222"))
    pdf.setFont(FONT, 24)
    pdf.drawString(110, height - 210, f"{item['name']}：")
    scope = (f"{award_list['scope_key']}年度" if award_list["scope"] == "year"
             else f"“{award_list['params'].get('campaign_name') or award_list['scope_key']}”活动")
    honour = item["category"] if award_list["kind"] in ("sales_milestone", "station_rating") else award_list["kind_name"]
    lines = [f"在{scope}中荣获“{award_list['kind_name']}”", f"（{honour}）" if honour != award_list["kind_name"] else ""]
    if item["amount_fen"] > 0:
        lines.append(f"奖励金额：{format_yuan(item['amount_fen'])}")
    lines.append("特发此证，以资鼓励。")
    y = height - 260
    pdf.setFont(FONT, 20)
    for line in filter(None, lines):
        pdf.drawString(150, y, line)
        y -= 38
    issued_on = issued_on or date.today()
    pdf.setFont(FONT, 18)
    pdf.drawRightString(width - 110, 150, issuer)
    pdf.drawRightString(width - 110, 118, f"{issued_on.year}年{issued_on.month}月{issued_on.day}日")
    pdf.setFont(FONT, 10)
    pdf.setFillColor(HexColor("#777777"))
    pdf.drawString(60, 52, f"名单编号 {award_list['id']} · 第 {award_list['version']} 版 · 获奖编号 {item['participant_id']}")
    if award_list["state"] != "final":
        pdf.setFillColor(HexColor("#dddddd"))
        pdf.setFont(FONT, 90)
        pdf.drawCentredString(width / 2, height / 2 - 40, "样稿")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
