"""Import annual regional targets from CSV or .xlsx: keep the good rows, report each bad one.

Columns (English or Chinese headers, any order): 区划代码/region_code, and the target as
年度目标(元)/target_yuan (yuan, at most two decimals) or 年度目标(分)/target_fen (whole fen).
The file is read by configstore.participants_import.read_rows; each good row goes through
configstore.awards.set_target (an existing target of that region and year is replaced).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Iterable

from sqlalchemy.orm import Session, sessionmaker

from configstore import awards as award_store
from configstore import places
from configstore.participants_import import RowError

CODE_COLUMNS = ("region_code", "county", "区划代码")  # read_rows maps 区划代码 to "county"
YUAN_COLUMNS = ("target_yuan", "年度目标(元)", "年度目标（元）", "年度目标")
FEN_COLUMNS = ("target_fen", "年度目标(分)", "年度目标（分）")
YUAN_PATTERN = re.compile(r"^-?\d+(\.\d{1,2})?$")


@dataclass
class TargetImportReport:
    year: int
    kept: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def bad_rows(self) -> int:
        return len({e.row for e in self.errors})

    def as_dict(self) -> dict:
        return {"year": self.year, "kept": self.kept, "bad_rows": self.bad_rows,
                "errors": [e.as_dict() for e in self.errors]}


def _first(row: dict[str, str], columns: tuple[str, ...]) -> tuple[str | None, str]:
    for column in columns:
        value = (row.get(column) or "").strip()
        if value:
            return column, value
    return None, ""


def _amount_fen(row: dict[str, str]) -> tuple[str, int]:
    """(field, fen) or ValueError with a Chinese message."""
    column, text = _first(row, FEN_COLUMNS)
    text = text.replace(",", "")
    if column is not None:
        if not re.fullmatch(r"-?\d+(\.0+)?", text):
            raise ValueError("target_fen", f"年度目标（分）“{text}”不是整数")
        fen = int(Decimal(text))
        field_name = "target_fen"
    else:
        column, text = _first(row, YUAN_COLUMNS)
        text = text.replace(",", "")
        if column is None:
            raise ValueError("target_yuan", "缺少年度目标（元）")
        if not YUAN_PATTERN.match(text):
            try:  # xlsx cells come back as floats ("1200000.0"); anything else is not a number
                value = Decimal(text)
            except InvalidOperation:
                raise ValueError("target_yuan", f"年度目标（元）“{text}”不是数字") from None
            if not value.is_finite() or value != value.quantize(Decimal("0.01")):
                raise ValueError("target_yuan", f"年度目标（元）“{text}”应为数字，最多两位小数")
        else:
            value = Decimal(text)
        fen = int(value * 100)
        field_name = "target_yuan"
    if fen < 0:
        raise ValueError(field_name, "年度目标不能为负数")
    if fen == 0:
        raise ValueError(field_name, "年度目标应大于 0")
    return field_name, fen


def import_targets(factory: sessionmaker[Session], rows: Iterable[dict[str, str]], year: int) -> TargetImportReport:
    if not (1900 <= int(year) <= 9999):
        raise ValueError("年份应为四位数字")
    report = TargetImportReport(year=int(year))
    known = {r["code"] for r in places.list_regions(factory)}
    good: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        if not any((v or "").strip() for v in row.values()):
            continue  # a blank line
        _, code = _first(row, CODE_COLUMNS)
        if not code:
            report.errors.append(RowError(line, "region_code", "缺少区划代码"))
            continue
        if code.endswith(".0") and code[:-2].isdigit():  # a numeric xlsx cell
            code = code[:-2]
        if code not in known:
            report.errors.append(RowError(line, "region_code", f"区划代码 {code} 不存在"))
            continue
        try:
            _, fen = _amount_fen(row)
        except ValueError as exc:
            report.errors.append(RowError(line, exc.args[0], exc.args[1]))
            continue
        good[code] = fen  # a region listed twice: the later row wins
    for code, fen in good.items():
        award_store.set_target(factory, code, report.year, fen)
        report.kept += 1
    return report
