"""`python -m reliability faults|load|cluster|all`: the long reliability runs on real services started here.

  faults  [--events 100000] [--rate 1500]    kill -9 consumers, restart ClickHouse and Kafka,
                                             kill an API worker, then account for every event
  load    [--minutes 5] [--rate R]           sustained load: no undocumented 5xx, flat memory; without
                                             --rate, 90% of the rate carried at saturation (probed first)
  cluster [--events 100000] [--rate 600]    3 Kafka brokers, 2 ClickHouse shards, two of every process:
                                             destroy a broker, kill -9 a writer, an API node and the
                                             leading scheduler, then account for every event
Exit code 0 only when every check holds; the figures are printed as they are measured.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from bench.infra import Services


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suite", choices=["faults", "load", "cluster", "all"])
    parser.add_argument("--events", type=int, default=100_000, help="fault and cluster runs: events to send")
    parser.add_argument("--minutes", type=float, default=5.0, help="load run: how long")
    parser.add_argument("--rate", type=float, default=None,
                        help="events/s offered (faults: default 800; cluster: 600; load: default 90%% of the probed limit)")
    args = parser.parse_args(argv)
    if args.suite == "cluster":  # clusters of its own, not the single nodes below
        from reliability.cluster import cluster_main

        ok = cluster_main(args.events, args.rate, echo=lambda line: print(line, flush=True)) == 0
        print(f"[reliability] {'PASS' if ok else 'FAIL'}", flush=True)
        return 0 if ok else 1

    print("[reliability] starting Kafka, ClickHouse and PostgreSQL on loopback", flush=True)
    services = Services.start()
    work = Path(tempfile.mkdtemp(prefix="liveboard-reliability-"))
    ok = True
    try:
        if args.suite in ("faults", "all"):
            from reliability.faults import FaultPlan, run_faults

            report = run_faults(services, work / "faults", FaultPlan(events=args.events, rate=args.rate or 800),
                                echo=lambda line: print(line, flush=True))
            ok &= report.ok
        if args.suite in ("load", "all"):
            from reliability.load import LoadPlan, run_load

            load_report = run_load(services, work / "load", LoadPlan(seconds=args.minutes * 60, rate=args.rate),
                                   echo=lambda line: print(line, flush=True))
            ok &= load_report.ok
    finally:
        services.close()
        shutil.rmtree(work, ignore_errors=True)
    print(f"[reliability] {'PASS' if ok else 'FAIL'}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
