"""Who a posted `host` / `enterprise` value means.

A sale names its host and enterprise as the platform knows them: either our participant id or the
participant's account on that platform. Attribution maps both to the registered participant; a
value that maps to nobody is unattributed (participant id "").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class Attribution:
    """Registered ids, and platform accounts -> id."""

    ids: tuple[str, ...]
    accounts: Mapping[tuple[str, str], str]  # (platform, account_id) -> participant id

    def only(self, participant_id: str) -> "Attribution":
        """Narrowed to one participant: its id and its own accounts."""
        return Attribution(ids=(participant_id,),
                           accounts={k: v for k, v in self.accounts.items() if v == participant_id})
