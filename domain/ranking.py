"""Leaderboard ranking of campaign participants (hosts or enterprises).

How the board is ordered, in this order of precedence:

1. Higher net GMV ranks higher. Net GMV is paid amount minus refunded amount, in fen.
2. Equal net GMV: whoever reached that amount first ranks higher (the earlier
   ``reached_at``, the moment the participant's total last changed).
3. Still equal: fewer refunds ranks higher (``refund_count``).
4. Still equal: participant id in ascending order. This last key has no business
   meaning; it only makes sure the same data always gives the same board.

Every place is unique: ranks run 1, 2, 3, ... and are never shared.
Participants excluded by organizers (disqualified or hidden) are removed before
ranking, so the next participant moves up into the freed place.
Participants whose net GMV is zero or negative are not ranked: they have not sold
anything yet once refunds are taken off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Iterable, Mapping

from domain.money import require_fen

_NO_ENTRIES: Mapping[str, str] = MappingProxyType({})
_NO_RANKS: Mapping[str, int] = MappingProxyType({})


@dataclass(frozen=True)
class ParticipantTotals:
    """One participant's totals for a board (a campaign or a period)."""

    participant_id: str
    net_gmv_fen: int  # paid_fen - refunded_fen
    paid_fen: int
    refunded_fen: int
    order_count: int  # paid orders
    refund_count: int  # refunds that succeeded
    units: int
    buyers: int  # distinct buyers
    reached_at: datetime  # UTC; when the total last changed to its current value

    def __post_init__(self) -> None:
        for field in ("net_gmv_fen", "paid_fen", "refunded_fen"):
            require_fen(getattr(self, field), field)
        if self.net_gmv_fen != self.paid_fen - self.refunded_fen:
            raise ValueError(
                f"{self.participant_id}: net_gmv_fen {self.net_gmv_fen} != "
                f"paid_fen {self.paid_fen} - refunded_fen {self.refunded_fen}"
            )
        if self.reached_at.tzinfo is None or self.reached_at.utcoffset() is None:
            raise ValueError(f"{self.participant_id}: reached_at must be timezone-aware")


@dataclass(frozen=True)
class BoardEntry:
    rank: int
    previous_rank: int | None
    movement: str  # 'up' | 'down' | 'same' | 'new'
    participant_id: str
    name: str
    net_gmv_fen: int
    paid_fen: int
    refunded_fen: int
    order_count: int
    refund_count: int
    units: int
    buyers: int
    refund_rate: float  # display only: refunded_fen / paid_fen, 4 decimals
    reached_at: datetime


def movement(rank: int, previous_rank: int | None) -> str:
    if previous_rank is None:
        return "new"
    if rank < previous_rank:
        return "up"
    if rank > previous_rank:
        return "down"
    return "same"


def refund_rate(refunded_fen: int, paid_fen: int) -> float:
    return 0.0 if paid_fen == 0 else round(refunded_fen / paid_fen, 4)


def _board_order(totals: ParticipantTotals) -> tuple:
    return (-totals.net_gmv_fen, totals.reached_at, totals.refund_count, totals.participant_id)


def rank_participants(
    totals: Iterable[ParticipantTotals],
    *,
    names: Mapping[str, str],
    excluded: Mapping[str, str] = _NO_ENTRIES,
    previous_ranks: Mapping[str, int] = _NO_RANKS,
    limit: int | None = 10,
    only_sellers: bool = True,
) -> list[BoardEntry]:
    """Rank participants by the rules in the module docstring.

    ``excluded`` maps participant_id -> reason; those are dropped before ranking.
    ``previous_ranks`` maps participant_id -> rank on the previous board (for movement).
    ``limit=None`` returns the full ranking.
    ``only_sellers=False`` keeps rows at zero or below, ranked last by the same rules: a breakdown
    by county, category or platform shows every value, so its rows add up to the period's net GMV.
    """
    rows = list(totals)
    seen: set[str] = set()
    for row in rows:
        if row.participant_id in seen:
            raise ValueError(f"duplicate participant_id {row.participant_id!r}")
        seen.add(row.participant_id)
    if limit is not None and limit < 0:
        raise ValueError("limit must be >= 0 or None")

    ranked = sorted(
        (t for t in rows if t.participant_id not in excluded and (t.net_gmv_fen > 0 or not only_sellers)),
        key=_board_order,
    )
    if limit is not None:
        ranked = ranked[:limit]

    board = []
    for rank, t in enumerate(ranked, start=1):
        previous = previous_ranks.get(t.participant_id)
        board.append(
            BoardEntry(
                rank=rank,
                previous_rank=previous,
                movement=movement(rank, previous),
                participant_id=t.participant_id,
                name=names.get(t.participant_id, t.participant_id),
                net_gmv_fen=t.net_gmv_fen,
                paid_fen=t.paid_fen,
                refunded_fen=t.refunded_fen,
                order_count=t.order_count,
                refund_count=t.refund_count,
                units=t.units,
                buyers=t.buyers,
                refund_rate=refund_rate(t.refunded_fen, t.paid_fen),
                reached_at=t.reached_at,
            )
        )
    return board


@dataclass(frozen=True)
class RankCard:
    """A participant's own position, as shown on the host's phone."""

    participant_id: str
    rank: int
    net_gmv_fen: int
    previous_rank: int | None
    movement: str
    # Difference to the participant directly above (draws level, not passes); None at rank 1.
    # Can be 0 when the one above has the same amount but won the tie-break.
    gap_to_above_fen: int | None
    # 0 when already inside the top n. Otherwise the n-th's net GMV minus mine plus 1 fen:
    # one fen more than the current n-th. Deliberately ignores tie-breaks and assumes the
    # n-th does not move, so it is the amount to aim for, not a guarantee.
    gap_to_top_n_fen: int
    in_top_n: bool
    total_ranked: int
    top_n: int


def rank_card(
    full_ranking: list[BoardEntry], participant_id: str, *, top_n: int = 10
) -> RankCard | None:
    """Card for one participant from the FULL ranking (limit=None); None if not ranked."""
    if top_n < 1:
        raise ValueError("top_n must be >= 1")
    position = next(
        (i for i, entry in enumerate(full_ranking) if entry.participant_id == participant_id),
        None,
    )
    if position is None:
        return None
    mine = full_ranking[position]
    in_top_n = mine.rank <= top_n
    gap_to_above = None if position == 0 else full_ranking[position - 1].net_gmv_fen - mine.net_gmv_fen
    if in_top_n:
        gap_to_top_n = 0
    else:
        nth = full_ranking[top_n - 1]
        gap_to_top_n = nth.net_gmv_fen - mine.net_gmv_fen + 1
    return RankCard(
        participant_id=participant_id,
        rank=mine.rank,
        net_gmv_fen=mine.net_gmv_fen,
        previous_rank=mine.previous_rank,
        movement=mine.movement,
        gap_to_above_fen=gap_to_above,
        gap_to_top_n_fen=gap_to_top_n,
        in_top_n=in_top_n,
        total_ranked=len(full_ranking),
        top_n=top_n,
    )
