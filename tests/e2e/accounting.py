"""The accounting every reliability run must close exactly (the fault run and the cluster run)."""
from __future__ import annotations

from reliability.faults import FaultReport


def assert_accepted_stored_once(report: FaultReport, sent: int) -> None:
    """`sent` events went out; every one answered 202 is stored once, the refused ones never."""
    assert report.sent == sent
    assert report.rejected > 0 and report.accepted + report.rejected == report.sent  # designed refusals happened
    assert report.unresolved == 0
    assert (report.lost, report.duplicated, report.refused_but_stored) == (0, 0, 0)
    # every accepted event is a stored row, or a refund held for an order that was refused
    assert report.stored == report.accepted and report.stored_rows + report.held == report.accepted
    assert report.stored_net_fen == report.accepted_net_fen
    assert report.preaggregate_matches_raw and report.boards_match
    assert report.server_errors == {}
