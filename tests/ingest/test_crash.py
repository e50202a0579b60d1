"""Crash safety: `sightline ingest` is SIGKILLed in the middle of a large file, run again, and
every row is in the lake exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import select

from sightline.api.context import AppContext
from sightline.config import Settings
from sightline.ingest import service
from sightline.ingest.models import IngestRun
from sightline.store import db
from tests.conftest import PartnerKey

ROWS = 1_000_000


def _make_files(tmp_path: Path) -> tuple[Path, Path]:
    con = duckdb.connect()
    customers = tmp_path / "customers.csv"
    txns = tmp_path / "big.csv"
    con.execute(
        f"""COPY (SELECT 'c' || i AS ucic, 'I' AS ucic_type, '2020-01-01' AS customer_since,
        '2026-01-31' AS as_of FROM range(1000) t(i)) TO '{customers}' (HEADER)"""
    )
    con.execute(
        f"""COPY (SELECT 't' || i AS txn_id, 'c' || (i % 1000) AS ucic,
        'a' || (i % 1500) AS account_id,
        CAST(DATE '2026-01-01' + CAST(i % 28 AS INTEGER) AS VARCHAR) AS posted_at,
        CAST(CAST((i % 10000) / 100.0 AS DECIMAL(18,2)) AS VARCHAR) AS amount,
        CASE WHEN i % 4 = 0 THEN 'credit' ELSE 'debit' END AS direction, 'card' AS channel,
        'MERCHANT ' || (i % 700) AS description,
        '4111111111' || lpad(CAST(i % 5000 AS VARCHAR), 6, '0') AS card_number
        FROM range({ROWS}) t(i)) TO '{txns}' (HEADER)"""
    )
    return customers, txns


def _lake_stats(lake_dir: Path) -> tuple[int, int]:
    files = [str(p) for p in lake_dir.glob("transactions/partner=acme/date=*/*.parquet")]
    if not files:
        return 0, 0
    row = (
        duckdb.connect()
        .execute(
            "SELECT count(*), count(DISTINCT txn_id) "
            "FROM read_parquet($f, hive_partitioning=false)",
            {"f": files},
        )
        .fetchone()
    )
    assert row is not None
    return int(row[0]), int(row[1])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sigkill_mid_file_then_rerun_stores_every_row_once(
    tmp_path: Path, context: AppContext, settings: Settings, acme: PartnerKey
) -> None:
    customers, txns = _make_files(tmp_path)
    assert (
        service.ingest_path(context.sessions, settings, "acme", "customers", customers).stored
        == 1000
    )
    env = {
        **os.environ,
        "SIGHTLINE_ENV": "test",
        "SIGHTLINE_DATA_DIR": str(settings.data_dir),
        "SIGHTLINE_DATABASE_URL": settings.resolved_database_url,
        "SIGHTLINE_SECRET_KEY": settings.secret_key,
    }
    cmd = [
        str(Path(sys.executable).parent / "sightline"),
        "ingest",
        "transactions",
        str(txns),
        "--partner",
        "acme",
    ]
    stage_root = settings.lake_dir / "_staging" / "transactions" / "partner=acme"
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if stage_root.is_dir() and any(stage_root.rglob("*.parquet")):
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the ingest finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    # a dead run: recorded as running, nothing (or part) published, staging left behind
    with db.transaction(context.sessions) as s:
        dead = s.scalars(select(IngestRun).where(IngestRun.feed == "transactions")).one()
        assert dead.status == "running"
    stored_before, _ = _lake_stats(settings.lake_dir)
    assert stored_before < ROWS

    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    total, distinct = _lake_stats(settings.lake_dir)
    assert total == distinct == ROWS
    assert not any(stage_root.rglob("*.parquet"))  # the dead run's staging was cleared
    with db.transaction(context.sessions) as s:
        runs = {
            r.run_id: r
            for r in s.scalars(select(IngestRun).where(IngestRun.feed == "transactions"))
        }
        statuses = sorted(r.status for r in runs.values())
        assert statuses == ["interrupted", "succeeded"]
        done = next(r for r in runs.values() if r.status == "succeeded")
        assert done.rows_read == ROWS and done.rows_stored + done.rows_duplicate == ROWS
