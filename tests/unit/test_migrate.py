"""The config store's start-up check: a store at the head costs no Alembic in the process."""
from __future__ import annotations

import subprocess
import sys

from alembic.script import ScriptDirectory

from configstore.migrate import SCHEMA_HEAD, alembic_config, current_revision, upgrade


def test_schema_head_is_alembics_head(tmp_path):
    heads = ScriptDirectory.from_config(alembic_config(f"sqlite:///{tmp_path}/c.db")).get_heads()
    assert heads == [SCHEMA_HEAD], "a new migration: set configstore.migrate.SCHEMA_HEAD to its revision"


def test_upgrade_migrates_a_new_store_then_only_checks_it(tmp_path):
    url = f"sqlite:///{tmp_path}/config.db"
    assert current_revision(url) is None
    upgrade(url)
    assert current_revision(url) == SCHEMA_HEAD
    # a second process (a writer, a scheduler, an API server) starting on the migrated store
    script = ("import sys; from configstore.migrate import upgrade; upgrade(sys.argv[1]); "
              "print(sorted(m for m in ('alembic', 'mako') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", script, url], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
