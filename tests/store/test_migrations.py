"""Migrations are the schema: applying them gives exactly the tables the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from sightline.api.context import AppContext
from sightline.store import db
from sightline.store.registry import load_metadata


def test_migrations_match_models(context: AppContext) -> None:
    with context.engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(mc, load_metadata())
    assert diff == []


def test_upgrade_is_idempotent_and_downgrade_works(database_url: str) -> None:
    db.upgrade(database_url)  # already at heads: nothing to do
    db.downgrade(database_url, "base")
    db.upgrade(database_url)
