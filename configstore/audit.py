"""The audit log: every change to organizer configuration, who made it, when, before and after.

Entries are written by SQLAlchemy mapper events during the flush, in the same transaction as the change,
so no code path (API, console, CLI, import) can change an audited table without leaving an
entry, and a rolled-back change leaves none. The actor comes from `acting_as(...)`, which the
HTTP layers and the CLI wrap around their work; anything else is recorded as "system".
Secrets and password hashes are never written: a fingerprint shows that they changed.

For people (the console's audit page): `search` filters by who, what and when (Beijing days) and
pages; `readable` turns an entry into Chinese: the action, the object ("主播 H100"), and the fields
that changed with their values as people read them (Beijing time, 元, 是/否, names for codes).
"""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterator

from sqlalchemy import JSON, DateTime, Integer, String, event, func, insert, inspect, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from configstore.db import Base, table_of
from domain.boards import PLATFORM_NAMES_ZH
from domain.periods import SHANGHAI
from domain.regions import XIANGXI_COUNTIES

_actor: ContextVar[str] = ContextVar("liveboard_audit_actor", default="system")

# Audited tables -> (columns shown as a fingerprint, columns ignored: bookkeeping, not a change)
AUDITED: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "campaigns": (frozenset(), frozenset()),
    "hosts": (frozenset(), frozenset()),
    "host_accounts": (frozenset(), frozenset()),
    "host_enterprises": (frozenset(), frozenset()),
    "enterprises": (frozenset(), frozenset()),
    "enterprise_accounts": (frozenset(), frozenset()),
    "disqualifications": (frozenset(), frozenset()),
    "webhook_sources": (frozenset(), frozenset()),
    "webhook_secrets": (frozenset({"secret"}), frozenset()),
    "regions": (frozenset(), frozenset()),
    "service_stations": (frozenset(), frozenset()),
    "users": (frozenset({"password_hash"}), frozenset({"last_login_at", "session_epoch"})),
    "api_tokens": (frozenset({"token_hash"}), frozenset({"last_used_at"})),
    "award_lists": (frozenset(), frozenset()),
    "award_items": (frozenset(), frozenset()),
    "award_reviews": (frozenset(), frozenset()),
    "station_scores": (frozenset(), frozenset()),
    "region_targets": (frozenset(), frozenset()),
    "host_bind_codes": (frozenset({"code_hash"}), frozenset()),
    "host_bindings": (frozenset(), frozenset()),
    "connector_connections": (frozenset({"credentials"}), frozenset({"updated_at"})),
}


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(16))  # create|update|delete
    target_type: Mapped[str] = mapped_column(String(64), index=True)  # the table
    target_id: Mapped[str] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """Every audited change inside the block is recorded as made by `actor`."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor() -> str:
    return _actor.get()


def fingerprint(value: Any) -> str | None:
    if value is None:
        return None
    return "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()[:12]


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    return value


def _states(obj) -> tuple[dict[str, Any], dict[str, Any]]:
    """(before, after) of every column, from the attribute history the flush has not reset yet."""
    state = inspect(obj)
    hidden, _ignored = AUDITED[state.mapper.local_table.name]
    before, after = {}, {}
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        now = state.dict.get(attr.key)
        was = history.deleted[0] if history.deleted else now
        if attr.key in hidden:
            was, now = fingerprint(was), fingerprint(now)
        before[attr.key], after[attr.key] = _json(was), _json(now)
    return before, after


def _target_id(obj) -> str:
    state = inspect(obj)
    return "/".join(str(state.dict.get(col.key)) for col in state.mapper.primary_key)


def _audited(obj) -> bool:
    return getattr(getattr(obj, "__table__", None), "name", None) in AUDITED


def _write(connection, action: str, target, before, after) -> None:
    connection.execute(insert(table_of(AuditEntry)).values(
        at=datetime.now(timezone.utc), actor=_actor.get(), action=action, target_type=target.__table__.name,
        target_id=_target_id(target), before=before, after=after))


# Mapper events fire for every row the flush writes, including rows deleted by a cascade
# (e.g. a host's replaced accounts), which Session.deleted never lists.
@event.listens_for(Base, "after_insert", propagate=True)
def _inserted(_mapper, connection, target) -> None:
    if _audited(target):
        _write(connection, "create", target, None, _states(target)[1])


@event.listens_for(Base, "after_update", propagate=True)
def _updated(_mapper, connection, target) -> None:
    if _audited(target):
        before, after = _states(target)
        ignored = AUDITED[target.__table__.name][1]
        if any(before[k] != after[k] for k in before if k not in ignored):
            _write(connection, "update", target, before, after)


@event.listens_for(Base, "after_delete", propagate=True)
def _deleted(_mapper, connection, target) -> None:
    if _audited(target):
        _write(connection, "delete", target, _states(target)[0], None)


def record(session: Session, action: str, table: str, target_id: str, before: dict[str, Any] | None,
           after: dict[str, Any] | None) -> None:
    """An entry for a change made by an SQL statement rather than through the ORM (no mapper event
    sees those), written in the caller's transaction like the others."""
    if table not in AUDITED:
        raise ValueError(f"{table} is not an audited table")
    session.execute(insert(table_of(AuditEntry)).values(
        at=datetime.now(timezone.utc), actor=_actor.get(), action=action, target_type=table, target_id=target_id,
        before=_json(before), after=_json(after)))


