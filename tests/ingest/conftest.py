"""Fixtures of the ingestion tests: a partner with known customers."""

from __future__ import annotations

from pathlib import Path

import pytest

from sightline.api.context import AppContext
from sightline.config import Settings
from sightline.ingest import service
from tests.conftest import PartnerKey
from tests.ingest.helpers import make_customer, write_csv


@pytest.fixture
def customers(
    tmp_path: Path, context: AppContext, settings: Settings, acme: PartnerKey
) -> service.RunSummary:
    """acme with customers c1 (member m1), c2 (member m2), c3."""
    rows = [
        make_customer(),
        make_customer(ucic="c2", member_id="m2", email="bob@example.com"),
        make_customer(ucic="c3", member_id="", email="cy@example.com"),
    ]
    path = write_csv(tmp_path / "in" / "customers.csv", rows)
    summary = service.ingest_path(context.sessions, settings, "acme", "customers", path)
    assert summary.status == "succeeded", summary
    return summary
