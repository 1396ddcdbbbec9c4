"""component status (heartbeats of background components) and frozen views (public boards at the freeze)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 13:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'component_status',
        sa.Column('component', sa.String(length=32), nullable=False),
        sa.Column('instance', sa.String(length=128), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('beat_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('restarts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.String(length=500), nullable=False),
        sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('figures', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('component', 'instance', name=op.f('pk_component_status')),
    )
    with op.batch_alter_table('component_status', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_component_status_beat_at'), ['beat_at'], unique=False)
    op.create_table(
        'frozen_views',
        sa.Column('campaign_slug', sa.String(length=64), nullable=False),
        sa.Column('view_key', sa.String(length=96), nullable=False),
        sa.Column('frozen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('campaign_slug', 'view_key', name=op.f('pk_frozen_views')),
    )


def downgrade() -> None:
    op.drop_table('frozen_views')
    with op.batch_alter_table('component_status', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_component_status_beat_at'))
    op.drop_table('component_status')
