"""Backup and restore of the two stores: the analytics store's raw events and every config-store table.

A backup is a directory (written as DEST.partial and renamed when complete):

    manifest.json                     format, created_at, revisions, row counts, per-campaign totals, sha256 per file
    config/<table>.jsonl.gz           one row per line (JSON object), tables in foreign-key order
    analytics/sales_events.jsonl.gz   one raw event per event_id per line, in event_id order

The backup is readable by its owner only (directories 0700, files 0600). Secrets stay sealed as
the config store keeps them (configstore.sealed; a value found in plain text is sealed on the way
out), and WeChat session keys are left out. So a backup holds no secret in clear, and restoring it
needs the same LIVEBOARD_SECRETS_KEY (checked before anything is written): keep that key apart
from the backups (docs/backup.md).

Only `sales_events` is exported: it is the source of truth, and inserting its rows into an empty
store makes the materialized view rebuild `sales_daily` exactly as the writer fed it. The files
are plain JSON lines, so ClickHouse 18.16, chDB 26, SQLite and PostgreSQL all read them the same.

Restore verifies every checksum before it touches anything, refuses a target that already holds
data (unless forced, which replaces it), loads the config store at the backup's Alembic revision
and migrates it forward, inserts the events, and checks the result against the manifest and
`analytics.reconcile`.
"""
from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import json
import os
import shutil
import tempfile
from datetime import date, datetime, time, timezone
from decimal import Decimal
from importlib import metadata
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import orjson
import sqlalchemy as sa
from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

import configstore.all_models  # noqa: F401  (registers every table on Base.metadata)
from analytics import AnalyticsStore, open_store
from analytics.migrations import migrate as migrate_store
from analytics.migrations import migration_files
from analytics.reconcile import raw_totals, reconcile
from analytics.rows import COLUMNS as EVENT_COLUMNS
from configstore.db import Base, make_engine
from configstore.migrate import alembic_config
from configstore.sealed import SEALED_COLUMNS, is_sealed_column
from configstore.secretbox import SecretBox, SecretUnreadable, is_sealed
from operations.migrations import migrate_all
from settings import Settings, make_private_dir

FORMAT = "liveboard-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
EVENTS_FILE = "analytics/sales_events.jsonl.gz"
EVENT_CHUNK_ROWS = 20_000  # rows per export page and per insert: bounds memory at any table size
SAMPLES_PER_PAGE = 16
CONFIG_BATCH_ROWS = 1_000

