"""Applications for the rewards that are applied for (domain.catalogue), with evidence and review.

Flow (clause 二十 of 州政办发〔2018〕25号), one step each, with who, when, a decision and a note:

  待县市区初审 submitted --县市区初审 county_prereview--> county_passed
  --州开放型经济领导小组办公室审核 prefecture_office--> office_passed --专家评审 expert_review--> expert_passed
  --州政府审定 government_approval--> approved (已审定，待支付: a ledger entry, charged to the fund)
  --资金兑付 payment--> paid

A "not approved" decision at any step ends it (rejected). At the approval "同类型奖励、补助就高不就低，
不重复计算" is applied against the recipient's ledger (computed awards included): a reward the
recipient already holds (or one worth less than what it holds in the group) is superseded and pays
nothing; a higher one pays the difference; lower applications of the same group still in review are
superseded by it. An approval that takes the fund past its budget needs the approver's explicit
confirmation, recorded in the step's note.

Who may record each step is checked by services.applications (roles and counties); this module
keeps the order, the rules and the data. Every table is audited (the evidence's bytes as a
fingerprint).
"""
from __future__ import annotations

import hashlib
import io
import re
import zipfile
from datetime import date, datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker, undefer

from configstore import ledger
from configstore.audit import current_actor
from configstore.award_models import Application, ApplicationFile, ApplicationStep
from configstore.db import as_utc, transaction
from configstore.errors import ConfigError, Conflict, NotFound
from configstore.models import Enterprise
from domain.budget import approval_warning
from domain.catalogue import CATALOGUE, Basis, Recipient, reward
from domain.ledger import same_type_outcome
from domain.money import format_yuan
from domain.regions import XIANGXI_COUNTIES

STEPS = ("county_prereview", "prefecture_office", "expert_review", "government_approval", "payment")
STEP_NAMES_ZH = {"county_prereview": "县市区初审", "prefecture_office": "州开放型经济领导小组办公室审核",
                 "expert_review": "专家评审", "government_approval": "州政府审定", "payment": "资金兑付"}
# The step that moves an application on from each state, and the state it reaches when approved.
NEXT_STEP = {"submitted": "county_prereview", "county_passed": "prefecture_office", "office_passed": "expert_review",
             "expert_passed": "government_approval", "approved": "payment"}
AFTER_STEP = {"county_prereview": "county_passed", "prefecture_office": "office_passed",
              "expert_review": "expert_passed", "government_approval": "approved", "payment": "paid"}
STATE_NAMES_ZH = {"submitted": "待县市区初审", "county_passed": "待州开放型经济领导小组办公室审核",
                  "office_passed": "待专家评审", "expert_passed": "待州政府审定", "approved": "已审定，待支付",
                  "paid": "已支付", "rejected": "未通过", "superseded": "同类型就高不就低，不予重复计算",
                  "revoked": "已撤销"}
IN_REVIEW = ("submitted", "county_passed", "office_passed", "expert_passed")
DECISIONS = {"approved": "通过", "rejected": "不通过"}
# Who records each step: the least role, and whether a county user (of the application's county) may.
STEP_ROLES = {"county_prereview": ("operator", True), "prefecture_office": ("operator", False),
              "expert_review": ("operator", False), "government_approval": ("admin", False),
              "payment": ("admin", False)}

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES = 20
# extension -> (content type, the bytes a real file of that type starts with)
FILE_TYPES = {
    ".pdf": ("application/pdf", b"%PDF-"),
    ".jpg": ("image/jpeg", b"\xff\xd8\xff"),
    ".jpeg": ("image/jpeg", b"\xff\xd8\xff"),
    ".png": ("image/png", b"\x89PNG\r\n\x1a\n"),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK\x03\x04"),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", b"PK\x03\x04"),
}
FILE_TYPES_ZH = "PDF、JPG、PNG、XLSX、DOCX"
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def _step_dict(s: ApplicationStep) -> dict:
    return {"step": s.step, "step_name": STEP_NAMES_ZH[s.step], "decision": s.decision,
            "decision_name": DECISIONS[s.decision], "actor": s.actor, "note": s.note, "at": _iso(s.at)}


def _file_dict(f: ApplicationFile) -> dict:
    return {"id": f.id, "filename": f.filename, "content_type": f.content_type, "size_bytes": f.size_bytes,
            "sha256": f.sha256, "uploaded_by": f.uploaded_by, "uploaded_at": _iso(f.uploaded_at)}


