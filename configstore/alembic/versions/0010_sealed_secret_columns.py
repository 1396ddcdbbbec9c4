"""sealed secret columns: room for Fernet tokens in webhook_secrets.secret and
wechat_users.session_key

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 10:00:00

The values themselves are sealed at start-up by operations.migrations.migrate_all (Alembic does
not hold the key). SQLite does not enforce VARCHAR lengths, and rebuilding a table there (batch
mode) would cascade deletes from its children, so only PostgreSQL is altered.
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

COLUMNS = (("webhook_secrets", "secret", 128, False), ("wechat_users", "session_key", 64, True))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, width, nullable in COLUMNS:
        op.alter_column(table, column, existing_type=sa.String(length=width), type_=sa.String(length=512),
                        existing_nullable=nullable)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, width, nullable in COLUMNS:
        op.alter_column(table, column, existing_type=sa.String(length=512), type_=sa.String(length=width),
                        existing_nullable=nullable)