def list_entries(factory: sessionmaker[Session], *, limit: int = 100, before_id: int | None = None,
                 target_type: str | None = None, target_id: str | None = None) -> list[dict[str, Any]]:
    """Newest first; page with before_id (the smallest id of the previous page)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, min(limit, 500)))
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    if target_type:
        query = query.where(AuditEntry.target_type == target_type)
    if target_id:
        query = query.where(AuditEntry.target_id == target_id)
    with factory() as session:
        return [_entry_dict(e) for e in session.scalars(query).all()]


# -- for people ---------------------------------------------------------------------------------
ACTION_NAMES_ZH = {"create": "新建", "update": "修改", "delete": "删除"}
TABLE_NAMES_ZH = {
    "campaigns": "活动", "hosts": "主播", "host_accounts": "主播平台账号", "host_enterprises": "主播所属企业",
    "enterprises": "企业", "enterprise_accounts": "企业平台账号", "disqualifications": "取消资格",
    "webhook_sources": "数据来源", "webhook_secrets": "数据来源密钥", "regions": "区划", "service_stations": "服务站点",
    "users": "用户", "api_tokens": "API 令牌", "award_lists": "奖项名单", "award_items": "奖项名单条目",
    "award_reviews": "评审记录", "station_scores": "服务站评分", "region_targets": "年度目标",
}
COLUMN_NAMES_ZH = {
    "id": "编号", "slug": "活动代码", "name": "名称", "starts_at": "开始日期", "ends_at": "结束日期",
    "status": "状态", "freeze_at": "封榜时间", "boards": "展示的榜单", "created_at": "创建时间", "county": "县市",
    "host_id": "主播", "enterprise_id": "企业", "platform": "平台", "account_id": "账号",
    "credit_code": "统一社会信用代码", "tax_compliant": "依法纳税", "campaign_slug": "活动", "kind": "类型",
    "participant_id": "参与者编号", "reason": "原因", "description": "说明", "revoked_at": "吊销时间",
    "source_id": "数据来源", "secret": "密钥", "code": "区划代码", "level": "级别", "parent_code": "上级区划",
    "region_code": "区划", "username": "用户名", "password_hash": "密码", "role": "角色", "active": "启用",
    "last_login_at": "最近登录", "session_epoch": "会话版本", "user_id": "用户", "token_hash": "令牌",
    "hint": "令牌开头", "last_used_at": "最近使用", "scope": "范围", "scope_key": "活动或年份", "version": "版本",
    "state": "状态", "params": "计算参数", "notice_start": "公示开始", "notice_end": "公示结束", "based_on_id": "基于版本",
    "computed_at": "计算时间", "created_by": "创建人", "frozen_at": "冻结时间", "finalized_at": "定稿时间",
    "list_id": "名单", "position": "序号", "category": "类别", "amount_fen": "奖励金额", "metric_fen": "业绩",
    "detail": "明细", "included": "入选", "adjusted": "已调整", "adjustment_reason": "调整原因",
    "adjusted_by": "调整人", "item_id": "名单条目", "step": "评审环节", "decision": "结论", "reviewer": "评审人",
    "note": "备注", "at": "时间", "station_id": "服务站点", "year": "年份", "quality_score": "服务质量评分",
    "volume_fen": "交易额", "annual_target_fen": "年度目标",
}
_VALUE_NAMES_ZH = {
    "status": {"draft": "草稿", "active": "进行中", "frozen": "已封榜", "closed": "已结束"},
    "role": {"admin": "管理员", "operator": "运营", "viewer": "只读"},
    "level": {"prefecture": "州", "county": "县市", "township": "乡镇", "village": "村"},
    "boards": {"hosts": "主播榜", "enterprises": "企业榜"},
    "scope": {"campaign": "活动", "year": "年度"},
    "decision": {"approved": "通过", "rejected": "不通过"},
    "platform": PLATFORM_NAMES_ZH,
    "county": XIANGXI_COUNTIES,
}
_KIND_NAMES_ZH = {  # "kind" means something else in each table
    "disqualifications": {"host": "主播", "enterprise": "企业"},
    "service_stations": {"county_centre": "县级运营中心", "township_station": "乡镇服务站", "village_point": "村级服务点"},
    "award_lists": {"top_enterprises": "十佳电商企业", "top_influencers": "十大电商达人", "sales_milestone": "销售额奖励",
                    "station_rating": "服务站点评定"},
}
_STATE_NAMES_ZH = {"draft": "草稿", "frozen": "已冻结", "notice": "公示中", "final": "已定稿"}
_BOOKKEEPING = {"session_epoch"}  # never worth showing
_SAID_BY_THE_ENTRY = {"id", "created_at"}  # a new row's own id and creation time: the entry shows both
HIDDEN_VALUE = "（已更改，内容不显示）"


def _beijing(value: str) -> str | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _campaign_day(value: str, *, last: bool) -> str:
    """A campaign runs whole Beijing days: its start is the first day, its (exclusive) end the day after the last."""
    try:
        moment = datetime.fromisoformat(value).astimezone(SHANGHAI)
    except ValueError:
        return value
    return (moment - timedelta(seconds=1) if last else moment).date().isoformat()


def _shorten(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def display_value(table: str, column: str, value: Any) -> str:
    """One stored value as people read it."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str) and value.startswith("sha256:") and column in AUDITED.get(table, (frozenset(),))[0]:
        return HIDDEN_VALUE
    if table == "campaigns" and column in ("starts_at", "ends_at") and isinstance(value, str):
        return _campaign_day(value, last=column == "ends_at")
    if column.endswith("_fen") and isinstance(value, int):
        whole, fen = divmod(abs(value), 100)
        return f"{'-' if value < 0 else ''}{whole:,}.{fen:02d} 元"
    if column == "kind" and table in _KIND_NAMES_ZH:
        return _KIND_NAMES_ZH[table].get(value, str(value))
    if column == "state":
        return _STATE_NAMES_ZH.get(value, str(value))
    names = _VALUE_NAMES_ZH.get(column)
    if isinstance(value, list):
        return _shorten("、".join(display_value(table, column, v) for v in value))
    if isinstance(value, dict):
        return _shorten("；".join(f"{COLUMN_NAMES_ZH.get(k, k)}：{display_value(table, k, v)}" for k, v in value.items()))
    if isinstance(value, str) and names and value in names:
        return f"{names[value]}" if column != "county" else f"{names[value]}（{value}）"
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and "T" in value:
        shown = _beijing(value)
        if shown:
            return shown
    if isinstance(value, int):
        return str(value) if column in ("id", "year", "version", "position") or column.endswith("_id") else f"{value:,}"
    return str(value)


