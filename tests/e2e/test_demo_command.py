"""The README's first command: `liveboard demo` on the embedded default, as a user runs it.

Run twice on one data dir (it must be idempotent), in child processes (chDB allows one process per
data dir). The output is read whole: progress and results in Chinese, no library log lines; the
independent total it prints equals what the store holds, to the fen; the console login it prints
works; `liveboard stats` in the same dir agrees and, while the demo runs, says why it cannot open
the store instead of a traceback."""
from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import REPO
from tests.e2e.organizer.conftest import csrf_token

pytestmark = pytest.mark.e2e

ORDERS = 300
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR) (?!liveboard\.status)")


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cli(data_dir: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "liveboard.cli", "--data-dir", str(data_dir), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def _independent_total_fen(output: str) -> int:
    match = re.search(r"活动净成交额（独立计算）：([\d,]+)\.(\d\d) 元", output)
    assert match, output
    return int(match.group(1).replace(",", "")) * 100 + int(match.group(2))


def _board(output: str, title: str) -> list[tuple[int, str, int]]:
    """(rank, name, net fen) rows printed under a title."""
    lines = output.split(title, 1)[1].splitlines()[2:12]
    rows = []
    for line in lines:
        rank, *name, amount, _orders = line.split()
        whole, fen = amount.replace(",", "").split(".")
        rows.append((int(rank), " ".join(name), int(whole) * 100 + int(fen)))
    return rows


def _stats(data_dir: Path) -> dict:
    out = _cli(data_dir, "stats", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout)


def test_demo_twice_then_its_console(tmp_path):
    data_dir = tmp_path / "data"
    first = _cli(data_dir, "demo", "--orders", str(ORDERS), "--exit", "--port", str(_port()))
    output = first.stdout + first.stderr
    assert first.returncode == 0, output
    assert [line for line in output.splitlines() if LOG_LINE.match(line)] == []
    assert "Traceback" not in output and "alembic" not in output.lower()
    assert "登记参与者：主播 100 名，企业 128 家（8 个县市）" in output
    total_fen = _independent_total_fen(output)
    stats = _stats(data_dir)
    campaign = stats["raw"]["qcqh-xxxb-2026"]
    assert stats["matches"] is True
    assert campaign["paid_orders"] == ORDERS
    assert campaign["net_gmv_fen"] == total_fen
    for title in ("十大电商达人（活动累计）", "十佳电商企业（活动累计）"):
        rows = _board(output, title)
        assert [r[0] for r in rows] == list(range(1, 11))
        assert [r[2] for r in rows] == sorted((r[2] for r in rows), reverse=True)
        assert all(r[1] and "第" not in r[1] for r in rows)  # real names, no numbered placeholders

    # the second run sends the same events again: the store keeps each once
    port = _port()
    child = subprocess.Popen([sys.executable, "-m", "liveboard.cli", "--data-dir", str(data_dir), "demo",
                              "--orders", str(ORDERS), "--port", str(port)], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            lines.append(line)
            if line.startswith("管理控制台"):
                break
        printed = "".join(lines)
        assert child.poll() is None, printed
        assert _independent_total_fen(printed) == total_fen
        login = re.search(r"管理控制台: (http://\S+)/console\s+用户名 (\S+)\s+密码 (\S+)", printed)
        assert login, printed
        base, username, password = login.groups()

        busy = _cli(data_dir, "stats")
        assert busy.returncode == 1
        assert "正被另一个进程使用" in busy.stderr and "Traceback" not in busy.stderr

        with requests.Session() as browser:
            def log_in(secret: str) -> requests.Response:
                token = csrf_token(browser.get(f"{base}/console/login", timeout=30).text)
                return browser.post(f"{base}/console/login", timeout=30,
                                    data={"username": username, "password": secret, "csrf_token": token})

            assert log_in(password + "x").status_code == 401
            page = log_in(password)
            assert page.status_code == 200 and page.url.rstrip("/").endswith("/console"), page.url
            assert "今日成交" in page.text and "千村千红·湘西香伴" in page.text
        board = requests.get(f"{base}/boards/qcqh-xxxb-2026?screen=1", timeout=30)
        assert board.status_code == 200
    finally:
        child.send_signal(signal.SIGINT)
        try:
            rest, _ = child.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
            rest, _ = child.communicate()
    assert child.returncode == 0, "".join(lines) + rest
    assert [line for line in ("".join(lines) + rest).splitlines() if LOG_LINE.match(line)] == []

    again = _stats(data_dir)
    assert again["raw"] == stats["raw"] and again["matches"] is True
    human = _cli(data_dir, "stats")
    yuan = f"{total_fen // 100:,}.{total_fen % 100:02d} 元"
    assert human.stdout == (f"qcqh-xxxb-2026：事件 {campaign['events']:,} 条（订单 {ORDERS:,}，退款 {campaign['refunds']:,}）；"
                            f"净成交额 {yuan}（原始事件），{yuan}（预聚合）\n原始事件与预聚合一致（精确到分）\n")
