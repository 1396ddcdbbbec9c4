"""Which stored values are secrets, and the start-up step that seals those stored in plain text.

Every column named in SEALED_COLUMNS holds values sealed with configstore.secretbox ("fernet:…").
Values written before encryption existed are sealed by `seal_stored_secrets`, which
operations.migrations.migrate_all runs after the Alembic upgrade (Alembic does not hold the key).
It is idempotent, writes no audit entries (the configuration does not change, only how it is
stored), and refuses to go on when the stored values do not open with the configured keys: a
process with the wrong LIVEBOARD_SECRETS_KEY stops at start instead of answering 401 to every
platform. A module that stores another credential through SecretBox adds its column here.
"""
from __future__ import annotations

from sqlalchemy import MetaData, Table, and_, inspect, select, update
from sqlalchemy.engine import Connection, Engine

from configstore.secretbox import PREFIX, SecretBox

# (table, column): values sealed at rest
SEALED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("webhook_secrets", "secret"),
    ("wechat_users", "session_key"),
)
_BATCH = 500


def _plain(table: Table, column: str):
    value = table.c[column]
    return and_(value.is_not(None), value != "", ~value.startswith(PREFIX, autoescape=True))


def _seal_column(conn: Connection, table: Table, column: str, box: SecretBox) -> int:
    keys = list(table.primary_key.columns)
    sealed = 0
    while True:
        rows = conn.execute(select(*keys, table.c[column]).where(_plain(table, column))
                            .order_by(*keys).limit(_BATCH)).all()
        for row in rows:
            match = and_(*(key == row[i] for i, key in enumerate(keys)))
            conn.execute(update(table).where(match).values({column: box.seal(row[-1])}))
        sealed += len(rows)
        if len(rows) < _BATCH:
            return sealed


def seal_stored_secrets(engine: Engine, box: SecretBox) -> dict[str, int]:
    """Seal every plain-text value of SEALED_COLUMNS; {"table.column": values sealed now}.
    Raises configstore.secretbox.SecretUnreadable when stored sealed values do not open with `box`."""
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        present = set(inspect(conn).get_table_names())
        metadata = MetaData()
        for table_name, column in SEALED_COLUMNS:
            if table_name not in present:
                continue
            table = Table(table_name, metadata, autoload_with=conn)
            sample = conn.scalar(select(table.c[column])
                                 .where(table.c[column].startswith(PREFIX, autoescape=True)).limit(1))
            if sample is not None:
                box.open(sample)  # the keys must open what is already sealed before anything is added
            counts[f"{table_name}.{column}"] = _seal_column(conn, table, column, box)
    return counts


def is_sealed_column(table_name: str, column: str) -> bool:
    return (table_name, column) in SEALED_COLUMNS