def application_dict(a: Application, *, detail: bool = True) -> dict:
    r = reward(a.reward_code)
    data = {"id": a.id, "reward_code": a.reward_code, "reward_name": r.name, "clause": r.clause, "group": r.group,
            "group_name": r.group_name, "catalogue_amount_fen": r.amount_fen, "funding": r.funding.value,
            "funding_name": r.funding.label, "year": a.year, "recipient_kind": a.recipient_kind,
            "recipient_id": a.recipient_id, "recipient_name": a.recipient_name, "county_code": a.county_code,
            "county_name": XIANGXI_COUNTIES.get(a.county_code, a.county_code), "summary": a.summary,
            "requested_amount_fen": a.requested_amount_fen, "amount_fen": a.amount_fen, "state": a.state,
            "state_name": STATE_NAMES_ZH[a.state], "next_step": NEXT_STEP.get(a.state),
            "next_step_name": STEP_NAMES_ZH.get(NEXT_STEP.get(a.state, ""), None),
            "decision_note": a.decision_note, "superseded_by_id": a.superseded_by_id,
            "ledger_entry_id": a.ledger_entry_id, "created_at": _iso(a.created_at), "created_by": a.created_by}
    if detail:
        data["steps"] = [_step_dict(s) for s in a.steps]
        data["files"] = [_file_dict(f) for f in a.files]
    return data


def _get(session: Session, application_id: int) -> Application:
    row = session.get(Application, application_id)
    if row is None:
        raise NotFound("application_not_found", f"申报 {application_id} 不存在")
    return row


def county_of(factory: sessionmaker[Session], application_id: int) -> str:
    """The application's county (for the caller's county check), or NotFound."""
    with factory() as session:
        return _get(session, application_id).county_code


def create(factory: sessionmaker[Session], *, reward_code: str, year: int, recipient_id: str,
           recipient_name: str = "", county_code: str = "", summary: str = "",
           requested_amount_fen: int | None = None) -> dict:
    """A new application (待县市区初审). Enterprises must be registered (their county comes from the
    registry); a county applies for itself; an organisation gives its own id (e.g. its credit code),
    name and county."""
    r = CATALOGUE.get(reward_code)
    if r is None:
        raise ConfigError("invalid_reward", f"奖励项目 {reward_code} 不在奖补目录中")
    if r.basis is not Basis.APPLICATION:
        raise ConfigError("reward_not_applied_for", f"“{r.name}”按{r.basis.label}产生，无需申报")
    if isinstance(year, bool) or not isinstance(year, int) or not 2018 <= year <= 2100:
        raise ConfigError("invalid_year", "申报年度应为 2018 年（政策施行）以后的四位年份")
    if r.amount_fen is not None and requested_amount_fen is not None and requested_amount_fen != r.amount_fen:
        raise ConfigError("fixed_amount", f"“{r.name}”的金额由政策规定为{format_yuan(r.amount_fen)}，不能另填")
    if not r.fixed and (requested_amount_fen is None or requested_amount_fen <= 0):
        raise ConfigError("amount_required", f"“{r.name}”的金额由当地财政确定，请填写申请金额（分，大于 0）")
    recipient_id, recipient_name = (recipient_id or "").strip(), (recipient_name or "").strip()
    with transaction(factory) as session:
        if r.recipient is Recipient.ENTERPRISE:
            enterprise = session.get(Enterprise, recipient_id)
            if enterprise is None:
                raise NotFound("participant_not_found", f"企业 {recipient_id} 未登记：请先在“主播与企业”中导入该企业")
            recipient_name, county_code = enterprise.name, enterprise.county
        elif r.recipient is Recipient.COUNTY:
            county_code = recipient_id
            recipient_name = XIANGXI_COUNTIES.get(recipient_id, "")
        elif not recipient_id or not recipient_name:
            raise ConfigError("recipient_required", "请填写申报单位的编号（如统一社会信用代码）和名称")
        if county_code not in XIANGXI_COUNTIES:
            raise ConfigError("invalid_county", "申报对象须在湘西州的 8 个县市之一（县市代码），由该县市初审")
        row = Application(reward_code=reward_code, year=year, recipient_kind=r.recipient.value,
                          recipient_id=recipient_id[:64], recipient_name=recipient_name[:200],
                          county_code=county_code, summary=(summary or "").strip()[:2000],
                          requested_amount_fen=None if r.fixed else requested_amount_fen, state="submitted",
                          created_by=current_actor(), created_at=datetime.now(timezone.utc))
        session.add(row)
        session.flush()
        return application_dict(row)


def get(factory: sessionmaker[Session], application_id: int) -> dict:
    with factory() as session:
        row = _get(session, application_id)
        data = application_dict(row)
        data["same_type"] = _same_type_preview(session, row)
        return data


def list_applications(factory: sessionmaker[Session], *, counties: frozenset[str] | None = None,
                      state: str | None = None, year: int | None = None, recipient_id: str | None = None) -> list[dict]:
    query = select(Application).order_by(Application.id.desc())
    if counties is not None:
        query = query.where(Application.county_code.in_(sorted(counties)))
    if state:
        query = query.where(Application.state == state)
    if year is not None:
        query = query.where(Application.year == year)
    if recipient_id:
        query = query.where(Application.recipient_id == recipient_id)
    with factory() as session:
        return [application_dict(a, detail=False) for a in session.scalars(query).all()]


