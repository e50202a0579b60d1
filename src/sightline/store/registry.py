"""Every module that declares tables, so Alembic and the schema test see the whole metadata.

Add a domain's ``models`` module here when it declares tables.
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from sightline.store.base import Base

MODEL_MODULES = [
    "sightline.store.models",
    "sightline.insights.models",
    "sightline.ingest.models",
    "sightline.insights.refresh_models",
]


def load_metadata() -> MetaData:
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base.metadata
