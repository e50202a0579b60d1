"""Small helpers that write lake files the way ingestion and enrichment do (pyarrow, typed)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

MONEY = pa.decimal128(18, 2)
TS = pa.timestamp("us", tz="UTC")

ENRICHED_TYPES: dict[str, pa.DataType] = {
    "txn_id": pa.string(),
    "ucic": pa.string(),
    "member_id": pa.string(),
    "account_id": pa.string(),
    "posted_at": pa.date32(),
    "amount": MONEY,
    "direction": pa.string(),
    "channel": pa.string(),
    "mcc": pa.string(),
    "description": pa.string(),
    "partner_id": pa.string(),
    "ingest_run_id": pa.string(),
    "ingested_at": TS,
    "cleansed": pa.string(),
    "merchant_id": pa.string(),
    "merchant_name": pa.string(),
    "category": pa.string(),
    "category_group": pa.string(),
    "competitive_fi": pa.string(),
    "competitive_fi_id": pa.string(),
    "fi_product": pa.string(),
    "transaction_kind": pa.string(),
    "match_type": pa.string(),
    "match_score": pa.float64(),
}
ACCOUNT_TYPES: dict[str, pa.DataType] = {
    "account_id": pa.string(),
    "ucic": pa.string(),
    "product": pa.string(),
    "balance": MONEY,
    "open_date": pa.date32(),
    "status": pa.string(),
    "as_of": pa.date32(),
    "partner_id": pa.string(),
    "ingest_run_id": pa.string(),
    "ingested_at": TS,
}
CUSTOMER_TYPES: dict[str, pa.DataType] = {
    "ucic": pa.string(),
    "ucic_type": pa.string(),
    "birth_year": pa.int32(),
    "customer_since": pa.date32(),
    "annual_income": MONEY,
    "state": pa.string(),
    "as_of": pa.date32(),
    "partner_id": pa.string(),
    "ingest_run_id": pa.string(),
    "ingested_at": TS,
}
EVENT_TYPES: dict[str, pa.DataType] = {
    "event_id": pa.string(),
    "ucic": pa.string(),
    "type": pa.string(),
    "occurred_at": TS,
    "partner_id": pa.string(),
    "ingest_run_id": pa.string(),
    "ingested_at": TS,
}
TELEMETRY_TYPES: dict[str, pa.DataType] = {
    "ucic": pa.string(),
    "date": pa.date32(),
    "channel": pa.string(),
    "logins": pa.int32(),
    "bill_pay": pa.int32(),
    "p2p": pa.int32(),
    "rdc": pa.int32(),
    "partner_id": pa.string(),
    "ingest_run_id": pa.string(),
    "ingested_at": TS,
}
FEEDS = {
    "enriched_transactions": (ENRICHED_TYPES, "posted_at"),
    "transactions": (ENRICHED_TYPES, "posted_at"),
    "accounts": (ACCOUNT_TYPES, "as_of"),
    "customers": (CUSTOMER_TYPES, "as_of"),
    "events": (EVENT_TYPES, "occurred_at"),
    "telemetry": (TELEMETRY_TYPES, "date"),
}
_seq = itertools.count(1)


def _day(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value


def write_feed(
    lake: Path,
    feed: str,
    partner: str,
    rows: list[dict[str, Any]],
    *,
    run_id: str | None = None,
    ingested_at: datetime | None = None,
) -> list[Path]:
    """Write rows into ``lake/<feed>/partner=<p>/date=<d>/<run>-<n>.parquet`` by date."""
    types, date_field = FEEDS[feed]
    run_id = run_id or f"run{next(_seq):05d}"
    ingested_at = ingested_at or datetime.now(UTC)
    by_day: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        full = {"partner_id": partner, "ingest_run_id": run_id, "ingested_at": ingested_at, **row}
        if "amount" in full and not isinstance(full["amount"], Decimal):
            full["amount"] = Decimal(str(full["amount"])).quantize(Decimal("0.01"))
        if "balance" in full and not isinstance(full["balance"], Decimal):
            full["balance"] = Decimal(str(full["balance"])).quantize(Decimal("0.01"))
        if full.get("annual_income") is not None and not isinstance(full["annual_income"], Decimal):
            full["annual_income"] = Decimal(str(full["annual_income"])).quantize(Decimal("0.01"))
        by_day[_day(full[date_field])].append(full)
    written = []
    for day, day_rows in sorted(by_day.items()):
        folder = lake / feed / f"partner={partner}" / f"date={day.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        schema = pa.schema([(n, t) for n, t in types.items()])
        table = pa.Table.from_pylist(
            [{n: r.get(n) for n in types} for r in day_rows], schema=schema
        )
        path = folder / f"{run_id}-{len(list(folder.glob('*.parquet')))}.parquet"
        pq.write_table(table, path)
        written.append(path)
    return written


def txn(
    txn_id: str,
    ucic: str,
    posted_at: date,
    amount: float,
    *,
    direction: str = "debit",
    merchant_id: str | None = None,
    category: str | None = None,
    category_group: str | None = None,
    competitive_fi_id: str | None = None,
    fi_product: str | None = None,
    transaction_kind: str = "card_purchase",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "txn_id": txn_id,
        "ucic": ucic,
        "account_id": f"A-{ucic}",
        "posted_at": posted_at,
        "amount": amount,
        "direction": direction,
        "channel": "card" if transaction_kind == "card_purchase" else "ach",
        "description": f"{merchant_id or competitive_fi_id or 'UNKNOWN'} {txn_id}",
        "merchant_id": merchant_id,
        "merchant_name": merchant_id,
        "category": category,
        "category_group": category_group,
        "competitive_fi_id": competitive_fi_id,
        "fi_product": fi_product,
        "transaction_kind": transaction_kind,
        "match_type": "EXACT" if merchant_id else "NONE",
        "match_score": 1.0 if merchant_id else 0.0,
        **extra,
    }
