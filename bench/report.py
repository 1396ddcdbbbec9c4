"""Figures (median, min, max of the runs; ratio to the limit measured in the same run and to the
target) and the JSON / Markdown report."""
from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Figure:
    section: str
    name: str
    unit: str
    runs: list[float]
    value: float
    min: float
    max: float
    limit_name: str
    limit_value: float | None
    ratio_to_limit: float | None
    target: float | None
    target_op: str | None  # ">=" or "<="
    ratio_to_target: float | None
    meets_target: bool | None
    note: str = ""
    limit_runs: list[float] = field(default_factory=list)


def make_figure(section: str, name: str, unit: str, runs: list[float], *, limit: list[float] | float | None = None,
                limit_name: str = "", target: float | None = None, target_op: str | None = None,
                note: str = "") -> Figure:
    runs = [float(v) for v in runs]
    value = statistics.median(runs) if runs else 0.0
    limit_runs = [float(v) for v in (limit if isinstance(limit, list) else ([limit] if limit is not None else []))]
    limit_value = statistics.median(limit_runs) if limit_runs else None
    ratio_limit = (value / limit_value) if limit_value else None
    ratio_target = (value / target) if target else None
    meets = None
    if target is not None and target_op:
        meets = value >= target if target_op == ">=" else value <= target
    return Figure(section, name, unit, runs, value, min(runs, default=0.0), max(runs, default=0.0), limit_name,
                  limit_value, ratio_limit, target, target_op, ratio_target, meets, note, limit_runs)


def _num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        f"Liveboard benchmark ({report['mode']}, {report['runs']} run(s) per figure, median [min–max]), "
        f"{report['started_at']}, {report['duration_s']:.0f} s",
        "",
        f"Machine: {m['cores']} cores, {m['memory_gib']} GiB, {m['cpu_model']}; Python {m['python']}, "
        f"Kafka {m['kafka']}, ClickHouse {m['clickhouse']}, chDB {m['chdb']}, PostgreSQL {m['postgresql']}, "
        f"gunicorn {m['gunicorn']} (gthread), load generator {m['load_generator']}.",
        "",
        "| # | Figure | Median [min–max] | Limit, measured in the same run | Ratio to limit | Target | Ratio to target | Met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for fig in report["figures"]:
        f = fig
        spread = f"{_num(f['value'], f['unit'])} [{_num(f['min'])}–{_num(f['max'])}]"
        limit = f"{f['limit_name']}: {_num(f['limit_value'], f['unit'])}" if f["limit_value"] is not None else (
            f["limit_name"] or "–")
        target = f"{f['target_op']} {_num(f['target'], f['unit'])}" if f["target"] is not None else "–"
        met = {True: "yes", False: "**no**", None: "–"}[f["meets_target"]]
        lines.append(f"| {f['section']} | {f['name']} | {spread} | {limit} | {_ratio(f['ratio_to_limit'])} | "
                     f"{target} | {_ratio(f['ratio_to_target'])} | {met} |")
    notes = [f"- {f['section']} {f['name']}: {f['note']}" for f in report["figures"] if f.get("note")]
    if notes:
        lines += ["", "Notes:", *notes]
    return "\n".join(lines) + "\n"


def write(report: dict, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = report["started_at"].replace(":", "").replace("-", "")[:15]
    base = f"bench-{report['mode']}-{stamp}"
    json_path = out_dir / f"{base}.json"
    md_path = out_dir / f"{base}.md"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    md_path.write_text(markdown(report), encoding="utf-8")
    for name, path in (("latest.json", json_path), ("latest.md", md_path)):
        (out_dir / name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return json_path, md_path


def figures_as_dicts(figures: list[Figure]) -> list[dict]:
    return [asdict(f) for f in figures]
