"""Participant import: good rows kept, each bad row reported, re-imports idempotent."""
from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from configstore.db import make_engine, make_sessionmaker
from configstore.migrate import upgrade
from configstore.models import Enterprise, Host, HostAccount
from configstore.participants_import import import_participants, read_rows


@pytest.fixture
def sessions(tmp_path):
    url = f"sqlite:///{tmp_path / 'config.sqlite3'}"
    upgrade(url)
    return make_sessionmaker(make_engine(url))


ROWS = [
    {"kind": "主播", "id": "H001", "name": "苗家阿妹", "county": "433101", "accounts": "douyin:dy1;kuaishou:ks1"},
    {"kind": "host", "id": "H002", "name": "土家小哥", "county": "433127", "accounts": ""},
    {"kind": "企业", "id": "E001", "name": "古丈茶业有限公司", "county": "433126",
     "credit_code": "91433126MA4L12345X", "tax_compliant": "否"},
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
        assert session.get(Enterprise, "E001").tax_compliant is False


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
