"""Fixtures for the organizer features: a fresh config store on SQLite or on a real PostgreSQL
(one new database per test, migrated with Alembic), and an embedded stack with users and tokens."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

import pytest
import requests

from configstore import accounts
from configstore.db import make_engine, make_sessionmaker
from configstore.migrate import upgrade
from tests.e2e.conftest import build_stack

PASSWORD = "correct-horse-42"


@pytest.fixture(params=["sqlite", "postgres"])
def config_sessions(request, tmp_path):
    """A migrated config store: a SQLite file, or a new database on the test PostgreSQL server."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'config.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_service").create_database("cfg")
    upgrade(url)
    engine = make_engine(url)
    yield make_sessionmaker(engine)
    engine.dispose()


@dataclass
class Org:
    """An embedded stack with one user (and API token) per role."""

    stack: object
    tokens: dict[str, str]

    @property
    def base_url(self) -> str:
        return self.stack.base_url

    @property
    def sessions(self):
        return self.stack.sessions

    def api(self, method: str, path: str, role: str | None = "admin", **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return requests.request(method, f"{self.base_url}/v1/admin{path}", headers=headers, timeout=30, **kwargs)

    def console(self, username: str) -> requests.Session:
        """A browser-like session logged in to the console as `username`."""
        http = requests.Session()
        token = csrf_token(http.get(f"{self.base_url}/console/login", timeout=30).text)
        response = http.post(f"{self.base_url}/console/login", data={"username": username, "password": PASSWORD,
                                                                    "csrf_token": token},
                             allow_redirects=False, timeout=30)
        assert response.status_code == 302, response.text
        return http


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def make_org(stack) -> Org:
    tokens = {}
    for role in accounts.ROLES:
        accounts.create_user(stack.sessions, f"{role}-user", PASSWORD, role)
        tokens[role] = accounts.create_token(stack.sessions, f"{role}-user", "tests")[1]
    return Org(stack, tokens)


@pytest.fixture
def org(request, tmp_path) -> Iterator[Org]:
    stack = build_stack("embedded", tmp_path, request)
    yield make_org(stack)
    stack.close()


@pytest.fixture(params=["scale", "embedded"])
def org_both(request, tmp_path) -> Iterator[Org]:
    """The same, on real Kafka + ClickHouse and on the embedded default."""
    stack = build_stack(request.param, tmp_path, request)
    yield make_org(stack)
    stack.close()
