"""The award-list pages as organizers use them: times in Beijing time, tolerant numbers with Chinese
errors, date pickers, and the workflow as explicit steps that can never move a list back by accident."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest

from configstore import awards as award_store
from configstore import registry
from configstore.award_models import AwardList
from configstore.db import transaction
from tests.e2e.organizer.conftest import csrf_token

pytestmark = pytest.mark.e2e


def _form(html: str, form_id: str) -> str:
    match = re.search(rf'<form[^>]*id="{form_id}"[^>]*>.*?</form>', html, re.S)
    assert match, f"no form {form_id}"
    return match.group(0)


def test_award_list_pages_show_beijing_time_take_tolerant_numbers_and_move_only_forward(org):
    sessions = org.sessions
    registry.upsert_campaign(sessions, slug="qcqh", name="千村千红·湘西香伴", first_day=date(2026, 1, 1),
                             last_day=date(2026, 12, 31))
    operator, admin = org.console("operator-user"), org.console("admin-user")
    base = f"{org.base_url}/console/awards"

    # numbers as people type them; a wrong one is refused in Chinese, naming the field
    page = operator.get(base, timeout=30)
    done = operator.post(f"{base}/compute", timeout=30, data={
        "csrf_token": csrf_token(page.text), "kind": "top_influencers", "scope": "campaign", "scope_key": "qcqh",
        "min_net_gmv_yuan": "10,000", "min_order_count": "1,200", "policy": "pay_difference"})
    assert done.status_code == 200 and "已计算并保存为草稿" in done.text
    [listed] = award_store.list_lists(sessions)
    assert (listed["params"]["min_net_gmv_fen"], listed["params"]["min_order_count"]) == (1_000_000, 1_200)
    refused = operator.post(f"{base}/compute", timeout=30, data={
        "csrf_token": csrf_token(page.text), "kind": "top_influencers", "scope": "campaign", "scope_key": "qcqh",
        "min_net_gmv_yuan": "一万", "min_order_count": "0"})
    assert "评选最低净成交额：“一万”不是数字" in refused.text
    assert "invalid literal" not in refused.text and "min_net_gmv" not in refused.text.split("<form")[0]
    assert len(award_store.list_lists(sessions)) == 1

    # the list's computing time, shown in Beijing time (stored 2026-12-01 02:05 UTC)
    with transaction(sessions) as session:
        session.get(AwardList, listed["id"]).computed_at = datetime(2026, 12, 1, 2, 5, tzinfo=timezone.utc)
    index = operator.get(base, timeout=30).text
    assert "<td class=\"nowrap\">2026-12-01 10:05</td>" in index and "2026-12-01T02:05" not in index

    # a draft offers one step: 冻结, with a confirmation; no state picker anywhere
    detail_url = f"{base}/{listed['id']}"
    html = operator.get(detail_url, timeout=30).text
    assert 'name="state"' in html and "<select name=\"state\"" not in html
    freeze = _form(html, "to-frozen")
    assert 'value="frozen"' in freeze and 'name="from_state" value="draft"' in freeze and "data-confirm=" in freeze
    assert "to-draft" not in html and "to-notice" not in html
    stale = csrf_token(html)
    moved = operator.post(f"{detail_url}/transition", timeout=30,
                          data={"csrf_token": stale, "state": "frozen", "from_state": "draft"})
    assert "名单已改为“已冻结”" in moved.text
    assert award_store.get_list(sessions, listed["id"])["state"] == "frozen"

    # a frozen list: 进入公示 (date pickers) and an explicit 退回草稿, each asking first
    html = operator.get(detail_url, timeout=30).text
    notice, back = _form(html, "to-notice"), _form(html, "to-draft")
    assert re.search(r'<input type="date" id="notice-start" name="notice_start" required>', notice)
    assert re.search(r'<input type="date" id="notice-end" name="notice_end" required>', notice)
    assert "退回草稿（解除冻结）" in back and "确定退回吗？" in back and 'name="from_state" value="frozen"' in back
    # a form from the page as it was before the freeze cannot move the list again (nor can one without it)
    for data in ({"state": "draft", "from_state": "draft"}, {"state": "draft"}):
        again = operator.post(f"{detail_url}/transition", timeout=30, data={"csrf_token": stale, **data})
        assert "名单已是“已冻结”（其他人刚刚改过），请查看最新状态后再操作" in again.text
        assert award_store.get_list(sessions, listed["id"])["state"] == "frozen"

    # dates typed the way people write them are read; a wrong one names the field in Chinese
    wrong = operator.post(f"{detail_url}/transition", timeout=30, data={
        "csrf_token": stale, "state": "notice", "from_state": "frozen", "notice_start": "2026-12-01",
        "notice_end": "12月7日"})
    assert "公示结束日期：日期格式应为 YYYY-MM-DD" in wrong.text
    assert award_store.get_list(sessions, listed["id"])["state"] == "frozen"
    published = operator.post(f"{detail_url}/transition", timeout=30, data={
        "csrf_token": stale, "state": "notice", "from_state": "frozen", "notice_start": "2026/12/01",
        "notice_end": "2026年12月7日"})
    assert "名单已改为“公示中”" in published.text
    after = award_store.get_list(sessions, listed["id"])
    assert (after["state"], after["notice_start"], after["notice_end"]) == ("notice", "2026-12-01", "2026-12-07")

    # in 公示: 定稿 only for an admin (the operator sees it disabled), 退回草稿 says it withdraws the notice
    html = operator.get(detail_url, timeout=30).text
    assert re.search(r'<button type="submit" class="" disabled>定稿</button>', _form(html, "to-final"))
    assert "退回草稿（撤回公示）" in _form(html, "to-draft")
    admin_html = admin.get(detail_url, timeout=30).text
    assert "disabled" not in _form(admin_html, "to-final")

    # no ISO time anywhere on the page (the notice dates are days)
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", admin_html)