def _in_review_same_group(session: Session, row: Application) -> list[Application]:
    group = reward(row.reward_code).group
    codes = [c for c, r in CATALOGUE.items() if r.group == group]
    return [a for a in session.scalars(select(Application).where(
        Application.recipient_id == row.recipient_id, Application.reward_code.in_(codes),
        Application.state.in_(IN_REVIEW), Application.id != row.id)).all()
        if reward(a.reward_code).repeat.value == "once" or a.year == row.year]


def _amount(row: Application, amount_fen: int | None = None) -> int:
    r = reward(row.reward_code)
    if r.amount_fen is not None:
        return r.amount_fen
    amount = amount_fen if amount_fen is not None else row.requested_amount_fen
    if amount is None:  # create() requires it for these rewards
        raise ConfigError("amount_required", f"“{r.name}”的金额由当地财政确定，请填写审定金额（分，大于 0）")
    return amount


def _same_type_preview(session: Session, row: Application) -> dict:
    """What approving it would pay now, and the same-group applications still in review."""
    held = ledger.grants(session, recipient_ids=[row.recipient_id])
    outcome = same_type_outcome(reward(row.reward_code), held, year=row.year, amount_fen=_amount(row))
    others = _in_review_same_group(session, row)
    return {"payable_fen": outcome.payable_fen, "superseded": outcome.superseded, "reason": outcome.reason,
            "held_fen": outcome.held_fen,
            "in_review": [{"id": a.id, "reward_name": reward(a.reward_code).name, "state_name": STATE_NAMES_ZH[a.state]}
                          for a in others]}


def record_step(factory: sessionmaker[Session], application_id: int, step: str, decision: str, *, note: str = "",
                amount_fen: int | None = None, accept_over_budget: bool = False, paid_on: date | None = None) -> dict:
    """Record the next step of an application in the order of the flow (the caller checked who)."""
    if step not in STEPS:
        raise ConfigError("invalid_step", "评审环节只能是：" + "、".join(f"{s}（{STEP_NAMES_ZH[s]}）" for s in STEPS))
    if decision not in DECISIONS:
        raise ConfigError("invalid_decision", "结论只能是 approved（通过）或 rejected（不通过）")
    note = (note or "").strip()[:900]
    if decision == "rejected" and not note:
        raise ConfigError("reason_required", "不通过须写明理由")
    with transaction(factory) as session:
        row = _get(session, application_id)
        expected = NEXT_STEP.get(row.state)
        if expected is None:
            raise Conflict("application_closed", f"申报 {row.id} 已是“{STATE_NAMES_ZH[row.state]}”，不能再记录评审")
        if step != expected:
            raise Conflict("step_out_of_order", f"申报 {row.id} 当前{STATE_NAMES_ZH[row.state]}：下一步是"
                                                f"“{STEP_NAMES_ZH[expected]}”，不能记录“{STEP_NAMES_ZH[step]}”")
        if step == "payment" and decision == "rejected":
            raise ConfigError("invalid_decision", "资金兑付只能记录为已支付；如不予支付，请在奖励台账中撤销该笔奖励并写明原因")
        now = datetime.now(timezone.utc)
        if decision == "rejected":
            row.state, row.decision_note = "rejected", f"{STEP_NAMES_ZH[step]}不通过：{note}"
        elif step == "government_approval":
            note = _approve(session, row, note, amount_fen, accept_over_budget)
        elif step == "payment":
            entry = session.get(ledger.GrantLedgerEntry, row.ledger_entry_id) if row.ledger_entry_id else None
            if entry is None:  # approval writes the entry; nothing else removes it
                raise Conflict("no_ledger_entry", f"申报 {row.id} 没有对应的奖励台账记录，不能记录资金兑付")
            ledger.apply_status(session, entry, "paid", note=note, paid_on=paid_on)
            note = entry.status_note
        else:
            row.state = AFTER_STEP[step]
        if not any(s.step == step for s in row.steps):  # payment: apply_status already recorded it
            row.steps.append(ApplicationStep(step=step, decision=decision, actor=current_actor(), note=note, at=now))
        session.flush()
        session.refresh(row)
        data = application_dict(row)
        data["same_type"] = _same_type_preview(session, row)
        return data


