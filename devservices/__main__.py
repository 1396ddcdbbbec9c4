"""`python -m devservices up`: start Kafka, ClickHouse and PostgreSQL for local development.

With --cluster: a 3-broker Kafka cluster, 2 ClickHouse shards, PostgreSQL and Redis instead.

Prints the LIVEBOARD_* settings for them on stdout (KEY=VALUE lines, ready for `export`) and runs
until Ctrl-C or SIGTERM, then stops everything and removes the data (unless --keep).
"""
from __future__ import annotations

import argparse
import shutil
import signal
import sys
import time
from pathlib import Path

from devservices._process import Service, ServiceGroup, make_base_dir
from devservices.clickhouse import ClickHouseCluster, ClickHouseService
from devservices.kafka import KafkaCluster, KafkaService
from devservices.postgres import PostgresService
from devservices.redis import RedisService

SERVICES = {"kafka": KafkaService, "clickhouse": ClickHouseService, "postgres": PostgresService}
CLUSTER_SERVICES = {"kafka": KafkaCluster, "clickhouse": ClickHouseCluster, "postgres": PostgresService,
                    "redis": RedisService}


def _env_lines(started: dict) -> list[str]:
    lines = []
    if "kafka" in started:
        lines += ["LIVEBOARD_EVENT_LOG=kafka", f"LIVEBOARD_KAFKA_BOOTSTRAP={started['kafka'].bootstrap_servers}"]
    clickhouse = started.get("clickhouse")
    if isinstance(clickhouse, ClickHouseCluster):
        lines += ["LIVEBOARD_STORE=clickhouse", f"LIVEBOARD_CLICKHOUSE_URL={clickhouse.url(1, 'liveboard')}",
                  f"LIVEBOARD_CLICKHOUSE_CLUSTER={clickhouse.cluster_name}"]
    elif clickhouse is not None:
        lines += ["LIVEBOARD_STORE=clickhouse", f"LIVEBOARD_CLICKHOUSE_URL={clickhouse.url_for('liveboard')}"]
    if "postgres" in started:
        lines += [f"LIVEBOARD_DATABASE_URL={started['postgres'].url}"]
    if "redis" in started:
        lines += [f"LIVEBOARD_REDIS_URL={started['redis'].url}"]
    return lines


def _members(service: Service | ServiceGroup) -> list[Service]:
    return service.in_service() if isinstance(service, ServiceGroup) else [service]


def _data_dirs(service: Service | ServiceGroup) -> str:
    return ", ".join(str(member.root) for member in _members(service))


def _up(args: argparse.Namespace) -> int:
    services = CLUSTER_SERVICES if args.cluster else SERVICES
    names = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else list(services)
    unknown = [n for n in names if n not in services]
    if unknown:
        print(f"unknown service(s): {', '.join(unknown)}; choose from {', '.join(services)}", file=sys.stderr)
        return 2
    if args.base_dir:
        base = Path(args.base_dir)
        base.mkdir(parents=True, exist_ok=True)
        base.chmod(0o755)
    else:
        base = make_base_dir(prefix="liveboard-dev-")

    def _terminate(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    started: dict = {}
    try:
        for name in names:
            print(f"[devservices] starting {name} ...", file=sys.stderr, flush=True)
            began = time.monotonic()
            service = services[name](base)
            service.start()  # a cluster that fails half-way stops its members itself
            started[name] = service
            print(f"[devservices] {name} ready in {time.monotonic() - began:.1f}s (data: {_data_dirs(service)})",
                  file=sys.stderr, flush=True)
        for line in _env_lines(started):
            print(line, flush=True)
        print("[devservices] running; Ctrl-C to stop", file=sys.stderr, flush=True)
        while True:
            for name, service in started.items():
                exited = [member for member in _members(service) if not member.running]
                if exited:
                    print(f"[devservices] {name} exited; see {', '.join(str(m.log_path) for m in exited)}",
                          file=sys.stderr)
                    return 1
            time.sleep(1)
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the shutdown short
        for name, service in reversed(list(started.items())):
            print(f"[devservices] stopping {name}", file=sys.stderr, flush=True)
            service.stop()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
        else:
            print(f"[devservices] data kept in {base}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devservices", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the services and wait for Ctrl-C")
    up.add_argument("--cluster", action="store_true",
                    help="3 Kafka brokers, 2 ClickHouse shards, PostgreSQL and Redis (see docs/devservices.md)")
    up.add_argument("--only", help="comma-separated subset of: " + ", ".join(SERVICES)
                    + " (with --cluster: " + ", ".join(CLUSTER_SERVICES) + ")")
    up.add_argument("--base-dir", help="where the services keep their data (default: a fresh temp dir)")
    up.add_argument("--keep", action="store_true", help="keep the data dir on exit")
    args = parser.parse_args(argv)
    if args.command == "up":
        return _up(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
