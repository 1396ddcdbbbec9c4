"""Run the config store's Alembic migrations from code (used by `liveboard migrate` and `run`)."""
from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

import sqlalchemy as sa

from configstore.db import make_engine

if TYPE_CHECKING:
    from alembic.config import Config

# The newest revision under alembic/versions (tests/unit/test_migrate.py holds it to Alembic's
# head). Every command checks the store against it on start; Alembic and its scripts (~40 MiB of
# a process's memory, for good) load only when there is something to upgrade.
SCHEMA_HEAD = "0030"


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    ini = resources.files("configstore").joinpath("alembic.ini")
    config = Config(str(ini))
    config.set_main_option("script_location", str(resources.files("configstore").joinpath("alembic")))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def current_revision(url: str) -> str | None:
    """The store's Alembic revision; None for a store never migrated (or one with two heads)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            versions = [row[0] for row in conn.execute(sa.text("SELECT version_num FROM alembic_version"))]
    finally:
        engine.dispose()
    return versions[0] if len(versions) == 1 else None


def upgrade(url: str) -> None:
    if current_revision(url) == SCHEMA_HEAD:
        return
    from alembic import command

    command.upgrade(alembic_config(url), "head")