def _approve(session: Session, row: Application, note: str, amount_fen: int | None, accept_over_budget: bool) -> str:
    r = reward(row.reward_code)
    if not r.fixed and amount_fen is not None and amount_fen <= 0:
        raise ConfigError("invalid_amount", "审定金额应大于 0（分）")
    if r.amount_fen is not None and amount_fen is not None and amount_fen != r.amount_fen:
        raise ConfigError("fixed_amount", f"“{r.name}”的金额由政策规定为{format_yuan(r.amount_fen)}")
    fixed_fen = r.amount_fen
    higher = [a for a in _in_review_same_group(session, row)
              if fixed_fen is not None and (other := reward(a.reward_code).amount_fen) is not None
              and other > fixed_fen]
    if higher:
        a = higher[0]
        raise Conflict("higher_in_review", f"同一申报对象的同类型更高一项申报 #{a.id}（{reward(a.reward_code).name}，"
                                           f"{STATE_NAMES_ZH[a.state]}）尚在评审中；按“就高不就低”只发放最高一项，"
                                           f"请先完成该申报的评审")
    amount = _amount(row, amount_fen)
    held = ledger.grants(session, recipient_ids=[row.recipient_id])
    outcome = same_type_outcome(r, held, year=row.year, amount_fen=amount)
    if outcome.superseded:
        row.state, row.amount_fen, row.decision_note = "superseded", 0, outcome.reason
        return f"{note}（{outcome.reason}）" if note else outcome.reason
    holder = ledger.funding_holder(row.reward_code, row.county_code)
    warning = approval_warning(ledger.budget_line(session, holder, row.year), outcome.payable_fen)
    if warning and not accept_over_budget:
        raise Conflict("over_budget", f"{warning}。如确需审定，请确认超出预算后再提交")
    entry = ledger.add_entry(session, recipient_kind=row.recipient_kind, recipient_id=row.recipient_id,
                             recipient_name=row.recipient_name, county_code=row.county_code,
                             reward_code=row.reward_code, year=row.year, amount_fen=outcome.payable_fen,
                             source="application", source_label=f"申报 #{row.id}（{r.name}）", application_id=row.id)
    session.flush()
    row.state, row.amount_fen, row.ledger_entry_id, row.decision_note = (
        "approved", outcome.payable_fen, entry.id, outcome.reason)
    for lower in _in_review_same_group(session, row):
        if reward(lower.reward_code).repeat.value == "once" or lower.year == row.year:
            lower.state, lower.superseded_by_id = "superseded", row.id
            lower.decision_note = f"同类型更高一项申报 #{row.id}（{r.name}）已审定，就高不就低，不重复计算"
    parts = [note] if note else []
    if warning:
        parts.append(f"【确认超出预算】{warning}")
    return "；".join(parts)


# -- evidence files ---------------------------------------------------------------------------------
def _check_file(filename: str, content: bytes) -> tuple[str, str]:
    name = _UNSAFE_NAME.sub("", (filename or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()[:200]
    extension = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if extension not in FILE_TYPES:
        raise ConfigError("unsupported_file", f"证明材料只接受 {FILE_TYPES_ZH} 文件")
    if not content:
        raise ConfigError("empty_file", "上传的文件是空的")
    if len(content) > MAX_FILE_BYTES:
        raise ConfigError("file_too_large", f"单个文件不能超过 {MAX_FILE_BYTES // (1024 * 1024)} MB")
    content_type, magic = FILE_TYPES[extension]
    if not content.startswith(magic) or (magic == b"PK\x03\x04" and not _is_office_zip(content)):
        raise ConfigError("file_type_mismatch", f"文件内容与扩展名 {extension} 不符（只接受真实的 {FILE_TYPES_ZH} 文件）")
    return name, content_type


def _is_office_zip(content: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return "[Content_Types].xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def add_file(factory: sessionmaker[Session], application_id: int, filename: str, content: bytes) -> dict:
    name, content_type = _check_file(filename, content)
    with transaction(factory) as session:
        row = _get(session, application_id)
        if row.state not in IN_REVIEW:
            raise Conflict("application_closed", f"申报已是“{STATE_NAMES_ZH[row.state]}”，不能再补充材料")
        if len(row.files) >= MAX_FILES:
            raise Conflict("too_many_files", f"每份申报最多 {MAX_FILES} 个证明材料")
        file = ApplicationFile(application_id=row.id, filename=name, content_type=content_type,
                               size_bytes=len(content), sha256=hashlib.sha256(content).hexdigest(), content=content,
                               uploaded_by=current_actor(), uploaded_at=datetime.now(timezone.utc))
        session.add(file)
        session.flush()
        return _file_dict(file)


def read_file(factory: sessionmaker[Session], application_id: int, file_id: int) -> tuple[dict, bytes]:
    with factory() as session:
        file = session.scalar(select(ApplicationFile).options(undefer(ApplicationFile.content))
                              .where(ApplicationFile.id == file_id, ApplicationFile.application_id == application_id))
        if file is None:
            raise NotFound("file_not_found", "证明材料不存在")
        return _file_dict(file), file.content