Echo = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore that cannot be done. `code` is for machines, `message` for people."""

    def __init__(self, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code, self.message, self.details = code, message, details

    def as_dict(self) -> dict:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def _quiet(_msg: str) -> None:
    return None


# -- files ----------------------------------------------------------------------------------

def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # exact; orjson has no Decimal
    if isinstance(value, (bytes, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"cannot write {type(value).__name__} to a backup")


def _private_file(path: Path):
    """A new file only its owner can read (0600), in a directory only its owner can enter (0700)."""
    make_private_dir(path.parent)
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def _write_lines(path: Path, rows: Iterable[dict]) -> int:
    count = 0
    with _private_file(path) as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6) as out:
        for row in rows:
            out.write(orjson.dumps(row, default=_json_default) + b"\n")
            count += 1
    return count


def _read_lines(path: Path) -> Iterator[dict]:
    with gzip.open(path, "rb") as lines:
        for line in lines:
            yield orjson.loads(line)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


# -- config store ---------------------------------------------------------------------------

def _backed_up_tables(conn: Connection) -> list[sa.Table]:
    """Every table the models define (Base.metadata, so new tables are included), in foreign-key
    order, reflected from this database: a store at an older revision is read with its own columns."""
    present = set(sa.inspect(conn).get_table_names())
    reflected = sa.MetaData()
    reflected.reflect(conn, only=[name for name in Base.metadata.tables if name in present])
    return reflected.sorted_tables


def _current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _parents_first(table: sa.Table, rows: list[dict]) -> list[dict]:
    """Rows of a self-referencing table (regions.parent_code) ordered so a parent precedes its children."""
    links = [(fk.parent.name, fk.column.name) for fk in table.foreign_keys if fk.column.table.name == table.name]
    ordered: list[dict] = []
    placed: set[tuple[str, Any]] = set()
    pending = rows
    while pending:
        ready = [r for r in pending if all(r[child] is None or (parent, r[child]) in placed for child, parent in links)]
        if not ready:  # a cycle inside the table: keep key order, the database will say what is wrong
            ready = pending
        ready_ids = {id(r) for r in ready}
        for row in ready:
            ordered.append(row)
            placed.update((parent, row[parent]) for _, parent in links)
        pending = [r for r in pending if id(r) not in ready_ids]
    return ordered


def _table_rows(conn: Connection, table: sa.Table) -> Iterator[dict]:
    query = sa.select(table).order_by(*table.primary_key.columns)
    result = conn.execution_options(stream_results=True, yield_per=CONFIG_BATCH_ROWS).execute(query)
    names = [str(c.name) for c in table.columns]  # plain str: reflected names are quoted_name
    rows = (dict(zip(names, row, strict=True)) for row in result)
    if any(fk.column.table.name == table.name for fk in table.foreign_keys):
        yield from _parents_first(table, list(rows))
    else:
        yield from rows


# Left out of backups: a WeChat session_key is only good until the user's next login, and a backup
# is a copy kept in more places than the store.
LEFT_OUT = frozenset({("wechat_users", "session_key")})


def _for_backup(table: sa.Table, rows: Iterable[dict], box: Callable[[], SecretBox]) -> Iterator[dict]:
    """Rows as the backup keeps them: LEFT_OUT columns empty, sealed columns sealed."""
    left_out = [c.name for c in table.columns if (table.name, c.name) in LEFT_OUT]
    sealed = [c.name for c in table.columns if is_sealed_column(table.name, c.name) and c.name not in left_out]
    for row in rows:
        for name in left_out:
            row[name] = None
        for name in sealed:
            if row[name] and not is_sealed(row[name]):  # stored before encryption and not migrated yet
                row[name] = box().seal(row[name])
        yield row


def _dump_config(url: str, folder: Path, echo: Echo, box: Callable[[], SecretBox]) -> dict:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            # one read transaction for every table, so the dump is one consistent point in time
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN")
            else:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            revision = _current_revision(conn)
            if revision is None:
                raise BackupError("config_store_not_migrated",
                                  "配置库尚未迁移（没有 Alembic 版本），请先运行 liveboard migrate")
            tables = {}  # in foreign-key order: restore inserts in this order
            for table in _backed_up_tables(conn):
                tables[table.name] = _write_lines(folder / f"{table.name}.jsonl.gz",
                                                  _for_backup(table, _table_rows(conn, table), box))
                echo(f"[backup] config {table.name} {tables[table.name]}")
            conn.rollback()
    finally:
        engine.dispose()
    return {"backend": engine.dialect.name, "alembic_revision": revision, "tables": tables}


def _decoder(column_type: sa.types.TypeEngine) -> Callable[[Any], Any] | None:
    """How a JSON value read back becomes what the column takes (by the target's column type)."""
    if isinstance(column_type, sa.DateTime):
        return lambda value: _as_datetime(value, bool(column_type.timezone))
    if isinstance(column_type, sa.Date):
        return date.fromisoformat
    if isinstance(column_type, sa.Time):
        return time.fromisoformat
    if isinstance(column_type, sa.LargeBinary):
        return base64.b64decode
    if isinstance(column_type, sa.Numeric) and not isinstance(column_type, sa.Float):
        return Decimal
    return None


def _as_datetime(text: str, with_timezone: bool) -> datetime:
    # Stored times are UTC: naive on SQLite (and in timestamp columns), aware in timestamptz ones.
    value = datetime.fromisoformat(text)
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
        return value if with_timezone else value.replace(tzinfo=None)
    return value.replace(tzinfo=timezone.utc) if with_timezone else value


def _decoded_rows(table: sa.Table, rows: Iterable[dict]) -> Iterator[dict]:
    decoders = {c.name: _decoder(c.type) for c in table.columns}
    for row in rows:
        missing = set(row) - set(decoders)
        if missing:
            raise BackupError("config_column_unknown",
                              f"配置库表 {table.name} 没有备份中的列：{'、'.join(sorted(missing))}")
        yield {k: _decoded(decoders[k], v) for k, v in row.items()}


def _decoded(decoder, value):
    return decoder(value) if value is not None and decoder is not None else value


def _revisions_newest_first(url: str) -> list[str]:
    return [script.revision for script in ScriptDirectory.from_config(alembic_config(url)).walk_revisions()]


def _row_counts(conn: Connection) -> dict[str, int]:
    return {t.name: int(conn.scalar(sa.select(sa.func.count()).select_from(t)) or 0) for t in _backed_up_tables(conn)}


def _seeded_counts(url: str, revision: str | None) -> dict[str, int]:
    """Rows a freshly migrated store holds at this revision (migrations seed e.g. the regions);
    none for a revision this code does not know."""
    if revision not in _revisions_newest_first(url):
        return {}
    with tempfile.TemporaryDirectory(prefix="liveboard-seed-") as folder:
        seed_url = f"sqlite:///{Path(folder) / 'seed.sqlite3'}"
        command.upgrade(alembic_config(seed_url), revision)
        engine = make_engine(seed_url)
        try:
            with engine.connect() as conn:
                return _row_counts(conn)
        finally:
            engine.dispose()


def _config_tables_with_data(engine: Engine, url: str) -> list[str]:
    """Tables holding more than a freshly migrated store would (an empty target: [])."""
    with engine.connect() as conn:
        counts = _row_counts(conn)
        revision = _current_revision(conn)
    if not any(counts.values()):
        return []
    seeded = _seeded_counts(url, revision)
    return sorted(name for name, count in counts.items() if count != seeded.get(name, 0))


def _bring_to_revision(engine: Engine, url: str, revision: str) -> None:
    """The target's schema at the backup's revision. A target already past it holds nothing worth
    keeping (checked before), so its schema is rebuilt from scratch rather than downgraded."""
    with engine.connect() as conn:
        current = _current_revision(conn)
    order = _revisions_newest_first(url)
    if current is not None and (current not in order or order.index(current) < order.index(revision)):
        everything = sa.MetaData()
        everything.reflect(engine)
        everything.drop_all(engine)
    command.upgrade(alembic_config(url), revision)


def _reset_sequences(conn: Connection, tables: list[sa.Table]) -> None:
    """PostgreSQL: rows came with their ids, so move each serial/identity sequence past the largest."""
    for table in tables:
        for column in table.primary_key.columns:
            sequence = conn.scalar(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                                   {"t": table.name, "c": column.name})
            if sequence:
                largest = f'SELECT MAX("{column.name}") FROM "{table.name}"'
                conn.execute(sa.text(f"SELECT setval(:s, COALESCE(({largest}), 0) + 1, false)"), {"s": sequence})


def _restore_config(engine: Engine, url: str, src: Path, config: dict, echo: Echo) -> dict[str, int]:
    _bring_to_revision(engine, url, config["alembic_revision"])
    counts = {}
    with engine.begin() as conn:
        tables = {t.name: t for t in _backed_up_tables(conn)}
        absent = [name for name in config["tables"] if name not in tables]
        if absent:
            raise BackupError("config_table_unknown",
                              f"配置库在版本 {config['alembic_revision']} 没有备份中的表：{'、'.join(absent)}")
        for table in reversed(list(tables.values())):  # the rows migrations seeded come back from the backup
            conn.execute(table.delete())
        for name, expected in config["tables"].items():
            rows = _decoded_rows(tables[name], _read_lines(src / "config" / f"{name}.jsonl.gz"))
            counts[name] = 0
            for batch in _batches(rows, CONFIG_BATCH_ROWS):
                conn.execute(tables[name].insert(), batch)
                counts[name] += len(batch)
            echo(f"[restore] config {name} {counts[name]}/{expected}")
        if counts != config["tables"]:  # raising here rolls the whole config restore back
            raise BackupError("restore_verification_failed", "配置库恢复后的行数与备份清单不符，已回滚",
                              {"expected": config["tables"], "restored": counts})
        if conn.dialect.name == "postgresql":
            _reset_sequences(conn, list(tables.values()))
    return counts


# -- analytics store ------------------------------------------------------------------------

def _event_column_types(store: AnalyticsStore) -> dict[str, str]:
    """{} when the database or the table does not exist yet."""
    return dict(store.query("SELECT name, type FROM system.columns "
                            "WHERE database = %(db)s AND table = 'sales_events'", {"db": store.database}))


def _applied_migrations(store: AnalyticsStore) -> list[str]:
    return [f"{version:03d}_{name}"
            for version, name in store.query("SELECT version, name FROM {db}.schema_migrations ORDER BY version")]


def _page_bounds(store: AnalyticsStore, chunk_rows: int) -> list[tuple[str | None, str | None]]:
    """event_id ranges of about `chunk_rows` ids each. Each page reads only its own primary-key
    range, so the export is about two table scans at any size (OFFSET, or `> last_id ... LIMIT`
    without read-in-order on ClickHouse 18.16, would be quadratic). The bounds are every
    SAMPLES_PER_PAGE-th id of a hash sample: one id per page would give pages of very uneven size."""
    per_page = min(SAMPLES_PER_PAGE, chunk_rows)
    sample = sorted(row[0] for row in store.query(
        "SELECT event_id FROM {db}.sales_events "
        "WHERE modulo(cityHash64(event_id), %(every)s) = 0 GROUP BY event_id", {"every": chunk_rows // per_page}))
    edges: list[str | None] = [None, *sample[per_page - 1::per_page], None]
    return list(zip(edges[:-1], edges[1:], strict=True))


def _event_pages(store: AnalyticsStore, columns: list[str], epoch_columns: set[str],
                 chunk_rows: int) -> Iterator[list[dict]]:
    # One row per event_id, as analytics.reconcile reads raw events: a repeat not yet merged away
    # by ReplacingMergeTree is exported once.
    select_list = ", ".join("event_id" if c == "event_id" else
                            f"toUnixTimestamp(any({c}))" if c in epoch_columns else f"any({c})" for c in columns)
    for low, high in _page_bounds(store, chunk_rows):
        where = " AND ".join([*(["event_id > %(low)s"] if low is not None else []),
                              *(["event_id <= %(high)s"] if high is not None else [])]) or "1"
        rows = store.query(f"SELECT {select_list} FROM {{db}}.sales_events WHERE {where} "
                           "GROUP BY event_id ORDER BY event_id", {"low": low, "high": high})
        yield [dict(zip(columns, row, strict=True)) for row in rows]


def _export_analytics(store: AnalyticsStore, path: Path, echo: Echo, chunk_rows: int) -> dict:
    types = _event_column_types(store)
    if not types:
        raise BackupError("analytics_store_not_migrated", "分析库没有 sales_events 表，请先运行 liveboard migrate")
    columns = [c for c in EVENT_COLUMNS if c in types]
    epoch_columns = sorted(c for c in columns if types[c].startswith("DateTime"))
    (total,) = store.query("SELECT count() FROM {db}.sales_events")[0]
    campaigns: dict[str, dict[str, int]] = {}
    done = 0

    def rows() -> Iterator[dict]:
        nonlocal done
        for page in _event_pages(store, columns, set(epoch_columns), chunk_rows):
            for row in page:
                totals = campaigns.setdefault(row["campaign"], {"events": 0, "paid_fen": 0, "refunded_fen": 0})
                totals["events"] += 1
                if row["type"] == "order.paid":
                    totals["paid_fen"] += row["amount_fen"]
                elif row["type"] == "order.refunded":
                    totals["refunded_fen"] += row["amount_fen"]
                yield row
            done += len(page)
            echo(f"[backup] sales_events {done}/{total}")

    count = _write_lines(path, rows())
    for totals in campaigns.values():
        totals["net_gmv_fen"] = totals["paid_fen"] - totals["refunded_fen"]
    return {"migrations": _applied_migrations(store), "sales_events": count,
            "columns": columns, "epoch_columns": epoch_columns, "campaigns": dict(sorted(campaigns.items()))}


def _analytics_counts(store: AnalyticsStore) -> dict[str, int]:
    tables = ("sales_events", "sales_daily")
    if not _event_column_types(store):
        return dict.fromkeys(tables, 0)
    return {table: int(store.query(f"SELECT count() FROM {{db}}.{table}")[0][0]) for table in tables}


def _restore_analytics(store: AnalyticsStore, src: Path, analytics: dict, echo: Echo, chunk_rows: int) -> int:
    migrate_store(store)
    target = _event_column_types(store)
    columns = analytics["columns"]
    absent = [c for c in columns if c not in target]
    if absent:
        raise BackupError("analytics_column_unknown", f"分析库 sales_events 没有备份中的列：{'、'.join(absent)}")
    epoch_columns = set(analytics["epoch_columns"])
    rows = (tuple(datetime.fromtimestamp(record[c], timezone.utc) if c in epoch_columns else record[c]
                  for c in columns) for record in _read_lines(src / EVENTS_FILE))
    done = 0
    # Deduplicated rows into an empty table: the materialized view builds sales_daily from each block.
    for batch in _batches(rows, chunk_rows):
        store.insert("{db}.sales_events", columns, batch)
        done += len(batch)
        echo(f"[restore] sales_events {done}/{analytics['sales_events']}")
    return done


def _verify_analytics(store: AnalyticsStore, analytics: dict) -> dict:
    result = reconcile(store)
    restored = {campaign: {k: totals[k] for k in ("events", "paid_fen", "refunded_fen", "net_gmv_fen")}
                for campaign, totals in raw_totals(store).items()}
    if not result["matches"] or restored != analytics["campaigns"]:
        raise BackupError("restore_verification_failed", "分析库恢复后与备份清单或预聚合不一致",
                          {"expected": analytics["campaigns"], "restored": restored,
                           "raw_matches_aggregate": result["matches"]})
    return restored


# -- manifest -------------------------------------------------------------------------------

def _load_manifest(src: Path) -> dict:
    try:
        manifest = json.loads((src / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        raise BackupError("backup_manifest_missing", f"{src} 不是完整的 liveboard 备份（缺少或无法读取 {MANIFEST}）") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT \
            or manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError("backup_format_unsupported",
                          f"备份格式 {manifest.get('format')} v{manifest.get('format_version')} 无法恢复"
                          f"（本程序读取 {FORMAT} v{FORMAT_VERSION}）")
    return manifest


def _verify_files(src: Path, manifest: dict, echo: Echo) -> None:
    for name, info in manifest["files"].items():
        path = src / name
        if not path.is_file():
            raise BackupError("backup_file_missing", f"备份缺少文件 {name}；未写入任何数据", {"file": name})
        if _sha256(path) != info["sha256"]:
            raise BackupError("backup_checksum_mismatch",
                              f"备份文件 {name} 的校验和不符（已损坏或被改动）；未写入任何数据", {"file": name})
    echo(f"[restore] 校验和一致：{len(manifest['files'])} 个文件")


def _target_secrets_key(settings: Settings) -> str | None:
    """The keys the restored deployment will open secrets with, read without creating anything."""
    if settings.secrets_key:
        return settings.secrets_key
    generated = settings.data_dir / "secrets_key"
    if not generated.is_file():
        return None
    return generated.read_text().strip() or None


def _check_secrets_key(src: Path, manifest: dict, settings: Settings) -> None:
    """Every sealed value in the backup opens with the target's keys (before anything is written):
    otherwise the restored sources could not verify a single webhook."""
    box: SecretBox | None = None
    for table, column in SEALED_COLUMNS:
        if table not in manifest["config_store"]["tables"] or (table, column) in LEFT_OUT:
            continue
        for row in _read_lines(src / "config" / f"{table}.jsonl.gz"):
            value = row.get(column)
            if not value or not is_sealed(value):
                continue
            if box is None:
                key = _target_secrets_key(settings)
                if key is None:
                    raise BackupError("secrets_key_missing", "备份中的密钥是加密保存的：请先设置与备份来源相同的 "
                                      "LIVEBOARD_SECRETS_KEY（或放回原数据目录中的 secrets_key 文件），再恢复；未写入任何数据")
                box = SecretBox(key)
            try:
                box.open(value)
            except SecretUnreadable:
                raise BackupError("secrets_key_mismatch", "LIVEBOARD_SECRETS_KEY 与备份来源不同，无法解密备份中的密钥："
                                  "请使用备份来源的密钥再恢复；未写入任何数据", {"table": table}) from None


def _check_migrations_known(url: str, manifest: dict) -> None:
    revision = manifest["config_store"]["alembic_revision"]
    known = _revisions_newest_first(url)
    if revision not in known:
        raise BackupError("backup_revision_unknown",
                          f"备份的配置库版本 {revision} 不在本程序的迁移中（最新为 {known[0]}）；"
                          "请用生成备份的版本或更新的 liveboard 恢复", {"revision": revision, "head": known[0]})
    analytics_known = {f"{version:03d}_{name}" for version, name, _ in migration_files()}
    unknown = [m for m in manifest["analytics_store"]["migrations"] if m not in analytics_known]
    if unknown:
        raise BackupError("backup_revision_unknown", f"备份的分析库迁移 {'、'.join(unknown)} 不在本程序的迁移中；"
                          "请用生成备份的版本或更新的 liveboard 恢复", {"analytics_migrations": unknown})


def _write_backup(settings: Settings, work: Path, echo: Echo, chunk_rows: int) -> dict:
    created_at = datetime.now(timezone.utc)
    config = _dump_config(settings.config_db_url, work / "config", echo,
                          functools.cache(lambda: SecretBox(settings.with_secret_key().secrets_key)))
    analytics = {"backend": settings.store,
                 **_export_analytics(open_store(settings), work / EVENTS_FILE, echo, chunk_rows)}
    files = {f"config/{name}.jsonl.gz": rows for name, rows in config["tables"].items()}
    files[EVENTS_FILE] = analytics["sales_events"]
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "created_at": created_at.isoformat(timespec="seconds"), "liveboard_version": metadata.version("liveboard"),
        "config_store": config, "analytics_store": analytics,
        "files": {name: {"sha256": _sha256(work / name), "rows": rows} for name, rows in files.items()},
    }
    with _private_file(work / MANIFEST) as out:
        out.write(json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"))
    return manifest


# -- entry points ---------------------------------------------------------------------------

def create_backup(settings: Settings, dest_dir: Path | str, echo: Echo = _quiet,
                  chunk_rows: int = EVENT_CHUNK_ROWS) -> dict:
    """Write a backup of both stores into the new directory `dest_dir`; returns the manifest.

    The config store is read first, in one transaction; then the events. So the published boards
    in a backup never reflect events the backup lacks, and after a restore the ranking job
    republishes from the restored events."""
    dest = Path(dest_dir)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError("backup_destination_not_empty", f"备份目录 {dest} 已存在且不为空；请指定一个新目录")
    work = dest.with_name(dest.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.parent.mkdir(parents=True, exist_ok=True)
    work.mkdir(mode=0o700)
    os.chmod(work, 0o700)
    try:
        manifest = _write_backup(settings, work, echo, chunk_rows)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if dest.exists():
        dest.rmdir()
    work.rename(dest)  # (an empty DEST made beforehand is replaced by the private one)  # a directory named DEST is always a complete backup
    echo(f"[backup] 完成：{dest}（配置库 {len(manifest['config_store']['tables'])} 张表，"
         f"销售事件 {manifest['analytics_store']['sales_events']} 条）")
    return manifest


def restore_backup(settings: Settings, src_dir: Path | str, echo: Echo = _quiet, *, force: bool = False,
                   chunk_rows: int = EVENT_CHUNK_ROWS) -> dict:
    """Restore a backup into the stores `settings` name; they must be empty unless `force`, which
    replaces what they hold. Nothing is written before the files and revisions are checked."""
    src = Path(src_dir)
    manifest = _load_manifest(src)
    url = settings.config_db_url
    _check_migrations_known(url, manifest)
    _verify_files(src, manifest, echo)
    _check_secrets_key(src, manifest, settings)

    make_private_dir(settings.data_dir)
    store = open_store(settings)
    engine = make_engine(url)
    try:
        analytics_counts = _analytics_counts(store)
        occupied = {**analytics_counts, "config_tables": _config_tables_with_data(engine, url)}
        if (any(analytics_counts.values()) or occupied["config_tables"]) and not force:
            raise BackupError("restore_target_not_empty",
                              "恢复目标已有数据，未做任何改动；确认要用备份覆盖请加 --force", occupied)
        if any(analytics_counts.values()):  # forced: replaced, never added to (the pre-aggregate would double)
            echo(f"[restore] --force：清空分析库 {store.database}")
            store.command("DROP DATABASE IF EXISTS {db}")
        config_rows = _restore_config(engine, url, src, manifest["config_store"], echo)
        events = _restore_analytics(store, src, manifest["analytics_store"], echo, chunk_rows)
    finally:
        engine.dispose()
    migrate_all(settings, echo)  # the config store from the backup's revision to head; topics
    campaigns = _verify_analytics(store, manifest["analytics_store"])
    echo(f"[restore] 完成：配置库 {sum(config_rows.values())} 行，销售事件 {events} 条，原始事件与预聚合一致")
    return {"restored": str(src), "created_at": manifest["created_at"],
            "alembic_revision": manifest["config_store"]["alembic_revision"], "config_rows": config_rows,
            "sales_events": events, "campaigns": campaigns, "reconciled": True}
