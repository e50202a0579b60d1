"""All SQL of ingestion. Every query is scoped by partner."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sightline.ingest.models import (
    AlertWebhook,
    ConsentChange,
    ConsentState,
    CustomerId,
    IngestRun,
    QuarantinedRow,
    RawEvent,
    SftpKey,
)
from sightline.store.base import utcnow

CHUNK = 5_000


def _insert(session: Session, model: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


# -- runs -------------------------------------------------------------------------------------
def add_run(session: Session, run: IngestRun) -> None:
    session.add(run)
    session.flush()


def get_run(session: Session, partner_id: str, run_id: str) -> IngestRun | None:
    run = session.get(IngestRun, run_id)
    return run if run is not None and run.partner_id == partner_id else None


def succeeded_run_with_hash(
    session: Session, partner_id: str, feed: str, content_hash: str
) -> IngestRun | None:
    return session.scalars(
        select(IngestRun)
        .where(
            IngestRun.partner_id == partner_id,
            IngestRun.feed == feed,
            IngestRun.content_hash == content_hash,
            IngestRun.status.in_(("succeeded", "partial")),
        )
        .order_by(IngestRun.run_id)
        .limit(1)
    ).first()


def set_content_hash(session: Session, run_id: str, content_hash: str) -> None:
    run = session.get(IngestRun, run_id)
    if run is not None:
        run.content_hash = content_hash


def mark_interrupted(session: Session, partner_id: str, feed: str, *, exclude: str) -> int:
    result = session.execute(
        update(IngestRun)
        .where(
            IngestRun.partner_id == partner_id,
            IngestRun.feed == feed,
            IngestRun.status == "running",
            IngestRun.run_id != exclude,
        )
        .values(status="interrupted", finished_at=utcnow(), message="the process stopped mid-run")
    )
    return int(getattr(result, "rowcount", 0) or 0)


def list_runs(
    session: Session,
    partner_id: str,
    *,
    limit: int = 50,
    before: str | None = None,
    feed: str | None = None,
    status: str | None = None,
) -> Sequence[IngestRun]:
    query = select(IngestRun).where(IngestRun.partner_id == partner_id)
    if before:
        query = query.where(IngestRun.run_id < before)
    if feed:
        query = query.where(IngestRun.feed == feed)
    if status:
        query = query.where(IngestRun.status == status)
    return session.scalars(query.order_by(IngestRun.run_id.desc()).limit(limit)).all()


def add_quarantine(session: Session, rows: Iterable[dict[str, Any]]) -> None:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            session.execute(_insert(session, QuarantinedRow), batch)
            batch = []
    if batch:
        session.execute(_insert(session, QuarantinedRow), batch)


def list_quarantine(
    session: Session, partner_id: str, run_id: str, *, limit: int, after: int | None = None
) -> Sequence[QuarantinedRow]:
    query = select(QuarantinedRow).where(
        QuarantinedRow.partner_id == partner_id, QuarantinedRow.run_id == run_id
    )
    if after is not None:
        query = query.where(QuarantinedRow.id > after)
    return session.scalars(query.order_by(QuarantinedRow.id).limit(limit)).all()


# -- customer ids ------------------------------------------------------------------------------
def known_ids(session: Session, partner_id: str) -> pa.Table:
    ucics: list[str] = []
    members: list[str | None] = []
    result = session.execute(
        select(CustomerId.ucic, CustomerId.member_id)
        .where(CustomerId.partner_id == partner_id)
        .execution_options(yield_per=50_000)
    )
    for ucic, member in result:
        ucics.append(ucic)
        members.append(member)
    return pa.table(
        {"ucic": pa.array(ucics, pa.string()), "member_id": pa.array(members, pa.string())}
    )


def upsert_customer_ids(session: Session, partner_id: str, rows: pa.Table) -> int:
    now = utcnow()
    ucics = rows.column("ucic").to_pylist()
    members = rows.column("member_id").to_pylist() if "member_id" in rows.column_names else []
    payload = [
        {
            "partner_id": partner_id,
            "ucic": u,
            "member_id": members[i] if members else None,
            "updated_at": now,
        }
        for i, u in enumerate(ucics)
        if u is not None
    ]
    for start in range(0, len(payload), CHUNK):
        stmt = _insert(session, CustomerId)
        stmt = stmt.on_conflict_do_update(
            index_elements=["partner_id", "ucic"],
            set_={
                "member_id": func.coalesce(stmt.excluded.member_id, CustomerId.member_id),
                "updated_at": stmt.excluded.updated_at,
            },
        )
        session.execute(stmt, payload[start : start + CHUNK])
    return len(payload)


def ucic_for_member(session: Session, partner_id: str, member_ids: Sequence[str]) -> dict[str, str]:
    if not member_ids:
        return {}
    rows = session.execute(
        select(CustomerId.member_id, CustomerId.ucic).where(
            CustomerId.partner_id == partner_id, CustomerId.member_id.in_(list(member_ids))
        )
    )
    return {m: u for m, u in rows if m is not None}


# -- events ------------------------------------------------------------------------------------
def existing_event_ids(session: Session, partner_id: str, event_ids: Sequence[str]) -> set[str]:
    if not event_ids:
        return set()
    rows = session.scalars(
        select(RawEvent.event_id).where(
            RawEvent.partner_id == partner_id, RawEvent.event_id.in_(list(event_ids))
        )
    )
    return set(rows)


def insert_events(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        stmt = _insert(session, RawEvent).on_conflict_do_nothing(
            index_elements=["partner_id", "event_id"]
        )
        session.execute(stmt, rows)


def unflushed_events(session: Session, partner_id: str, limit: int) -> Sequence[RawEvent]:
    return session.scalars(
        select(RawEvent)
        .where(RawEvent.partner_id == partner_id, RawEvent.flushed_run_id.is_(None))
        .order_by(RawEvent.received_at, RawEvent.event_id)
        .limit(limit)
    ).all()


def partners_with_unflushed_events(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(RawEvent.partner_id).where(RawEvent.flushed_run_id.is_(None)).distinct()
        )
    )


def mark_flushed(session: Session, partner_id: str, event_ids: Sequence[str], run_id: str) -> None:
    for start in range(0, len(event_ids), CHUNK):
        session.execute(
            update(RawEvent)
            .where(
                RawEvent.partner_id == partner_id,
                RawEvent.event_id.in_(list(event_ids[start : start + CHUNK])),
            )
            .values(flushed_run_id=run_id)
        )


# -- consents ----------------------------------------------------------------------------------
def record_consents(
    session: Session, partner_id: str, rows: list[dict[str, Any]], run_id: str
) -> int:
    """Append to the history (idempotent on the change key) and move the current state forward
    when a change is at least as recent as the one it has."""
    now = utcnow()
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        hist = _insert(session, ConsentChange).on_conflict_do_nothing(
            index_elements=["partner_id", "ucic", "channel", "purpose", "changed_at"]
        )
        session.execute(
            hist,
            [{**r, "partner_id": partner_id, "run_id": run_id, "recorded_at": now} for r in chunk],
        )
    latest: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in rows:
        k = (r["ucic"], r["channel"], r["purpose"])
        if k not in latest or r["changed_at"] >= latest[k]["changed_at"]:
            latest[k] = r
    current = [{**r, "partner_id": partner_id} for r in latest.values()]
    for start in range(0, len(current), CHUNK):
        stmt = _insert(session, ConsentState)
        stmt = stmt.on_conflict_do_update(
            index_elements=["partner_id", "ucic", "channel", "purpose"],
            set_={
                "status": stmt.excluded.status,
                "changed_at": stmt.excluded.changed_at,
                "source": stmt.excluded.source,
            },
            where=ConsentState.changed_at <= stmt.excluded.changed_at,
        )
        session.execute(stmt, current[start : start + CHUNK])
    return len(rows)


def consent_state(session: Session, partner_id: str, ucic: str) -> Sequence[ConsentState]:
    return session.scalars(
        select(ConsentState)
        .where(ConsentState.partner_id == partner_id, ConsentState.ucic == ucic)
        .order_by(ConsentState.channel, ConsentState.purpose)
    ).all()


def consent_history(session: Session, partner_id: str, ucic: str) -> Sequence[ConsentChange]:
    return session.scalars(
        select(ConsentChange)
        .where(ConsentChange.partner_id == partner_id, ConsentChange.ucic == ucic)
        .order_by(
            ConsentChange.changed_at,
            ConsentChange.channel,
            ConsentChange.purpose,
            ConsentChange.id,
        )
    ).all()


def consent_status(
    session: Session, partner_id: str, ucic: str, channel: str, purpose: str
) -> str | None:
    row = session.get(ConsentState, (partner_id, ucic, channel, purpose))
    return row.status if row is not None else None


# -- alert webhooks, sftp keys -----------------------------------------------------------------
def add_alert_webhook(session: Session, partner_id: str, url: str, secret: str) -> AlertWebhook:
    hook = AlertWebhook(partner_id=partner_id, url=url, secret=secret, created_at=utcnow())
    session.add(hook)
    session.flush()
    return hook


def alert_webhooks(session: Session, partner_id: str) -> Sequence[AlertWebhook]:
    return session.scalars(
        select(AlertWebhook).where(AlertWebhook.partner_id == partner_id).order_by(AlertWebhook.id)
    ).all()


def add_sftp_key(session: Session, partner_id: str, public_key: str, fingerprint: str) -> SftpKey:
    key = SftpKey(
        partner_id=partner_id, public_key=public_key, fingerprint=fingerprint, created_at=utcnow()
    )
    session.add(key)
    session.flush()
    return key


def sftp_keys(session: Session, partner_id: str | None = None) -> Sequence[SftpKey]:
    query = select(SftpKey).order_by(SftpKey.id)
    if partner_id is not None:
        query = query.where(SftpKey.partner_id == partner_id)
    return session.scalars(query).all()
