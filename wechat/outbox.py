"""Transactional outbox for subscribe messages.

Enqueue in the same DB transaction as the business change (``enqueue_push``), deliver
from any number of workers (``deliver_pending``).

Crash-safety / exactly-once design
----------------------------------
Each row moves ``pending -> sending -> sent | no_credit | failed`` (or back to
``pending`` with a backoff). Delivery of one row is three short steps:

1. **Claim** (one transaction): compare-and-set ``pending -> sending`` with a fresh
   ``claim_token`` and ``lease_until = now + lease``, and in the same transaction
   reserve one subscribe credit (``credits = credits - 1 WHERE credits > 0``). Two
   workers can never both claim a row: only one UPDATE matches.
2. **Send**: the HTTP call to WeChat, outside any transaction.
3. **Finish** (one transaction, immediately after the call returns): mark ``sent``
   (or release with a backoff and refund the credit), fenced by ``claim_token`` so a
   worker that lost its lease cannot overwrite the new owner's outcome.

A crash before step 1 commits leaves the row ``pending``: the next run sends it. A
crash between 1 and 3 leaves it ``sending``; after the lease lapses the next run
re-claims it (keeping its credit reservation) and sends it. Therefore a row is never
lost, and it is sent twice only if the process dies (or stalls past the lease) in the
window *after WeChat accepted the message and before step 3 commits* -- that window is
the single at-least-once gap. It is kept to one small UPDATE by committing step 3
right after the HTTP call, and the lease (60 s) is far longer than the HTTP timeout
(10 s, enforced) so a live worker never loses its lease mid-call. Ambiguous transport
failures (read timeout, connection reset) fall into the same gap and are retried.
"""
from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from configstore.db import affected, transaction
from configstore.wechat_models import (
    OutboxStatus,
    PushOutbox,
    SubscribeCredit,
    WeChatUser,
    dialect_insert,
    utcnow,
)
from domain.redact import mask_openid
from wechat.errors import (
    NoSubscriptionCredit,
    RateLimited,
    TokenUnavailable,
    WeChatError,
    WeChatTransportError,
)
from wechat.templates import build_data

log = logging.getLogger(__name__)

NO_CREDIT_MESSAGE = "用户未订阅该消息或订阅次数已用完"


# -- enqueue / credits --------------------------------------------------------------


