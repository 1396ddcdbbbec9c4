"""regions from the province to the village: Hunan and its 14 cities, Xiangxi as a city-level unit,
participants' regions

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 12:00:00
"""
import sqlalchemy as sa
from alembic import op

# Frozen here: a migration seeds the data as it was when written, whatever the code says later.
HUNAN = ("430000", "湖南省")
HUNAN_CITIES = {"430100": "长沙市", "430200": "株洲市", "430300": "湘潭市", "430400": "衡阳市", "430500": "邵阳市",
                "430600": "岳阳市", "430700": "常德市", "430800": "张家界市", "430900": "益阳市", "431000": "郴州市",
                "431100": "永州市", "431200": "怀化市", "431300": "娄底市", "433100": "湘西土家族苗族自治州"}

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

regions = sa.table('regions', sa.column('code', sa.String), sa.column('name', sa.String),
                   sa.column('level', sa.String), sa.column('parent_code', sa.String))


def upgrade() -> None:
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region_code', sa.String(length=12), nullable=False, server_default=''))
    with op.batch_alter_table('hosts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region_code', sa.String(length=12), nullable=False, server_default=''))

    # The tree gets its top: the province, then every city (Xiangxi, seeded by 0003 as "prefecture",
    # becomes a city-level unit under the province).
    connection = op.get_bind()
    present = {row[0] for row in connection.execute(sa.select(regions.c.code))}
    if HUNAN[0] not in present:
        op.bulk_insert(regions, [{"code": HUNAN[0], "name": HUNAN[1], "level": "province", "parent_code": None}])
    op.bulk_insert(regions, [{"code": code, "name": name, "level": "city", "parent_code": HUNAN[0]}
                             for code, name in sorted(HUNAN_CITIES.items()) if code not in present])
    op.execute(regions.update().where(regions.c.level == 'prefecture').values(level='city', parent_code=HUNAN[0]))


def downgrade() -> None:
    op.execute(regions.update().where(regions.c.code == '433100').values(level='prefecture', parent_code=None))
    op.execute(regions.delete().where(regions.c.code.in_([c for c in HUNAN_CITIES if c != '433100'] + [HUNAN[0]])))
    _drop_column('hosts', 'region_code')
    _drop_column('enterprises', 'region_code')


def _drop_column(table: str, column: str) -> None:
    """ALTER TABLE ... DROP COLUMN. On SQLite (>= 3.35 does it natively) never batch mode's copy and
    rename: dropping the old table, with foreign keys on, deletes the rows of every table that refers
    to it (accounts, links, tax status...)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    else:
        op.drop_column(table, column)
