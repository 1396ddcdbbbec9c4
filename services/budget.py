"""Budgets for people: a year's funds (the prefecture's and each county's) with committed and paid
amounts, and the .xlsx leaders get (numbers as numbers in yuan, #,##0.00, frozen header).

The spreadsheet is built here (a small module of its own while the exports in services/spreadsheets.py
are another engineer's); it only needs openpyxl."""
from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy.orm import Session, sessionmaker

from configstore import ledger
from services.spreadsheets import DownloadName

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONEY_FORMAT = "#,##0.00"
COLUMNS = ("资金", "年度", "预算（元）", "已承诺（元）", "已支付（元）", "待支付（元）", "预算余额（元）", "说明")


def overview(sessions: sessionmaker[Session], year: int) -> dict:
    lines = ledger.read_budget(sessions, year)
    return {"year": year, "funds": lines,
            "warnings": [line["warning"] for line in lines if line["warning"]]}


def filename(year: int) -> DownloadName:
    return DownloadName(f"{year}年度电子商务发展专项资金预算执行.xlsx", f"budget-{year}.xlsx")


def _yuan(fen: int) -> Decimal:
    return Decimal(fen) / 100


def budget_xlsx(data: dict) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "预算执行"
    ws.append([f"{data['year']} 年度电子商务发展专项资金预算执行情况"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(list(COLUMNS))
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for line in data["funds"]:
        note = line["warning"] or ("未录入预算，按政策默认额度" if line["default"] else "")
        ws.append([line["name"], line["year"], _yuan(line["budget_fen"]), _yuan(line["committed_fen"]),
                   _yuan(line["paid_fen"]), _yuan(line["unpaid_fen"]), _yuan(line["remaining_fen"]), note])
        for cell in ws[ws.max_row][2:7]:
            cell.number_format = MONEY_FORMAT
    ws.freeze_panes = "A3"  # the title and the header stay in view
    for column, width in zip("ABCDEFGH", (22, 8, 18, 18, 18, 18, 18, 60), strict=True):
        ws.column_dimensions[column].width = width
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
