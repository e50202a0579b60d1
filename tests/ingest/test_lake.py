"""lake.py: paths, staging and publishing, readers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sightline import lake
from sightline.api.context import AppContext
from sightline.config import Settings
from sightline.ingest import service
from tests.ingest.helpers import make_txn, write_csv


def test_layout_staging_and_readers(
    tmp_path: Path, context: AppContext, settings: Settings, customers: service.RunSummary
) -> None:
    rows = [make_txn(), make_txn(txn_id="t2", posted_at="2026-01-07")]
    summary = service.ingest_path(
        context.sessions, settings, "acme", "transactions", write_csv(tmp_path / "t.csv", rows)
    )
    parts = lake.date_partitions(settings.lake_dir, "transactions", "acme")
    assert set(parts) == {date(2026, 1, 5), date(2026, 1, 7)}
    assert parts[date(2026, 1, 5)] == lake.date_dir(
        settings.lake_dir, "transactions", "acme", date(2026, 1, 5)
    )
    only = lake.parquet_files(settings.lake_dir, "transactions", "acme", start=date(2026, 1, 6))
    assert [p.parent.name for p in only] == ["date=2026-01-07"]
    table = lake.read_feed(settings.lake_dir, "transactions", "acme", columns=["txn_id", "ucic"])
    assert table is not None and table.column_names == ["txn_id", "ucic"]
    assert sorted(table.column("txn_id").to_pylist()) == ["t1", "t2"]
    assert lake.read_feed(settings.lake_dir, "transactions", "globex") is None
    # staging is outside the feed folders and empty after a run
    stage = lake.staging_dir(settings.lake_dir, "transactions", "acme", summary.run_id)
    assert not stage.exists()
    leftover = lake.staging_dir(settings.lake_dir, "transactions", "acme", "run_dead")
    (leftover / "date=2026-01-05").mkdir(parents=True)
    (leftover / "date=2026-01-05" / "run_dead-0.parquet").write_bytes(b"partial")
    assert lake.clear_stale_staging(settings.lake_dir, "transactions", "acme") == 1
    assert not leftover.exists()
