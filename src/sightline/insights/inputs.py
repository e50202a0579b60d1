"""The lake datasets the KLI rules read, as Ibis tables with fixed schemas.

Only the date partitions a refresh needs are opened (transactions within the longest look-back,
the latest account snapshot and the one about 90 days before it, telemetry within its windows),
so a refresh's cost follows its windows, not the age of the lake.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from sightline.insights.engines import Engine
from sightline.lake import date_partitions, parquet_files

ENRICHED = "enriched_transactions"
MONEY = dt.Decimal(18, 2)

TXN_SCHEMA: dict[str, dt.DataType] = {
    "txn_id": dt.string,
    "ucic": dt.string,
    "posted_at": dt.date,
    "amount": MONEY,
    "direction": dt.string,
    "merchant_id": dt.string,
    "merchant_name": dt.string,
    "category_group": dt.string,
    "category": dt.string,
    "competitive_fi_id": dt.string,
    "fi_product": dt.string,
    "transaction_kind": dt.string,
}
ACCOUNT_SCHEMA: dict[str, dt.DataType] = {
    "ucic": dt.string,
    "account_id": dt.string,
    "product": dt.string,
    "balance": MONEY,
    "open_date": dt.date,
    "status": dt.string,
    "as_of": dt.date,
}
CUSTOMER_SCHEMA: dict[str, dt.DataType] = {
    "ucic": dt.string,
    "ucic_type": dt.string,
    "birth_year": dt.int64,
    "customer_since": dt.date,
    "annual_income": MONEY,
    "as_of": dt.date,
}
EVENT_SCHEMA: dict[str, dt.DataType] = {
    "ucic": dt.string,
    "type": dt.string,
    "occurred_at": dt.timestamp,
}
TELEMETRY_SCHEMA: dict[str, dt.DataType] = {
    "ucic": dt.string,
    "date": dt.date,
    "channel": dt.string,
    "logins": dt.int64,
    "bill_pay": dt.int64,
    "p2p": dt.int64,
    "rdc": dt.int64,
}

BALANCE_TREND_DAYS = 90
TELEMETRY_DAYS = 120


def _snapshot_files(lake_dir: Path, partner_id: str, day: date | None) -> list[Path]:
    return parquet_files(lake_dir, "accounts", partner_id, start=day, end=day) if day else []


def files_between(
    lake_dir: Path, feed: str, partner_id: str, after: date | None, upto: date
) -> list[Path]:
    start = after + timedelta(days=1) if after is not None else None
    return parquet_files(lake_dir, feed, partner_id, start=start, end=upto)


def snapshot_dates(lake_dir: Path, partner_id: str, as_of: date) -> tuple[date | None, date | None]:
    """The latest account snapshot on or before ``as_of`` and the latest one at least
    :data:`BALANCE_TREND_DAYS` older (for balance trends)."""
    dates = sorted(d for d in date_partitions(lake_dir, "accounts", partner_id) if d <= as_of)
    if not dates:
        return None, None
    now = dates[-1]
    limit = now - timedelta(days=BALANCE_TREND_DAYS)
    before = [d for d in dates if d <= limit]
    return now, (before[-1] if before else None)


@dataclass
class Inputs:
    """Everything the rules read, scoped to one partner (and, incrementally, to some ucics)."""

    as_of: date
    txns: ir.Table
    accounts_now: ir.Table
    accounts_before: ir.Table
    customers: ir.Table
    events: ir.Table
    telemetry: ir.Table


#: a range of ucics: from ``lo`` (inclusive) up to ``hi`` (exclusive), ``None`` for no bound;
#: ucics compare as their bytes (DuckDB's string order, the order of the assignments)
UcicRange = tuple[str | None, str | None]


def transaction_files(
    lake_dir: Path, partner_id: str, *, as_of: date, lookback_days: int
) -> list[Path]:
    """The enriched transaction files of the look-back ending at ``as_of``."""
    return files_between(
        lake_dir, ENRICHED, partner_id, as_of - timedelta(days=lookback_days), as_of
    )


def load_inputs(
    engine: Engine,
    lake_dir: Path,
    partner_id: str,
    *,
    as_of: date,
    lookback_days: int,
    scope: ir.Table | None = None,
    ucic_range: UcicRange | None = None,
) -> Inputs:
    """Open the partner's lake partitions the rules need; ``scope`` (a one-column ``ucic``
    table) restricts every input to those customers (incremental refresh), ``ucic_range`` to
    the customers in a range (a refresh computed range by range): a filter on the files' scan,
    so files written in ucic order skip the row groups outside it."""
    now, before = snapshot_dates(lake_dir, partner_id, as_of)

    def read(files: list[Path], schema: dict[str, dt.DataType]) -> ir.Table:
        t = engine.table_from_files(files, schema)
        if ucic_range is not None:
            lo, hi = ucic_range
            if lo is not None:
                t = t.filter(t.ucic >= lo)
            if hi is not None:
                t = t.filter(t.ucic < hi)
        if scope is not None:
            t = t.semi_join(scope, "ucic")
        return t

    txn_files = transaction_files(lake_dir, partner_id, as_of=as_of, lookback_days=lookback_days)
    txns = read(txn_files, TXN_SCHEMA)
    txns = txns.filter(
        txns.ucic.notnull(),
        txns.posted_at > ibis.literal(as_of - timedelta(days=lookback_days)),
        txns.posted_at <= ibis.literal(as_of),
    )
    accounts_now = read(_snapshot_files(lake_dir, partner_id, now), ACCOUNT_SCHEMA)
    accounts_before = read(_snapshot_files(lake_dir, partner_id, before), ACCOUNT_SCHEMA)
    customers = read(files_between(lake_dir, "customers", partner_id, None, as_of), CUSTOMER_SCHEMA)
    events = read(files_between(lake_dir, "events", partner_id, None, as_of), EVENT_SCHEMA)
    events = events.filter(events.ucic.notnull(), events.occurred_at.date() <= as_of)
    telemetry = read(
        files_between(
            lake_dir, "telemetry", partner_id, as_of - timedelta(days=TELEMETRY_DAYS), as_of
        ),
        TELEMETRY_SCHEMA,
    )
    return Inputs(
        as_of=as_of,
        txns=txns,
        accounts_now=accounts_now.filter(accounts_now.ucic.notnull()),
        accounts_before=accounts_before.filter(accounts_before.ucic.notnull()),
        customers=customers.filter(customers.ucic.notnull()),
        events=events,
        telemetry=telemetry.filter(telemetry.ucic.notnull()),
    )
