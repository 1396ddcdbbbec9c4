"""`liveboard demo`: seed 千村千红·湘西香伴, post a signed stream over HTTP, print both top tens."""
from __future__ import annotations

import secrets
import time
import unicodedata
from datetime import datetime, timedelta, timezone

import click
from sqlalchemy import select

from analytics import open_store
from configstore import accounts, registry, snapshots
from configstore.db import make_engine, make_sessionmaker
from configstore.errors import Conflict
from configstore.models import WebhookSource
from configstore.participants_import import import_participants
from configstore.secretbox import SecretBox
from configstore.sources import create_source
from domain.money import format_yuan
from liveboard.demo_data import SHANGHAI, participants, participants_rows, sales_stream
from liveboard.sender import WebhookSender
from scheduler.ranking_job import publish_all
from settings import Settings

CAMPAIGN_SLUG = "qcqh-xxxb-2026"
CAMPAIGN_NAME = "千村千红·湘西香伴 湘西州本土网货直播带货工程"
SOURCE_NAME = "demo-platforms"


def _source_secret(sessions, box: SecretBox) -> str:
    """The demo's source secret; created once, reused on re-runs (the demo is idempotent)."""
    with sessions() as session:
        source = session.scalar(select(WebhookSource).where(WebhookSource.name == SOURCE_NAME))
        if source is not None:
            active = [s for s in source.secrets if s.revoked_at is None]
            if active:
                return box.open(active[-1].secret)
    return create_source(sessions, SOURCE_NAME, "演示数据来源", box=box)


DEMO_USERNAME = "demo-admin"


def console_login(settings: Settings, sessions) -> tuple[str, str]:
    """A console account for the demo. Its password is generated once and kept (0600) in the data
    dir, so a re-run prints the same login; a real deployment creates users with `admin create`."""
    path = settings.data_dir / "demo_admin_password"
    if path.exists():
        password = path.read_text().strip()
    else:
        password = secrets.token_urlsafe(12)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(password + "\n")
    try:
        accounts.create_user(sessions, DEMO_USERNAME, password, "admin")
    except Conflict:
        accounts.update_user(sessions, DEMO_USERNAME, password=password, active=True)
    return DEMO_USERNAME, password


def yuan(fen: int) -> str:
    return format_yuan(fen, suffix="")


def _pad(text: str, width: int, right: bool = False) -> str:
    """Pad to a terminal width, counting CJK characters as two columns."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    fill = " " * max(0, width - used)
    return fill + text if right else text + fill


def print_board(title: str, entries: list[dict]) -> None:
    click.echo(f"\n{title}")
    click.echo(_pad("名次", 6) + _pad("名称", 32) + _pad("净成交额（元）", 18, True) + _pad("订单", 8, True))
    for e in entries[:10]:
        click.echo(_pad(str(e["rank"]), 6) + _pad(e["name"], 32) + _pad(yuan(e["net_gmv_fen"]), 18, True)
                   + _pad(str(e["order_count"]), 8, True))


def seed_and_post(settings: Settings, base_url: str, orders: int, echo=click.echo) -> dict:
    sessions = make_sessionmaker(make_engine(settings.config_db_url))
    today = datetime.now(timezone.utc).astimezone(SHANGHAI).date()
    first_day, last_day = today - timedelta(days=13), today + timedelta(days=16)
    registry.upsert_campaign(sessions, slug=CAMPAIGN_SLUG, name=CAMPAIGN_NAME, first_day=first_day,
                             last_day=last_day, status="active")
    hosts, enterprises = participants()
    report = import_participants(sessions, participants_rows(hosts, enterprises))
    echo(f"登记参与者：主播 {report.hosts} 名，企业 {report.enterprises} 家（{len(set(h.county for h in hosts))} 个县市）")

    events = sales_stream(hosts, enterprises, campaign=CAMPAIGN_SLUG, first_day=first_day, last_day=today,
                          orders=orders)
    refunds = sum(1 for e in events if e["type"] == "order.refunded")
    launch = sum(1 for e in events if e["type"] == "order.paid" and e["occurred_at"].startswith(first_day.isoformat())
                 and e["occurred_at"][11:16] >= "19:30")
    echo(f"活动时间线：{first_day} 开幕，开幕当晚 19:30 起订单 {launch} 笔（全程最高峰），之后每天晚间直播为高峰")
    duplicates = events[: max(1, len(events) // 50)]  # platforms retry: ~2 % sent twice
    invalid = [dict(events[0], event_id="demo-invalid-1", amount_fen=-100),
               dict(events[1], event_id="demo-invalid-2", occurred_at="昨天下午"),
               {"event_id": "demo-invalid-3", "type": "order.paid"}]
    sender = WebhookSender(base_url, SOURCE_NAME, _source_secret(sessions, SecretBox(settings.with_secret_key().secrets_key)))
    echo(f"通过签名 Webhook 发送：订单 {orders} 笔，退款 {refunds} 笔，重复 {len(duplicates)} 笔，无效 {len(invalid)} 笔…")
    accepted = rejected = 0
    stream = events + duplicates + invalid
    started = time.monotonic()
    for index, response in enumerate(sender.post_batches(stream, batch_size=250)):
        if response.status_code not in (202, 400):
            raise click.ClickException(f"webhook 返回 {response.status_code}: {response.text[:300]}")
        body = response.json()
        accepted += body.get("accepted", 0)
        rejected += body.get("rejected", len(body.get("error", {}).get("details", [])))
        if index % 10 == 0:
            echo(f"  已发送 {min((index + 1) * 250, len(stream))}/{len(stream)}")
    echo(f"已接收 {accepted}，已拒绝 {rejected}（用时 {time.monotonic() - started:.1f}s）")
    return {"sessions": sessions, "unique_events": len(events), "expected_net_fen": sum(
        e["amount_fen"] if e["type"] == "order.paid" else -e["amount_fen"] for e in events)}


def wait_caught_up(settings: Settings, sessions, unique_events: int, timeout_s: float = 300, echo=click.echo) -> None:
    store = open_store(settings)
    deadline = time.monotonic() + timeout_s
    shown = None
    while True:
        (stored,) = store.query("SELECT uniqExact(event_id) FROM {db}.sales_events WHERE campaign = %(c)s",
                                {"c": CAMPAIGN_SLUG})[0]
        if stored >= unique_events:
            break
        if time.monotonic() > deadline:
            raise click.ClickException(f"等待写入超时：已写入 {stored}/{unique_events}")
        if stored != shown:  # one line per step forward, not one per second
            echo(f"  等待写入分析库：{stored}/{unique_events}")
            shown = stored
        time.sleep(1)
    publish_all(sessions, store)  # publish now rather than wait for the next tick


def print_tables(sessions) -> None:
    for board, title in (("hosts", "十大电商达人（活动累计）"), ("enterprises", "十佳电商企业（活动累计）")):
        snap = snapshots.latest(sessions, CAMPAIGN_SLUG, board, "campaign", CAMPAIGN_SLUG)
        print_board(title, snap.entries if snap else [])
