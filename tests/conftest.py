"""Shared fixtures: settings in a temp data dir, serving DBs (SQLite and PostgreSQL), the API."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from sightline.api.app import create_app
from sightline.api.context import AppContext
from sightline.config import Settings
from sightline.partners import service as partners
from sightline.store import db
from tests.fixtures.postgres import PostgresServer, postgres_server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    try:
        with postgres_server() as server:
            yield server
    except RuntimeError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def pg_template(pg_server: PostgresServer) -> str:
    """A database with every migration applied, cloned per test (CREATE DATABASE … TEMPLATE)."""
    _admin(pg_server, "CREATE DATABASE sightline_template")
    db.upgrade(pg_server.url("sightline_template"))
    return "sightline_template"


def _admin(server: PostgresServer, sql: str) -> None:
    engine = create_engine(
        "postgresql+psycopg://" + server.url().removeprefix("postgresql://"),
        isolation_level="AUTOCOMMIT",
    )
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, fully migrated serving DB: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'serving.db'}"
        db.upgrade(url)
        yield url
        return
    server: PostgresServer = request.getfixturevalue("pg_server")
    template = request.getfixturevalue("pg_template")
    name = "t_" + uuid.uuid4().hex[:12]
    _admin(server, f"CREATE DATABASE {name} TEMPLATE {template}")
    yield server.url(name)
    _admin(server, f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        env="test",
        data_dir=tmp_path / "data",
        database_url=database_url,
        log_level="INFO",
        auth_cache_seconds=0,
    )


@pytest.fixture
def context(settings: Settings) -> Iterator[AppContext]:
    ctx = AppContext.from_settings(settings)
    yield ctx
    ctx.engine.dispose()


@pytest.fixture
def session(context: AppContext) -> Iterator[Session]:
    with db.transaction(context.sessions) as s:
        yield s


@pytest.fixture
def client(context: AppContext) -> Iterator[TestClient]:
    with TestClient(create_app(context=context)) as c:
        yield c


@dataclass
class PartnerKey:
    partner_id: str
    key_id: str
    client_id: str
    secret: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


def make_partner(context: AppContext, partner_id: str = "acme", **overrides: str) -> PartnerKey:
    """A partner with one API key, committed."""
    with db.transaction(context.sessions) as s:
        partners.create_partner(s, partner_id, name=overrides.get("name", partner_id.title()))
        key = partners.create_key(s, partner_id)
    return PartnerKey(partner_id, key.key_id, key.client_id, key.secret)


@pytest.fixture
def acme(context: AppContext) -> PartnerKey:
    return make_partner(context, "acme")


@pytest.fixture
def globex(context: AppContext) -> PartnerKey:
    return make_partner(context, "globex")
