"""Participant and target imports refuse what is too big before reading it whole: an .xlsx whose zip
inflates to 93 MB (refused from its directory, in well under a second, over the API too), too many
zip entries, too many rows (blank ones included: a sheet with a row at 1 and one at 1,000,000), too
many columns, and CSV files over the size or row limit. Each refusal is one clear Chinese message."""
from __future__ import annotations

import io
import time
import zipfile

import pytest
from openpyxl import Workbook

from backend.app import create_app
from configstore import accounts, participants_import
from configstore.participants_import import ImportTooLarge, read_rows
from operations.migrations import migrate_all
from tests.security.fuzz_embedded import embedded_settings

HEADER = ["类型", "编号", "名称", "县市代码"]
ROW = ["主播", "H001", "苗家阿妹", "433101"]
SHEET = "xl/worksheets/sheet1.xml"


def _xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _with_sheet(xlsx: bytes, write_sheet) -> bytes:
    """The workbook with its first sheet's XML replaced by what `write_sheet(stream)` writes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for entry in source.infolist():
            if entry.filename == SHEET:
                with target.open(SHEET, "w", force_zip64=True) as stream:
                    write_sheet(stream)
            else:
                target.writestr(entry, source.read(entry))
    return out.getvalue()


def zip_bomb(inflated_bytes: int = 93 * 1024 * 1024) -> bytes:
    """A real .xlsx whose sheet inflates to `inflated_bytes`: the same row over and over."""
    row = ('<row><c t="inlineStr"><is><t>主播</t></is></c><c t="inlineStr"><is><t>H001</t></is></c>'
           '<c t="inlineStr"><is><t>苗家阿妹</t></is></c></row>').encode()
    head = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
            b'spreadsheetml/2006/main"><sheetData>')
    tail = b"</sheetData></worksheet>"

    def write(stream) -> None:
        stream.write(head)
        chunk = row * 4096
        for _ in range((inflated_bytes - len(head) - len(tail)) // len(chunk) + 1):
            stream.write(chunk)
        stream.write(tail)

    return _with_sheet(_xlsx([HEADER]), write)


def _refused(filename: str, content: bytes) -> tuple[str, float]:
    started = time.perf_counter()
    with pytest.raises(ImportTooLarge) as refused:
        read_rows(filename, content)
    return str(refused.value), time.perf_counter() - started


def test_a_zip_bomb_is_refused_in_well_under_a_second():
    bomb = zip_bomb()
    inflated = sum(entry.file_size for entry in zipfile.ZipFile(io.BytesIO(bomb)).infolist())
    message, elapsed = _refused("名单.xlsx", bomb)
    print(f"\n[imports] .xlsx of {len(bomb) / 1024:.0f} KB inflating to {inflated / 1048576:.0f} MB: refused in "
          f"{elapsed * 1000:.1f} ms: {message}")
    assert inflated >= 93 * 1024 * 1024
    assert elapsed < 1.0
    assert "解压后" in message and "MB" in message


def test_other_oversized_files_are_refused_with_a_clear_message(monkeypatch):
    monkeypatch.setattr(participants_import, "MAX_ROWS", 50)
    cases: dict[str, tuple[str, bytes]] = {
        "51 rows (.xlsx)": ("a.xlsx", _xlsx([HEADER] + [ROW] * 51)),
        "51 rows (.csv)": ("a.csv", ("\n".join(",".join(r) for r in [HEADER] + [ROW] * 51)).encode()),
        "rows 1 and 1,000,000": ("a.xlsx", _with_sheet(_xlsx([HEADER]), lambda s: s.write(
            b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row><row r="1000000">'
            b'<c r="A1000000" t="inlineStr"><is><t>y</t></is></c></row></sheetData></worksheet>'))),
        "a cell in column 200": ("a.xlsx", _xlsx([HEADER, [None] * 199 + ["远处的格子"]])),
        "201 columns (.csv)": ("a.csv", ",".join(["x"] * 201).encode()),
        "9 MB of CSV": ("a.csv", b"x" * (9 * 1024 * 1024)),
    }
    entries = io.BytesIO()
    with zipfile.ZipFile(entries, "w") as archive:
        for i in range(participants_import.MAX_XLSX_ENTRIES + 1):
            archive.writestr(f"x/{i}.xml", b"<x/>")
    cases["501 zip entries"] = ("a.xlsx", entries.getvalue())
    results = {name: _refused(*case) for name, case in cases.items()}
    for name, (message, elapsed) in results.items():
        print(f"[imports] {name}: refused in {elapsed * 1000:.0f} ms: {message}")
        assert elapsed < 1.0, name
        assert any(word in message for word in ("行", "列", "MB", "条目")), name
    # at the limit is fine
    assert len(read_rows("a.xlsx", _xlsx([HEADER] + [ROW] * 50))) == 50
    assert len(read_rows("a.csv", ("\n".join(",".join(r) for r in [HEADER] + [ROW] * 50)).encode())) == 50


def test_the_api_refuses_the_bomb_as_a_json_error(tmp_path):
    settings = embedded_settings(tmp_path / "data")
    migrate_all(settings)
    app = create_app(settings)
    sessions = app.extensions["liveboard"].sessions
    accounts.create_user(sessions, "import-operator", "correct-horse-42", "operator")
    _, token = accounts.create_token(sessions, "import-operator", "imports")
    bomb = zip_bomb()
    try:
        client = app.test_client()
        for path in ("/v1/admin/participants/import", "/v1/admin/targets/import?year=2026"):
            started = time.perf_counter()
            response = client.post(path, headers={"Authorization": f"Bearer {token}"},
                                   data={"file": (io.BytesIO(bomb), "名单.xlsx")}, content_type="multipart/form-data")
            elapsed = time.perf_counter() - started
            error = response.get_json()["error"]
            print(f"\n[imports] POST {path} with the {len(bomb) / 1024:.0f} KB bomb: {response.status_code} "
                  f"{error['code']} in {elapsed * 1000:.0f} ms: {error['message']}")
            assert (response.status_code, error["code"]) == (400, "import_too_large")
            assert elapsed < 1.0
    finally:
        app.extensions["liveboard"].close()
