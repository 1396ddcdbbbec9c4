"""Budgets for people: a year's funds (the prefecture's and each county's) with committed and paid
amounts. Their .xlsx is services.spreadsheets.budget_xlsx (and budget_filename), beside the other
exports."""
from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from configstore import ledger


def overview(sessions: sessionmaker[Session], year: int) -> dict:
    lines = ledger.read_budget(sessions, year)
    return {"year": year, "funds": lines,
            "warnings": [line["warning"] for line in lines if line["warning"]]}

