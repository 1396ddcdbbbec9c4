"""Fixtures shared by the WeChat unit tests: the fake WeChat server and a migrated SQLite store."""
from __future__ import annotations

from typing import Iterator

import pytest

import configstore.all_models  # noqa: F401  (every table on Base.metadata)
from configstore.db import Base, make_engine
from tests.fakes.fake_wechat import FakeWeChat


@pytest.fixture
def fake() -> Iterator[FakeWeChat]:
    """A real HTTP fake of WeChat's API on loopback."""
    with FakeWeChat() as wx:
        yield wx


@pytest.fixture
def db_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'wechat.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    return url
