"""Applications for rewards, as the organizers' API and console use them: who may do what
(roles and counties), on top of configstore.applications (the flow, the rules, the evidence).

Who records each step (configstore.applications.STEP_ROLES):
* 县市区初审: an operator of the application's county (a prefecture operator too);
* 州开放型经济领导小组办公室审核 and 专家评审: a prefecture operator;
* 州政府审定 and 资金兑付: a prefecture admin.
A county user applies, uploads evidence and reads only for their own counties.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from configstore import applications as store
from configstore import registry
from configstore.accounts import ROLE_NAMES_ZH, UserInfo
from configstore.errors import Forbidden
from domain.catalogue import CATALOGUE, Recipient
from services.scope import require_county, require_prefecture
from services.spreadsheets import DownloadName


def _applicant_county(sessions: sessionmaker[Session], reward_code: str, recipient_id: str, county_code: str) -> str:
    r = CATALOGUE.get(reward_code)
    if r is not None and r.recipient is Recipient.ENTERPRISE:
        return registry.counties(sessions, "enterprises").get(recipient_id, "")
    if r is not None and r.recipient is Recipient.COUNTY:
        return recipient_id
    return county_code


def create(sessions: sessionmaker[Session], user: UserInfo, **data) -> dict:
    county = _applicant_county(sessions, data.get("reward_code", ""), data.get("recipient_id", ""),
                               data.get("county_code", ""))
    if county:
        require_county(user, county, "申报")
    elif not user.prefecture:
        data["county_code"] = user.counties[0] if len(user.counties) == 1 else ""
    return store.create(sessions, **data)


def get(sessions: sessionmaker[Session], user: UserInfo, application_id: int) -> dict:
    require_county(user, store.county_of(sessions, application_id), "申报")
    return store.get(sessions, application_id)


def list_applications(sessions: sessionmaker[Session], user: UserInfo, **filters) -> list[dict]:
    return store.list_applications(sessions, counties=user.scope, **filters)


def check_step(user: UserInfo, county_code: str, step: str) -> None:
    """403 with the reason when this user may not record this step on an application of that county."""
    role, county_may = store.STEP_ROLES.get(step, ("admin", False))
    if not user.can(role):
        raise Forbidden("forbidden", f"“{store.STEP_NAMES_ZH[step]}”需要“{ROLE_NAMES_ZH[role]}”或更高的角色")
    if county_may:
        require_county(user, county_code, "申报")
    else:
        require_prefecture(user, f"“{store.STEP_NAMES_ZH[step]}”")


def record_step(sessions: sessionmaker[Session], user: UserInfo, application_id: int, *, step: str, decision: str,
                note: str = "", amount_fen: int | None = None, accept_over_budget: bool = False,
                paid_on: date | None = None) -> dict:
    county = store.county_of(sessions, application_id)
    require_county(user, county, "申报")  # another county's application: 403 whatever the step
    if step in store.STEP_ROLES:
        check_step(user, county, step)
    return store.record_step(sessions, application_id, step, decision, note=note, amount_fen=amount_fen,
                             accept_over_budget=accept_over_budget, paid_on=paid_on)


def add_file(sessions: sessionmaker[Session], user: UserInfo, application_id: int, filename: str,
             content: bytes) -> dict:
    if not user.can("operator"):
        raise Forbidden("forbidden", "上传证明材料需要“运营”或更高的角色")
    require_county(user, store.county_of(sessions, application_id), "申报")
    return store.add_file(sessions, application_id, filename, content)


def read_file(sessions: sessionmaker[Session], user: UserInfo, application_id: int, file_id: int) -> tuple[dict, bytes]:
    require_county(user, store.county_of(sessions, application_id), "申报")
    return store.read_file(sessions, application_id, file_id)


def evidence_name(application_id: int, meta: dict) -> DownloadName:
    """The evidence's own name, and an ASCII one for old clients."""
    extension = meta["filename"].rsplit(".", 1)[-1] if "." in meta["filename"] else "bin"
    return DownloadName(meta["filename"], f"application-{application_id}-file-{meta['id']}.{extension}")
