"""The public board page in Debian's chromium: both boards show their ten names, from live data."""
from __future__ import annotations

import re
import subprocess
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest

from configstore import registry
from configstore.participants_import import import_participants
from scheduler.ranking_job import publish_all
from tests.support import order_event

pytestmark = pytest.mark.e2e
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-quic"]


class BoardNames(HTMLParser):
    """Collects the text of td.name cells per board table."""

    def __init__(self):
        super().__init__()
        self.names: dict[str, list[str]] = {"hosts": [], "enterprises": []}
        self._table = None
        self._in_name = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and (attrs.get("id") or "").startswith("board-"):
            self._table = attrs["id"][len("board-"):]
        self._in_name = tag == "td" and attrs.get("class") == "name" and self._table is not None

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        if tag == "td":
            self._in_name = False

    def handle_data(self, data):
        if self._in_name and self._table:
            self.names[self._table].append(data)


def render(url: str, user_data_dir, extra: list[str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}",
                           "--virtual-time-budget=10000", *(extra or []), url],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def embedded_stack(request, tmp_path):
    from tests.e2e.conftest import build_stack

    stack = build_stack("embedded", tmp_path, request)
    yield stack
    stack.close()


def test_board_page_shows_both_top_tens(embedded_stack, tmp_path):
    stack = embedded_stack
    today = datetime.now(timezone.utc).date()
    registry.upsert_campaign(stack.sessions, slug="page-test", name="千村千红·湘西香伴", first_day=today - timedelta(days=5),
                             last_day=today + timedelta(days=5))
    rows = [{"kind": "host", "id": f"H{n:02d}", "name": f"湘西主播{n:02d}号"} for n in range(1, 13)]
    rows += [{"kind": "enterprise", "id": f"E{n:02d}", "name": f"湘西{n:02d}号茶业有限公司"} for n in range(1, 13)]
    assert import_participants(stack.sessions, rows).bad_rows == 0
    events = [order_event(campaign="page-test", host=f"H{n:02d}", enterprise=f"E{n:02d}", amount_fen=1000 * n,
                          occurred_at=datetime.now(timezone.utc) - timedelta(hours=1)) for n in range(1, 13)]
    assert stack.sender.post({"events": events}).status_code == 202
    stack.drain(12)
    publish_all(stack.sessions, stack.store)

    result = render(f"{stack.base_url}/boards/page-test", tmp_path / "chromium", ["--dump-dom"])
    assert result.returncode == 0, result.stderr[-2000:]
    parser = BoardNames()
    parser.feed(result.stdout)
    assert parser.names["hosts"] == [f"湘西主播{n:02d}号" for n in range(12, 2, -1)]
    assert parser.names["enterprises"] == [f"湘西{n:02d}号茶业有限公司" for n in range(12, 2, -1)]
    assert 'data-loaded="1"' in result.stdout
    assert re.search(r'id="t-gmv">780\.00<', result.stdout)  # 1000 * (1 + ... + 12) fen = 780.00 元

    shot = tmp_path / "board.png"
    render(f"{stack.base_url}/boards/page-test", tmp_path / "chromium2", ["--window-size=1400,1000",
                                                                          f"--screenshot={shot}"])
    assert shot.stat().st_size > 20_000  # a rendered page with a chart, not a blank one
