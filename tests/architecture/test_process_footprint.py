"""What each long-running process loads, so its memory stays within the budget (issue 15: peak RSS of
an API worker, a writer and a scheduler). Each check imports in a fresh interpreter and names the
heavy libraries a process must not carry unless it uses them."""
from __future__ import annotations

import json
import os
import subprocess
import sys

HEAVY = ("alembic", "openpyxl", "numpy", "PIL", "wechatpy", "requests", "jsonschema", "apscheduler", "flask",
         "chdb", "reportlab")


def _loaded(code: str, env: dict | None = None) -> dict:
    script = (f"import json, sys\n{code}\n"
              f"print(json.dumps({{'heavy': sorted(m for m in {HEAVY!r} if m in sys.modules), "
              f"'lazy_lut': bool(__import__('clickhouse_driver.columns.datecolumn', fromlist=['x']).enable_lazy_date_lut)"
              f" if 'clickhouse_driver' in sys.modules else None}}))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_writer_loads_no_web_scheduler_platform_or_spreadsheet_library():
    loaded = _loaded("import liveboard.cli, liveboard.wiring, liveboard.supervisor, analytics.clickhouse_store, "
                     "eventlog.kafka_log")
    assert loaded["heavy"] == []
    assert loaded["lazy_lut"] is True  # clickhouse-driver's 1900-2299 Date table is not built up front


def test_a_scheduler_loads_apscheduler_but_not_wechat_spreadsheets_or_migrations():
    loaded = _loaded("import liveboard.cli, scheduler.jobs, services.runtime, analytics.clickhouse_store")
    assert loaded["heavy"] == ["apscheduler"]


def test_an_api_worker_loads_flask_but_not_spreadsheets_wechat_or_the_full_validator(tmp_path):
    loaded = _loaded("from backend.app import create_app\ncreate_app()",
                     env={**os.environ, "LIVEBOARD_DATA_DIR": str(tmp_path)})
    assert loaded["heavy"] == ["flask"]
