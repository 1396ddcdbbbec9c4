"""Apply the ClickHouse DDL in schemas/clickhouse/ in order, once each (idempotent).

One server (or chDB): every statement as written. A cluster (`migrate_sharded`): the same files,
with no second copy of the DDL. Every statement runs on every shard with each table renamed to its
per-shard `<name>_local` (materialized views keep their names and read and write local tables, so
each shard pre-aggregates the rows it holds); after each statement every shard's Distributed tables
are brought in line with its local tables: `<name>` is `Distributed(cluster, db, <name>_local,
key)` with the local table's columns, created, re-created when the columns changed (a rename, an
ALTER) and dropped when the local table is gone. Each shard records what it applied in its own
`schema_migrations`, so a shard that missed a migration gets it on the next run.

The sharding key keeps what must be together on one shard (see `sharding_key`): all events of one
order, with its pending refunds; any one (source, event_id). ClickHouse 18.16 has no ON CLUSTER
without ZooKeeper, hence a statement per shard.
"""
from __future__ import annotations

import re
from importlib import resources

from analytics.base import AnalyticsStore, StoreFailed

LOCAL_SUFFIX = "_local"
_TABLE_REF = re.compile(r"\{db\}\.(\w+)")
_VIEW = re.compile(r"CREATE\s+MATERIALIZED\s+VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?\{db\}\.(\w+)", re.IGNORECASE)
_UNSHARDED = frozenset({"schema_migrations"})  # each shard keeps its own


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


def _prepare(store: AnalyticsStore) -> set[int]:
    store.command("CREATE DATABASE IF NOT EXISTS {db}")
    store.command(
        "CREATE TABLE IF NOT EXISTS {db}.schema_migrations "
        "(version UInt32, name String, applied_at DateTime('UTC')) ENGINE = TinyLog"
    )
    return {row[0] for row in store.query("SELECT version FROM {db}.schema_migrations")}


def _record(store: AnalyticsStore, version: int, name: str) -> None:
    store.command(
        "INSERT INTO {db}.schema_migrations (version, name, applied_at) "
        "SELECT %(version)s, %(name)s, now()", {"version": version, "name": name}
    )


def migrate(store: AnalyticsStore) -> list[str]:
    """Returns the names of the migrations applied now."""
    done = _prepare(store)
    applied = []
    for version, name, sql in migration_files():
        if version in done:
            continue
        for statement in split_statements(sql):
            store.command(statement)
        _record(store, version, name)
        applied.append(f"{version:03d}_{name}")
    return applied


# -- sharded ---------------------------------------------------------------------------------------

def view_names(files: list[tuple[int, str, str]]) -> frozenset[str]:
    """Every materialized view the migrations create: they keep their names on the shards."""
    return frozenset(name for _, _, sql in files for name in _VIEW.findall(sql))


def localize(statement: str, views: frozenset[str]) -> str:
    """The statement against the shard's local tables: `{db}.t` -> `{db}.t_local` (views excepted)."""
    def local(match: re.Match) -> str:
        name = match.group(1)
        return match.group(0) if name in views or name in _UNSHARDED else f"{{db}}.{name}{LOCAL_SUFFIX}"
    return _TABLE_REF.sub(local, statement)


def sharding_key(columns: set[str]) -> str:
    """Where a row of a table with these columns lives (one rule for every table, so a later
    migration's tables follow it too):
    - an order's rows (paid, refunds, its row in sales_orders, its pending refunds) by
      (platform, order_id), as the event log partitions them: one shard holds the whole order, so a
      SummingMergeTree or ReplacingMergeTree row of it merges on that shard and FINAL is exact;
    - any other event by (source, event_id), the writer's identity of an event: a repeat of it can
      only ever land beside the first;
    - a table with neither (a pre-aggregate filled by its view on each shard) is never written
      through its Distributed table in the product; rand() spreads any direct insert.
    Reads sum and GROUP BY across shards, so any placement of a pre-aggregate's rows is exact."""
    by_event = "cityHash64(source, event_id)"
    by_order = "cityHash64(platform, order_id)"
    if {"platform", "order_id", "source", "event_id"} <= columns:
        return f"if(order_id = '', {by_event}, {by_order})"
    if {"platform", "order_id"} <= columns:
        return by_order
    if {"source", "event_id"} <= columns:
        return by_event
    return "rand()"


def _tables(store: AnalyticsStore) -> dict[str, str]:
    return {name: engine for name, engine in store.query(
        "SELECT name, engine FROM system.tables WHERE database = %(db)s", {"db": store.database})}


def _columns(store: AnalyticsStore, table: str) -> list[tuple[str, str]]:
    return [(name, kind) for name, kind in store.query(
        "SELECT name, type FROM system.columns WHERE database = %(db)s AND table = %(table)s",
        {"db": store.database, "table": table})]


def sync_distributed(store: AnalyticsStore, cluster: str) -> list[str]:
    """Make this shard's Distributed tables match its local tables; returns the tables (re)created."""
    tables = _tables(store)
    local = {name[:-len(LOCAL_SUFFIX)] for name, engine in tables.items()
             if name.endswith(LOCAL_SUFFIX) and engine != "MaterializedView" and not name.startswith(".")}
    made = []
    for name, engine in tables.items():
        if engine == "Distributed" and name not in local:
            store.command(f"DROP TABLE IF EXISTS {{db}}.{name}")
    for name in sorted(local):
        columns = _columns(store, name + LOCAL_SUFFIX)
        if name in tables:
            if tables[name] != "Distributed":
                raise StoreFailed(f"{store.database}.{name} is a {tables[name]} table, not the Distributed table "
                                  f"of {name}{LOCAL_SUFFIX}: an unsharded schema cannot be sharded in place")
            if _columns(store, name) == columns:
                continue
            store.command(f"DROP TABLE IF EXISTS {{db}}.{name}")
        key = sharding_key({column for column, _ in columns})
        store.command(f"CREATE TABLE IF NOT EXISTS {{db}}.{name} AS {{db}}.{name}{LOCAL_SUFFIX} "
                      f"ENGINE = Distributed('{cluster}', '{store.database}', '{name}{LOCAL_SUFFIX}', {key})")
        made.append(name)
    return made


def migrate_sharded(shards: list[AnalyticsStore], cluster: str) -> list[str]:
    """Every migration on every shard that lacks it, statement by statement across the shards, the
    Distributed tables kept in line after each. Returns the names of the migrations applied now
    (on at least one shard)."""
    if not shards:
        raise StoreFailed(f"cluster {cluster!r} has no shards")
    files = migration_files()
    views = view_names(files)
    done = [_prepare(shard) for shard in shards]
    for shard in shards:  # a shard whose Distributed tables were lost (or never made) gets them back
        sync_distributed(shard, cluster)
    applied = []
    for version, name, sql in files:
        behind = [shard for shard, versions in zip(shards, done, strict=True) if version not in versions]
        if not behind:
            continue
        for statement in split_statements(sql):
            local = localize(statement, views)
            for shard in behind:
                shard.command(local)
            if not local.lstrip().upper().startswith("INSERT"):
                for shard in shards:
                    sync_distributed(shard, cluster)
        for shard in behind:
            _record(shard, version, name)
        applied.append(f"{version:03d}_{name}")
    return applied
