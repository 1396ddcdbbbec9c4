"""Apply the ClickHouse DDL in schemas/clickhouse/ in order, once each (idempotent)."""
from __future__ import annotations

import re
from importlib import resources

from analytics.base import AnalyticsStore


def migration_files() -> list[tuple[int, str, str]]:
    folder = resources.files("schemas").joinpath("clickhouse")
    found = []
    for entry in folder.iterdir():
        match = re.match(r"^(\d+)_(.+)\.sql$", entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    return sorted(found)


def split_statements(sql: str) -> list[str]:
    without_comments = "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in without_comments.split(";") if s.strip()]


def migrate(store: AnalyticsStore) -> list[str]:
    """Returns the names of the migrations applied now."""
    store.command("CREATE DATABASE IF NOT EXISTS {db}")
    store.command(
        "CREATE TABLE IF NOT EXISTS {db}.schema_migrations "
        "(version UInt32, name String, applied_at DateTime('UTC')) ENGINE = TinyLog"
    )
    done = {row[0] for row in store.query("SELECT version FROM {db}.schema_migrations")}
    applied = []
    for version, name, sql in migration_files():
        if version in done:
            continue
        for statement in split_statements(sql):
            store.command(statement)
        store.command(
            "INSERT INTO {db}.schema_migrations (version, name, applied_at) "
            "SELECT %(version)s, %(name)s, now()", {"version": version, "name": name}
        )
        applied.append(f"{version:03d}_{name}")
    return applied
