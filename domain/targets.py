"""Annual sales targets over the region tree (province → city → county → township → village)
and progress labels like "完成年度任务的 114.7%"."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Mapping

from domain.money import require_fen

LEVELS = ("province", "city", "county", "township", "village")
_DEPTH = {level: depth for depth, level in enumerate(LEVELS)}


class RegionTreeError(ValueError):
    """The region list does not form a tree (cycle, unknown parent, bad level, duplicate)."""


@dataclass(frozen=True)
class RegionNode:
    code: str
    name: str
    level: str  # one of LEVELS
    parent_code: str | None = None  # None for the top of the tree given
    annual_target_fen: int | None = None  # None = no target set

    def __post_init__(self) -> None:
        if self.level not in _DEPTH:
            raise RegionTreeError(f"{self.code}: unknown level {self.level!r}; expected one of {LEVELS}")
        if self.annual_target_fen is not None and require_fen(self.annual_target_fen, "annual_target_fen") <= 0:
            raise RegionTreeError(f"{self.code}: annual_target_fen must be positive (None for no target)")


@dataclass(frozen=True)
class RegionProgress:
    code: str
    name: str
    level: str
    parent_code: str | None
    annual_target_fen: int | None
    direct_sales_fen: int  # credited to this node itself
    actual_sales_fen: int  # direct + all descendants
    percent: Decimal | None  # actual / target × 100, one decimal, half up; None without target
    label: str | None  # "完成年度任务的 114.7%"; None without target


def percent_of_target(actual_fen: int, target_fen: int) -> Decimal:
    """actual / target as a percentage with one decimal, rounded half up (away from zero).

    Integer arithmetic, so the rounding is exact whatever the size of the amounts."""
    if target_fen <= 0:
        raise ValueError("target_fen must be positive")
    tenths, remainder = divmod(abs(actual_fen) * 1000, target_fen)
    if 2 * remainder >= target_fen:
        tenths += 1
    return Decimal(-tenths if actual_fen < 0 else tenths).scaleb(-1)


def progress_label(actual_fen: int, target_fen: int | None) -> str | None:
    if target_fen is None:
        return None
    return f"完成年度任务的 {percent_of_target(actual_fen, target_fen)}%"


def _validate_tree(nodes: list[RegionNode]) -> dict[str, RegionNode]:
    by_code: dict[str, RegionNode] = {}
    for node in nodes:
        if node.code in by_code:
            raise RegionTreeError(f"duplicate region code {node.code!r}")
        by_code[node.code] = node
    for node in nodes:
        if node.parent_code is not None and node.parent_code not in by_code:
            raise RegionTreeError(f"{node.code} ({node.name}): unknown parent {node.parent_code!r}")
    # Cycles first, so a loop is reported as a loop rather than as a level mismatch.
    for node in nodes:
        path = [node.code]
        parent = node.parent_code
        while parent is not None:
            if parent in path:
                loop = " → ".join(path[path.index(parent):] + [parent])
                raise RegionTreeError(f"cycle in region tree: {loop}")
            path.append(parent)
            parent = by_code[parent].parent_code
    for node in nodes:
        if node.parent_code is not None:
            parent_node = by_code[node.parent_code]
            if _DEPTH[node.level] <= _DEPTH[parent_node.level]:
                raise RegionTreeError(
                    f"{node.code} ({node.level}) cannot sit under {parent_node.code} ({parent_node.level})"
                )
    return by_code


def roll_up(nodes: Iterable[RegionNode], direct_sales_fen: Mapping[str, int]) -> dict[str, RegionProgress]:
    """Actual sales per node (own direct sales + sum of its children's actual) and progress.

    ``direct_sales_fen`` maps region code -> fen credited directly to that node (a leaf or any
    node). Returns every node keyed by code, in tree order (parents before children, siblings by
    code)."""
    node_list = list(nodes)
    by_code = _validate_tree(node_list)
    for code, amount in direct_sales_fen.items():
        require_fen(amount, f"direct_sales_fen[{code!r}]")
        if code not in by_code:
            raise RegionTreeError(f"sales credited to unknown region {code!r}")
    children: dict[str, list[str]] = {code: [] for code in by_code}
    roots: list[str] = []
    for node in node_list:
        (children[node.parent_code] if node.parent_code is not None else roots).append(node.code)

    actual: dict[str, int] = {}

    def total(code: str) -> int:  # depth is bounded by the 5 levels
        actual[code] = direct_sales_fen.get(code, 0) + sum(total(child) for child in children[code])
        return actual[code]

    result: dict[str, RegionProgress] = {}

    def emit(code: str) -> None:
        node = by_code[code]
        target = node.annual_target_fen
        result[code] = RegionProgress(
            code=code,
            name=node.name,
            level=node.level,
            parent_code=node.parent_code,
            annual_target_fen=target,
            direct_sales_fen=direct_sales_fen.get(code, 0),
            actual_sales_fen=actual[code],
            percent=None if target is None else percent_of_target(actual[code], target),
            label=progress_label(actual[code], target),
        )
        for child in sorted(children[code]):
            emit(child)

    for root in sorted(roots):
        total(root)
        emit(root)
    return result
