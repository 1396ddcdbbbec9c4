"""Participant import: good rows kept, each bad row reported, re-imports idempotent."""
from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from configstore import tax
from configstore.db import make_engine, make_sessionmaker
from configstore.migrate import upgrade
from configstore.models import Enterprise, Host, HostAccount
from configstore.participants_import import import_participants, read_rows
from domain.awards import TaxStatus


@pytest.fixture
def sessions(tmp_path):
    url = f"sqlite:///{tmp_path / 'config.sqlite3'}"
    upgrade(url)
    return make_sessionmaker(make_engine(url))


ROWS = [
    {"kind": "主播", "id": "H001", "name": "苗家阿妹", "county": "433101", "accounts": "douyin:dy1;kuaishou:ks1"},
    {"kind": "host", "id": "H002", "name": "土家小哥", "county": "433127", "accounts": ""},
    {"kind": "企业", "id": "E001", "name": "古丈茶业有限公司", "county": "433126",
     "credit_code": "91433126MA4L12345X", "依法纳税(2025)": "是", "依法纳税(2026)": "否"},
    {"kind": "host", "id": "", "name": "无编号"},
    {"kind": "网红", "id": "H003", "name": "类型错"},
    {"kind": "host", "id": "H004", "name": "县码错", "county": "4331"},
    {"kind": "host", "id": "H005", "name": "账号错", "accounts": "weibo:abc"},
    {"kind": "host", "id": "H001", "name": "重复编号"},
    {"kind": "host", "id": "H006", "name": "账号重复", "accounts": "douyin:dy1"},
]


def test_good_rows_kept_and_each_bad_row_reported(sessions):
    report = import_participants(sessions, ROWS)
    assert (report.hosts, report.enterprises, report.bad_rows) == (2, 1, 6)
    assert [(e.row, e.field) for e in report.errors] == [
        (5, "id"), (6, "kind"), (7, "county"), (8, "accounts"), (9, "id"), (10, "accounts")]
    assert report.errors[4].message == "编号与第 2 行重复"
    with sessions() as session:
        accounts = session.execute(select(HostAccount.host_id, HostAccount.platform, HostAccount.account_id)
                                   .order_by(HostAccount.platform)).all()
        assert accounts == [("H001", "douyin", "dy1"), ("H001", "kuaishou", "ks1")]
        assert session.get(Enterprise, "E001").name == "古丈茶业有限公司"
    assert [(t["year"], t["status"]) for t in tax.history(sessions, "E001")] == [
        (2026, "non_compliant"), (2025, "compliant")]


def test_reimport_is_idempotent_and_moves_accounts(sessions):
    import_participants(sessions, ROWS[:3])
    again = import_participants(sessions, ROWS[:3])
    assert (again.hosts, again.enterprises, again.bad_rows) == (2, 1, 0)
    moved = import_participants(sessions, [{"kind": "host", "id": "H002", "name": "土家小哥", "accounts": "douyin:dy1"}])
    assert moved.bad_rows == 0
    with sessions() as session:
        owners = dict(session.execute(select(HostAccount.account_id, HostAccount.host_id)).all())
        assert owners == {"dy1": "H002", "ks1": "H001"}
        assert session.scalar(select(Host.name).where(Host.id == "H002")) == "土家小哥"


def test_xlsx_with_chinese_headers(sessions):
    book = Workbook()
    sheet = book.active
    sheet.append(["类型", "编号", "名称", "县市代码", "平台账号"])
    sheet.append(["主播", "H010", "龙山百合姐", "433130", "douyin:dy10"])
    sheet.append(["主播", "H011", None, "433130", None])
    buffer = io.BytesIO()
    book.save(buffer)
    report = import_participants(sessions, read_rows("hosts.xlsx", buffer.getvalue()))
    assert (report.hosts, report.bad_rows) == (1, 1)
    assert report.errors[0].as_dict() == {"row": 3, "field": "name", "message": "名称必填，最多 100 个字"}


def test_unsupported_file_type_is_a_clear_error():
    with pytest.raises(ValueError, match="只支持 .csv 和 .xlsx 文件"):
        read_rows("hosts.txt", b"x")


@pytest.mark.parametrize(
    "extra, field, message",
    [
        ({"依法纳税": "是"}, "tax_compliant", "依法纳税须按年度填写：表头请写成“依法纳税(2026)”，每个年度一列"),
        ({"依法纳税(2026)": "大概"}, "依法纳税(2026)", "依法纳税(2026)应填 是、否 或 未核实"),
        ({"region_code": "433122100"}, "region_code", "区划 433122100 不存在：请先导入乡镇和村"),
        ({"region_code": "433122"}, "region_code", "所在区划 433122 不在县市 433126 内"),
        ({"region_code": "433100"}, "region_code", "所在区划应为县市区、乡镇或村"),
    ],
)
def test_tax_per_year_and_region_columns_refuse_what_they_cannot_read(sessions, extra, field, message):
    row = {"kind": "企业", "id": "E009", "name": "保靖黄金茶业", "county": "433126", **extra}
    report = import_participants(sessions, [row])
    assert [(e.field, e.message) for e in report.errors] == [(field, message)]


def test_unknown_tax_years_stay_unverified_and_an_empty_cell_changes_nothing(sessions):
    import_participants(sessions, [{"kind": "企业", "id": "E1", "name": "甲", "county": "433101", "tax_2025": "是"}])
    import_participants(sessions, [{"kind": "企业", "id": "E1", "name": "甲", "county": "433101", "tax_2025": "",
                                    "依法纳税（2026）": "未核实"}])
    assert tax.statuses(sessions, 2025)["E1"] is TaxStatus.COMPLIANT
    assert tax.statuses(sessions, 2026)["E1"] is TaxStatus.UNVERIFIED
    assert tax.statuses(sessions, 2024)["E1"] is TaxStatus.UNVERIFIED  # never filled in: never compliant


def test_region_at_any_level_and_county_users_import_only_their_counties(sessions):
    from configstore import places

    places.add_region(sessions, code="433101001", name="乾州街道", parent_code="433101")
    places.add_region(sessions, code="433101001002", name="某社区", parent_code="433101001")
    rows = [{"kind": "host", "id": "H1", "name": "甲", "region_code": "433101001002"},  # the county follows
            {"kind": "host", "id": "H2", "name": "乙", "county": "433122"}]
    report = import_participants(sessions, rows, counties=frozenset({"433101"}))
    assert report.hosts == 1 and [(e.row, e.message) for e in report.errors] == [
        (3, "县市账号只能导入和修改本县市的主播和企业")]
    with sessions() as session:
        h1 = session.get(Host, "H1")
        assert (h1.county, h1.region_code) == ("433101", "433101001002")
    import_participants(sessions, [rows[1]])  # the prefecture imports H2 (泸溪县)
    moved = import_participants(sessions, [{"kind": "host", "id": "H2", "name": "乙", "county": "433101"}],
                                counties=frozenset({"433101"}))
    assert moved.bad_rows == 1  # a county user cannot take over another county's host