def _object_label(entry: dict[str, Any]) -> str:
    """What the entry is about, in words: "主播 H100", "H100 的抖音账号 dy-100"."""
    table, values = entry["target_type"], entry["after"] or entry["before"] or {}
    kind = TABLE_NAMES_ZH.get(table, table)
    if table in ("host_accounts", "enterprise_accounts"):
        owner = values.get("host_id") or values.get("enterprise_id")
        platform = PLATFORM_NAMES_ZH.get(str(values.get("platform")), values.get("platform"))
        return f"{kind}：{owner} 的{platform}账号 {values.get('account_id')}"
    if table == "host_enterprises":
        return f"{kind}：主播 {values.get('host_id')} → 企业 {values.get('enterprise_id')}"
    if table == "webhook_secrets":
        return f"{kind}：来源 #{values.get('source_id')} 的第 {entry['target_id']} 号密钥"
    if table == "disqualifications":
        return f"{kind}：活动 {values.get('campaign_slug')} 的 {values.get('participant_id')}"
    if table == "region_targets":
        return f"{kind}：区划 {values.get('region_code')} {values.get('year')} 年"
    if table == "api_tokens":
        return f"{kind}：{values.get('name')}（{values.get('hint')}…）"
    label = values.get("username") or values.get("slug") or values.get("name")
    if table in ("hosts", "enterprises", "regions") and values.get("name"):
        return f"{kind} {entry['target_id']} {values['name']}"
    return f"{kind} {label}" if label and label != entry["target_id"] else f"{kind} {entry['target_id']}"


