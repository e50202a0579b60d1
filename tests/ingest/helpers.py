"""Small plain helpers that write feed files for the ingestion tests."""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from sightline.ingest.schemas import FEEDS


def make_customer(**overrides: Any) -> dict[str, Any]:
    row = {
        "ucic": "c1",
        "member_id": "m1",
        "ucic_type": "I",
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "ann@example.com",
        "phone": "555-010-2030",
        "street_address": "1 Main St",
        "city": "Springfield",
        "state": "IL",
        "zip": "62701",
        "birth_date": "1980-02-03",
        "ssn": "123-45-6789",
        "customer_since": "2020-01-01",
        "annual_income": "85000.00",
        "as_of": "2026-01-31",
    }
    row.update(overrides)
    return row


def make_txn(**overrides: Any) -> dict[str, Any]:
    row = {
        "txn_id": "t1",
        "ucic": "c1",
        "member_id": "",
        "account_id": "a1",
        "posted_at": "2026-01-05",
        "amount": "12.50",
        "direction": "debit",
        "channel": "card",
        "mcc": "5812",
        "description": "SQ *COFFEE SHOP 123",
        "card_number": "4111 1111 1111 1234",
    }
    row.update(overrides)
    return row


def make_account(**overrides: Any) -> dict[str, Any]:
    row = {
        "account_id": "a1",
        "ucic": "c1",
        "account_number": "000123456789",
        "product": "checking",
        "holder_role": "primary",
        "balance": "1520.33",
        "open_date": "2020-01-01",
        "status": "open",
        "as_of": "2026-01-31",
    }
    row.update(overrides)
    return row


def make_event(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "event_id": "e1",
        "ucic": "c1",
        "type": "account_funded",
        "occurred_at": "2026-01-05T10:00:00Z",
        "channel": "web",
        "attributes": {"amount": "100.00"},
    }
    row.update(overrides)
    return row


def make_consent(**overrides: Any) -> dict[str, Any]:
    row = {
        "ucic": "c1",
        "channel": "email",
        "purpose": "marketing",
        "status": "granted",
        "changed_at": "2026-01-05T10:00:00Z",
        "source": "web",
        "contact": "ann@example.com",
    }
    row.update(overrides)
    return row


def write_csv(
    path: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None
) -> Path:
    columns = list(columns or rows[0].keys())
    path.parent.mkdir(parents=True, exist_ok=True)
    opener: Any = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return path


def write_ndjson(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_parquet(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = list(rows[0].keys())
    pq.write_table(pa.table({c: [r.get(c) for r in rows] for c in cols}), path)
    return path


def lake_rows(lake_dir: Path, feed: str, partner_id: str = "acme") -> list[dict[str, Any]]:
    files = sorted((lake_dir / feed / f"partner={partner_id}").glob("date=*/*.parquet"))
    if not files:
        return []
    return [r for f in files for r in pq.ParquetFile(f).read().to_pylist()]


def lake_count(lake_dir: Path, feed: str, partner_id: str = "acme") -> int:
    files = sorted((lake_dir / feed / f"partner={partner_id}").glob("date=*/*.parquet"))
    if not files:
        return 0
    con = duckdb.connect()
    file_list = [str(f) for f in files]
    row = con.execute(
        "SELECT count(*) FROM read_parquet($files, hive_partitioning=false)", {"files": file_list}
    ).fetchone()
    return int(row[0]) if row else 0


def all_feeds() -> list[str]:
    return list(FEEDS)
