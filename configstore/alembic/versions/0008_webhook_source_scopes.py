"""webhook source scopes: the platforms, campaigns and enterprises a source may report

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 12:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL means "any": sources made before scopes existed keep reporting what they did
    with op.batch_alter_table('webhook_sources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('platforms', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('campaigns', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('enterprises', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('webhook_sources', schema=None) as batch_op:
        batch_op.drop_column('enterprises')
        batch_op.drop_column('campaigns')
        batch_op.drop_column('platforms')