def _normalise_data(data: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Accept either WeChat's payload shape or plain values (then fitted via build_data)."""
    if all(isinstance(v, Mapping) and "value" in v for v in data.values()):
        return {k: {"value": str(v["value"])} for k, v in data.items()}
    return build_data(data)


def enqueue_push(
    session: Session,
    user_id: int,
    template_id: str,
    data: Mapping[str, Any],
    dedupe_key: str,
    page: str | None = None,
    *,
    now: datetime | None = None,
) -> bool:
    """Add a message to the outbox inside the caller's transaction.

    Idempotent by ``dedupe_key``: returns False (and changes nothing) when a row with
    that key already exists. Uses ``INSERT ... ON CONFLICT DO NOTHING`` so the
    caller's transaction is never poisoned by a unique violation.
    """
    now = now or utcnow()
    values = dict(
        user_id=user_id,
        template_id=template_id,
        data=_normalise_data(data),
        page=page,
        dedupe_key=dedupe_key,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    stmt = dialect_insert(session, PushOutbox)
    if stmt is not None:
        res = session.execute(stmt.values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"]))
        return affected(res) == 1
    # generic fallback (other dialects): check, then insert
    if session.scalar(select(PushOutbox.id).where(PushOutbox.dedupe_key == dedupe_key)) is not None:
        return False
    session.execute(insert(PushOutbox).values(**values))
    return True


def add_subscribe_credits(session: Session, user_id: int, template_id: str, n: int = 1,
                          *, now: datetime | None = None) -> None:
    """Record that the user accepted ``n`` one-time subscriptions for a template
    (``wx.requestSubscribeMessage`` answered ``accept``)."""
    if n <= 0:
        raise ValueError("n must be positive")
    now = now or utcnow()
    stmt = dialect_insert(session, SubscribeCredit)
    if stmt is not None:
        stmt = stmt.values(user_id=user_id, template_id=template_id, credits=n, updated_at=now)
        session.execute(stmt.on_conflict_do_update(
            index_elements=["user_id", "template_id"],
            set_={"credits": SubscribeCredit.credits + n, "updated_at": now},
        ))
        return
    res = session.execute(
        update(SubscribeCredit)
        .where(SubscribeCredit.user_id == user_id, SubscribeCredit.template_id == template_id)
        .values(credits=SubscribeCredit.credits + n, updated_at=now)
    )
    if affected(res) == 0:
        session.add(SubscribeCredit(user_id=user_id, template_id=template_id, credits=n, updated_at=now))
        session.flush()


def get_credits(session: Session, user_id: int, template_id: str) -> int:
    return session.scalar(
        select(SubscribeCredit.credits)
        .where(SubscribeCredit.user_id == user_id, SubscribeCredit.template_id == template_id)
    ) or 0


# -- delivery ------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    sent: int = 0
    no_credit: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0  # claimed by another worker, or deferred (credit in flight)
    rate_limited: bool = False


@dataclass(frozen=True)
class _Claimed:
    id: int
    claim_token: str
    attempts: int
    user_id: int
    openid: str
    template_id: str
    data: dict[str, Any]
    page: str | None


class _Defer(Exception):
    """Roll back the claim transaction and leave the row as it was."""


def deliver_pending(
    session_factory: sessionmaker[Session],
    client: Any,
    now: datetime | None = None,
    limit: int = 100,
    *,
    lease_seconds: float = 60.0,
    max_attempts: int = 8,
    backoff_base: float = 30.0,
    backoff_max: float = 3600.0,
    jitter: float = 0.0,
    miniprogram_state: str | None = None,
) -> DeliveryReport:
    """Send due outbox rows (pending and due, or 'sending' with a lapsed lease).

    ``client`` is a :class:`wechat.adapter.WeChatClient` (anything with
    ``send_subscribe_message``). Safe to run concurrently from threads/processes.
    """
    now = now or utcnow()
    http_timeout = getattr(client, "timeout", None)
    if http_timeout is not None and http_timeout >= lease_seconds:
        raise ValueError("lease_seconds must be longer than the client's HTTP timeout")
    lease = timedelta(seconds=lease_seconds)
    report = DeliveryReport()

    with session_factory() as s:
        ids = list(s.scalars(
            select(PushOutbox.id)
            .where(or_(
                and_(PushOutbox.status == OutboxStatus.PENDING, PushOutbox.next_attempt_at <= now),
                and_(PushOutbox.status == OutboxStatus.SENDING, PushOutbox.lease_until < now),
            ))
            .order_by(PushOutbox.next_attempt_at, PushOutbox.id)
            .limit(limit)
        ))

    def backoff(attempts: int) -> datetime:
        delay = min(backoff_max, backoff_base * (2 ** max(0, attempts - 1)))
        if jitter:
            delay *= 1 + random.uniform(-jitter, jitter)
        return now + timedelta(seconds=delay)

    for row_id in ids:
        try:
            claimed = _claim(session_factory, row_id, now, lease, max_attempts, report)
        except _Defer:
            report.skipped += 1
            continue
        if claimed is None:
            continue

        try:
            result = client.send_subscribe_message(
                claimed.openid, claimed.template_id, claimed.data,
                page=claimed.page, miniprogram_state=miniprogram_state,
            )
        except NoSubscriptionCredit as exc:
            if _finish(session_factory, claimed, status=OutboxStatus.NO_CREDIT, error=_err(exc),
                       credit="zero"):
                report.no_credit += 1
            continue
        except (RateLimited, TokenUnavailable) as exc:
            if _finish(session_factory, claimed, status=OutboxStatus.PENDING, error=_err(exc),
                       credit="refund", next_attempt_at=backoff(claimed.attempts)):
                report.retried += 1
            report.rate_limited = isinstance(exc, RateLimited)
            log.warning("outbox: %s, stopping this run", type(exc).__name__)
            break
        except Exception as exc:  # WeChatError, transport errors, unexpected bugs
            permanent = isinstance(exc, WeChatError) and exc.permanent
            if permanent or claimed.attempts >= max_attempts:
                if _finish(session_factory, claimed, status=OutboxStatus.FAILED, error=_err(exc),
                           credit="refund"):
                    report.failed += 1
            elif _finish(session_factory, claimed, status=OutboxStatus.PENDING, error=_err(exc),
                         credit="refund", next_attempt_at=backoff(claimed.attempts)):
                report.retried += 1
            if not isinstance(exc, WeChatError):
                log.exception("outbox: unexpected error delivering row %s", claimed.id)
            continue

        msgid = result.get("msgid") if isinstance(result, dict) else None
        if _finish(session_factory, claimed, status=OutboxStatus.SENT, error=None, credit="keep",
                   sent_at=now, msgid=None if msgid is None else str(msgid)):
            report.sent += 1
    return report


def _err(exc: BaseException) -> str:
    if isinstance(exc, WeChatError):
        text = f"{type(exc).__name__}: errcode={exc.errcode} {exc.errmsg}"
        if isinstance(exc, NoSubscriptionCredit):
            text = f"{NO_CREDIT_MESSAGE} ({text})"
        if isinstance(exc, WeChatTransportError) and exc.ambiguous:
            text += " (结果未知，可能已送达)"
        return text[:1000]
    return f"{type(exc).__name__}: {exc}"[:1000]


def _claim(factory: sessionmaker[Session], row_id: int, now: datetime, lease: timedelta,
           max_attempts: int, report: DeliveryReport) -> _Claimed | None:
    token = uuid.uuid4().hex
    claim_values = dict(status=OutboxStatus.SENDING, claim_token=token, lease_until=now + lease,
                        attempts=PushOutbox.attempts + 1)
    with transaction(factory) as s:
        # fresh claim: pending and due (first statement is a write: takes SQLite's write lock)
        res = s.execute(
            update(PushOutbox)
            .where(PushOutbox.id == row_id, PushOutbox.status == OutboxStatus.PENDING,
                   PushOutbox.next_attempt_at <= now)
            .values(**claim_values)
        )
        fresh = affected(res) == 1
        if not fresh:
            # re-claim: a previous worker died (or stalled) while sending; it keeps its credit
            res = s.execute(
                update(PushOutbox)
                .where(PushOutbox.id == row_id, PushOutbox.status == OutboxStatus.SENDING,
                       PushOutbox.lease_until < now)
                .values(**claim_values)
            )
            if affected(res) != 1:
                report.skipped += 1
                return None  # another worker has it, or it is done
        row = s.execute(
            select(PushOutbox.user_id, PushOutbox.template_id, PushOutbox.data, PushOutbox.page,
                   PushOutbox.attempts, WeChatUser.openid)
            .join(WeChatUser, WeChatUser.id == PushOutbox.user_id)
            .where(PushOutbox.id == row_id)
        ).one()
        user_id, template_id, data, page, attempts, openid = row

        if fresh:
            reserved = affected(s.execute(
                update(SubscribeCredit)
                .where(SubscribeCredit.user_id == user_id, SubscribeCredit.template_id == template_id,
                       SubscribeCredit.credits > 0)
                .values(credits=SubscribeCredit.credits - 1, updated_at=now))) == 1
            if not reserved:
                in_flight = s.scalar(
                    select(func.count()).select_from(PushOutbox)
                    .where(PushOutbox.user_id == user_id, PushOutbox.template_id == template_id,
                           PushOutbox.status == OutboxStatus.SENDING, PushOutbox.id != row_id)
                )
                if in_flight:
                    # a concurrent send holds the last credit and may refund it: decide later
                    raise _Defer()
                s.execute(
                    update(PushOutbox).where(PushOutbox.id == row_id)
                    .values(status=OutboxStatus.NO_CREDIT, claim_token=None, lease_until=None,
                            attempts=PushOutbox.attempts - 1, last_error=NO_CREDIT_MESSAGE)
                )
                report.no_credit += 1
                log.info("outbox: row %s no credit openid=%s template=%s",
                         row_id, mask_openid(openid), template_id)
                return None
        elif attempts > max_attempts:
            s.execute(
                update(PushOutbox).where(PushOutbox.id == row_id)
                .values(status=OutboxStatus.FAILED, claim_token=None, lease_until=None,
                        last_error="发送中断（租约过期）且已超过最大重试次数")
            )
            _refund(s, user_id, template_id, now)
            report.failed += 1
            return None
        else:
            log.warning("outbox: re-claiming row %s after lapsed lease (possible duplicate send)", row_id)
    return _Claimed(row_id, token, attempts, user_id, openid, template_id, data, page)


def _refund(s: Session, user_id: int, template_id: str, now: datetime) -> None:
    s.execute(
        update(SubscribeCredit)
        .where(SubscribeCredit.user_id == user_id, SubscribeCredit.template_id == template_id)
        .values(credits=SubscribeCredit.credits + 1, updated_at=now)
    )


def _finish(factory: sessionmaker[Session], c: _Claimed, *, status: str, error: str | None,
            credit: str, next_attempt_at: datetime | None = None, sent_at: datetime | None = None,
            msgid: str | None = None) -> bool:
    """Record the outcome, fenced by the claim token. False when the claim was lost."""
    values: dict[str, Any] = dict(status=status, claim_token=None, lease_until=None, last_error=error)
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    if sent_at is not None:
        values["sent_at"] = sent_at
    if msgid is not None:
        values["wechat_msgid"] = msgid
    with transaction(factory) as s:
        res = s.execute(
            update(PushOutbox)
            .where(PushOutbox.id == c.id, PushOutbox.status == OutboxStatus.SENDING,
                   PushOutbox.claim_token == c.claim_token)
            .values(**values)
        )
        if affected(res) != 1:
            log.warning("outbox: lost the claim on row %s before recording %s", c.id, status)
            return False
        now = utcnow()
        if credit == "refund":
            _refund(s, c.user_id, c.template_id, now)
        elif credit == "zero":
            s.execute(
                update(SubscribeCredit)
                .where(SubscribeCredit.user_id == c.user_id, SubscribeCredit.template_id == c.template_id)
                .values(credits=0, updated_at=now)
            )
    log.info("outbox: row %s -> %s openid=%s template=%s", c.id, status, mask_openid(c.openid), c.template_id)
    return True
