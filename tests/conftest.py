"""Shared fixtures. The service fixtures start real Kafka / ClickHouse / PostgreSQL processes on
loopback (see devservices/), lazily: only a session whose tests ask for one starts it, once, and
stops it at the end. A service that cannot start makes the test error with the service's log
tail; these fixtures never skip.

Set LIVEBOARD_KEEP_SERVICE_DIRS=1 to keep the services' data and logs after the run.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from devservices import ClickHouseService, KafkaService, PostgresService, RedisService, make_base_dir
from tests.support import STOP_TIMES, stop_in_background, wait_for_stops


def pytest_configure(config: pytest.Config) -> None:
    # kafka-python 3.0.12 loads its protocol schemas through the deprecated importlib.resources
    # API: hundreds of identical warnings that hide the useful ones.
    config.addinivalue_line("filterwarnings", "ignore:read_text is deprecated:DeprecationWarning")
    config.addinivalue_line("filterwarnings", "ignore:open_text is deprecated:DeprecationWarning")


def pytest_terminal_summary(terminalreporter) -> None:
    if STOP_TIMES:
        terminalreporter.write_line("services stopped in " + ", ".join(
            f"{name} {seconds:.1f} s" for name, seconds in sorted(STOP_TIMES.items())))


@pytest.fixture(scope="session")
def services_dir() -> Iterator[Path]:
    """One temp dir for every service of the session (reachable by the 'postgres' OS user)."""
    path = make_base_dir(prefix="liveboard-test-services-")
    yield path
    wait_for_stops()  # every service of the session depends on this fixture: all are stopping by now
    if os.environ.get("LIVEBOARD_KEEP_SERVICE_DIRS") == "1":
        print(f"\n[devservices] service data kept in {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)


def _run(service):
    service.start()  # raises RuntimeError with the log tail when the service does not come up
    try:
        yield service
    finally:
        stop_in_background(service)


@pytest.fixture(scope="session")
def kafka_service(services_dir: Path) -> Iterator[KafkaService]:
    """Kafka 3.9 (KRaft, single node); use ``kafka_service.bootstrap_servers``."""
    yield from _run(KafkaService(services_dir))


@pytest.fixture(scope="session")
def clickhouse_service(services_dir: Path) -> Iterator[ClickHouseService]:
    """ClickHouse server; ``host``, ``port`` (native), ``http_port``, ``url``."""
    yield from _run(ClickHouseService(services_dir))


@pytest.fixture(scope="session")
def postgres_service(services_dir: Path) -> Iterator[PostgresService]:
    """PostgreSQL 15, trust auth; ``url`` is a SQLAlchemy URL to database 'postgres'."""
    yield from _run(PostgresService(services_dir))


@pytest.fixture(scope="session")
def redis_service(services_dir: Path) -> Iterator[RedisService]:
    """Redis without persistence; ``url`` is redis://127.0.0.1:<port>/0."""
    yield from _run(RedisService(services_dir))


CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture
def browser():
    """Debian's chromium, headless, driven by chromedriver (selenium); a fresh profile per test."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="liveboard-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 f"--user-data-dir={profile}", "--window-size=1400,1000", "--lang=zh-CN"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
