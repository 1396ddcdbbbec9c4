"""tax status per year (依法纳税 / 未依法纳税 / 未核实) instead of one current flag

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 12:10:00

The old flag enterprises.tax_compliant said nothing about a year, and it was True both when a sheet
said 是 and when the sheet had no 依法纳税 column at all: a True cannot be told apart from "never
checked". So:
* False (未依法纳税 was recorded) becomes 未依法纳税 for the year of the migration (Asia/Shanghai):
  it can only withhold money, and it is the year the flag described when it was last looked at;
* True becomes nothing, i.e. 未核实 for every year: unknown never grants, so the bureau confirms the
  years it pays for (a 依法纳税(2026) column in the participants sheet, or per year in the console);
* no earlier year is guessed.
"""
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

NOTE = "迁移自原“依法纳税：否”标记（原标记未注明年度，记为迁移当年）"


def upgrade() -> None:
    op.create_table('enterprise_tax_status',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.String(length=64), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_enterprise_tax_status_enterprise_id_enterprises'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enterprise_tax_status')),
    sa.UniqueConstraint('enterprise_id', 'year', name=op.f('uq_enterprise_tax_status_enterprise_id'))
    )
    with op.batch_alter_table('enterprise_tax_status', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enterprise_tax_status_enterprise_id'), ['enterprise_id'], unique=False)

    enterprises = sa.table('enterprises', sa.column('id', sa.String), sa.column('tax_compliant', sa.Boolean))
    status = sa.table('enterprise_tax_status', sa.column('enterprise_id', sa.String), sa.column('year', sa.Integer),
                      sa.column('status', sa.String), sa.column('note', sa.String),
                      sa.column('updated_at', sa.DateTime(timezone=True)))
    now = datetime.now(timezone.utc)
    year = (now + timedelta(hours=8)).year  # Asia/Shanghai
    flagged = [row[0] for row in op.get_bind().execute(
        sa.select(enterprises.c.id).where(enterprises.c.tax_compliant == sa.false()))]
    if flagged:
        op.bulk_insert(status, [{"enterprise_id": pid, "year": year, "status": "non_compliant", "note": NOTE,
                                 "updated_at": now} for pid in flagged])
    _drop_column('enterprises', 'tax_compliant')


def downgrade() -> None:
    flagged = [row[0] for row in op.get_bind().execute(sa.text(
        "SELECT DISTINCT enterprise_id FROM enterprise_tax_status WHERE status = 'non_compliant'"))]
    op.add_column('enterprises', sa.Column('tax_compliant', sa.Boolean(), nullable=False, server_default=sa.true()))
    enterprises = sa.table('enterprises', sa.column('id', sa.String), sa.column('tax_compliant', sa.Boolean))
    if flagged:
        op.execute(enterprises.update().where(enterprises.c.id.in_(flagged)).values(tax_compliant=False))
    with op.batch_alter_table('enterprise_tax_status', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enterprise_tax_status_enterprise_id'))
    op.drop_table('enterprise_tax_status')


def _drop_column(table: str, column: str) -> None:
    """ALTER TABLE ... DROP COLUMN. On SQLite (>= 3.35 does it natively) never batch mode's copy and
    rename: dropping the old table, with foreign keys on, deletes the rows of every table that refers
    to it (accounts, links, tax status...)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    else:
        op.drop_column(table, column)