def changes(entry: dict[str, Any]) -> list[dict[str, str]]:
    """The fields an entry touched: changed ones for an update, the set ones for a create or delete."""
    table, before, after = entry["target_type"], entry["before"] or {}, entry["after"] or {}
    ignored = AUDITED.get(table, (frozenset(), frozenset()))[1] | _BOOKKEEPING
    if entry["action"] != "update":
        ignored |= _SAID_BY_THE_ENTRY
    rows = []
    for column in (after or before):
        if column in ignored:
            continue
        old, new = before.get(column), after.get(column)
        if entry["action"] == "update" and old == new:
            continue
        if entry["action"] != "update" and (old if entry["action"] == "delete" else new) in (None, "", []):
            continue
        rows.append({"field": column, "name": COLUMN_NAMES_ZH.get(column, column),
                     "before": display_value(table, column, old) if entry["action"] != "create" else "",
                     "after": display_value(table, column, new) if entry["action"] != "delete" else ""})
    return rows


def readable(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry of list_entries/search, in Chinese, for the console."""
    at = datetime.fromisoformat(entry["at"]) if isinstance(entry["at"], str) else entry["at"]
    actor = entry["actor"]
    actor_zh = ("系统" if actor == "system" else f"命令行（{actor[4:]}）" if actor.startswith("cli:") else actor)
    return {**entry, "at_beijing": at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"), "actor_zh": actor_zh,
            "action_zh": ACTION_NAMES_ZH.get(entry["action"], entry["action"]),
            "object_zh": TABLE_NAMES_ZH.get(entry["target_type"], entry["target_type"]),
            "object_label": _object_label(entry), "changes": changes(entry)}


def _day_start_utc(day: date) -> datetime:
    return datetime.combine(day, time(0), SHANGHAI).astimezone(timezone.utc)


def _entry_dict(e: AuditEntry) -> dict[str, Any]:
    return {"id": e.id, "at": _json(e.at), "actor": e.actor, "action": e.action, "target_type": e.target_type,
            "target_id": e.target_id, "before": e.before, "after": e.after}


def search(factory: sessionmaker[Session], *, actor: str | None = None, target_type: str | None = None,
           target_id: str | None = None, action: str | None = None, first_day: date | None = None,
           last_day: date | None = None, page: int = 1, per_page: int = 50) -> tuple[list[dict[str, Any]], int]:
    """One page of entries (newest first) matching every filter given, and how many match in all.

    first_day / last_day are Beijing calendar days, inclusive; target_id matches a part of the id.
    """
    conditions = []
    if actor:
        conditions.append(AuditEntry.actor == actor)
    if target_type:
        conditions.append(AuditEntry.target_type == target_type)
    if target_id:
        conditions.append(AuditEntry.target_id.contains(target_id, autoescape=True))
    if action:
        conditions.append(AuditEntry.action == action)
    if first_day:
        conditions.append(AuditEntry.at >= _day_start_utc(first_day))
    if last_day:
        conditions.append(AuditEntry.at < _day_start_utc(last_day + timedelta(days=1)))
    per_page = max(1, min(per_page, 500))
    with factory() as session:
        total = session.scalar(select(func.count()).select_from(AuditEntry).where(*conditions)) or 0
        rows = session.scalars(select(AuditEntry).where(*conditions).order_by(AuditEntry.id.desc())
                               .offset((max(1, page) - 1) * per_page).limit(per_page)).all()
        return [_entry_dict(e) for e in rows], int(total)


def actors(factory: sessionmaker[Session]) -> list[str]:
    """Everyone who has changed something (for the filter)."""
    with factory() as session:
        return sorted(session.scalars(select(AuditEntry.actor).distinct()).all())
