"""`python -m bench [--smoke | --full] [--runs N] [--only SECTION ...] [--out DIR]`

Starts its own Kafka, ClickHouse and PostgreSQL (devservices, on loopback), runs every section
against them and writes bench/results/bench-<mode>-<time>.{json,md} (and latest.{json,md}).
  --smoke  seconds: tiny sizes, 1 run each (the test suite runs this)
  (none)   3 runs each; 200k events through the consumer; ranking at 1M and 10M events
  --full   like the default, longer load runs, and ranking at 100M events as well (tens of minutes)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.runner import SECTIONS, execute


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--smoke", action="store_true", help="seconds-long run with tiny sizes")
    group.add_argument("--full", action="store_true", help="everything, with 100M events stored")
    parser.add_argument("--runs", type=int, default=None, help="runs per figure (median of them)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=None, help="run only these sections")
    parser.add_argument("--out", type=Path, default=None, help="report directory (default bench/results)")
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else "full" if args.full else "default"
    report, json_path, md_path = execute(mode, out_dir=args.out, sections=tuple(args.only or SECTIONS),
                                         runs=args.runs)
    print(md_path.read_text(encoding="utf-8"))
    print(f"report: {json_path}\n        {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
