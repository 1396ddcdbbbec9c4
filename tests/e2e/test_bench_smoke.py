"""The benchmark's smoke mode runs end to end on the real services, so `python -m bench` can't rot.

It checks that the report has every section with numeric figures and ratios, not that any
target is met (this is a shared 2-core machine; the full run is `python -m bench --full`).
"""
from __future__ import annotations

import json
import math

import pytest

from bench import infra
from bench.runner import execute

pytestmark = pytest.mark.e2e

SECTIONS = {"1", "2", "1e", "2e", "3", "4", "5", "6", "7", "8", "9", "10"}


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def test_bench_smoke_writes_every_section_with_figures_and_ratios(kafka_service, clickhouse_service,
                                                                   postgres_service, tmp_path):
    services = infra.Services(kafka_service, clickhouse_service, postgres_service, owned=False)
    report, json_path, md_path = execute("smoke", services=services, out_dir=tmp_path)

    saved = json.loads(json_path.read_text(encoding="utf-8"))
    assert saved["mode"] == "smoke"
    machine = saved["machine"]
    for key in ("cores", "memory_gib", "cpu_model", "python", "kafka", "clickhouse", "chdb", "postgresql"):
        assert machine.get(key), key

    figures = saved["figures"]
    assert {f["section"] for f in figures} == SECTIONS
    for section in SECTIONS:
        mine = [f for f in figures if f["section"] == section]
        assert any(f["ratio_to_limit"] is not None for f in mine), f"section {section} has no ratio to a limit"
    for f in figures:
        assert _number(f["value"]) and f["value"] > 0, f
        assert _number(f["min"]) and _number(f["max"]) and f["min"] <= f["value"] <= f["max"], f
        assert f["runs"] and all(_number(v) for v in f["runs"]), f
        if f["limit_value"] is not None:
            assert _number(f["ratio_to_limit"]), f
        if f["target"] is not None:
            assert _number(f["ratio_to_target"]) and isinstance(f["meets_target"], bool), f
    # the headline targets are all reported
    names = " | ".join(f["name"] for f in figures)
    for needle in ("single webhook req/s", "single webhook p99", "share of trivial", "batch webhook events/s",
                   "consumer (SalesWriter)", "consumer share of slower raw leg", "freshness p99",
                   "ranking job per campaign", "leaderboard API p99", "peer PostgreSQL", "API worker peak RSS",
                   "consumer peak RSS", "scheduler peak RSS", "1 writer over 2 shards", "2 writers over 2 shards"):
        assert needle in names, needle

    table = md_path.read_text(encoding="utf-8")
    assert table.count("\n| ") >= len(figures) + 1
    assert "Ratio to limit" in table and machine["clickhouse"] in table
    assert _number(saved["duration_s"]) and saved["duration_s"] > 0  # reported; how long is the machine's business
