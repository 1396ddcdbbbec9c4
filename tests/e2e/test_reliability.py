"""Short versions of the reliability runs (`python -m reliability` runs the long ones), on the
suite's real Kafka, ClickHouse and PostgreSQL: the same code, fewer events, so it can't rot."""
from __future__ import annotations

import pytest

from bench.infra import Services
from reliability.faults import FaultPlan, run_faults
from reliability.load import LoadPlan, run_load
from tests.e2e.accounting import assert_accepted_stored_once

pytestmark = pytest.mark.e2e


@pytest.fixture
def services(kafka_service, clickhouse_service, postgres_service) -> Services:
    return Services(kafka_service, clickhouse_service, postgres_service)


def test_every_accepted_event_is_stored_once_through_kills_and_restarts(services, tmp_path, capsys):
    plan = FaultPlan(events=3_000, rate=120, batch_size=20, consumer_kills=5, forged_every=23)
    report = run_faults(services, tmp_path, plan)
    with capsys.disabled():
        print("\n" + "\n".join(report.lines()))
    assert_accepted_stored_once(report, sent=3_000 + 6 * 500)  # the stream, and the batches in flight when the API worker died
    assert len(report.faults) == 8 and not any(f.startswith("FAILED") for f in report.faults), report.faults
    assert report.requests.get("connection_error", 0) > 0  # requests really were cut mid-flight


def test_sustained_load_has_no_server_errors_and_flat_memory(services, tmp_path, capsys):
    plan = LoadPlan(seconds=45, probe_seconds=10, batch_size=50, board_readers=2)  # rate: 90% of the probed limit
    report = run_load(services, tmp_path, plan)
    with capsys.disabled():
        print("\n" + "\n".join(report.lines()))
    assert report.limit_rate > 100 and report.offered_rate == pytest.approx(0.9 * report.limit_rate)
    assert report.achieved_rate >= 0.7 * report.offered_rate  # the load was really carried
    assert (report.lost, report.duplicated) == (0, 0) and report.stored == report.accepted
    assert report.server_errors == {} and report.board_errors == {}
    assert report.board_reads > 50
    assert set(report.rss_mib) == {"api", "consumer-0", "consumer-1"}
    assert all(g <= plan.max_growth for g in report.growth.values()), report.growth
