"""Ingestion tables: runs, quarantined rows, raw webhook events, the ucic / member-id map,
consent history and current state, alert webhooks, SFTP keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sightline.store.base import Base, utcnow

_PARTNER_FK = "partners.partner_id"


class IngestRun(Base):
    """One ingestion of one file (or one flush of webhook events)."""

    __tablename__ = "ingest_runs"

    run_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey(_PARTNER_FK, ondelete="CASCADE"))
    feed: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(String(20))
    rows_read: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_stored: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_quarantined: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_duplicate: Mapped[int] = mapped_column(BigInteger, default=0)
    message: Mapped[str | None] = mapped_column(Text, default=None)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_ingest_runs_partner_run", "partner_id", "run_id"),
        Index("ix_ingest_runs_partner_hash", "partner_id", "feed", "content_hash"),
    )


class QuarantinedRow(Base):
    """A row that failed validation: where it was, which field, why, and the row (PII masked)."""

    __tablename__ = "ingest_quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey(_PARTNER_FK, ondelete="CASCADE"))
    run_id: Mapped[str] = mapped_column(ForeignKey("ingest_runs.run_id", ondelete="CASCADE"))
    file: Mapped[str] = mapped_column(Text)
    line: Mapped[int] = mapped_column(BigInteger)
    field: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    record: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)

    __table_args__ = (Index("ix_ingest_quarantine_run_line", "run_id", "line"),)


class RawEvent(Base):
    """An accepted webhook event, stored (masked) before the 202; flushed to the lake later."""

    __tablename__ = "ingest_events"

    partner_id: Mapped[str] = mapped_column(
        ForeignKey(_PARTNER_FK, ondelete="CASCADE"), primary_key=True
    )
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    flushed_run_id: Mapped[str | None] = mapped_column(String(40), default=None)

    __table_args__ = (Index("ix_ingest_events_partner_flushed", "partner_id", "flushed_run_id"),)


class CustomerId(Base):
    """Known ucics of a partner and their member ids (from the customers feed)."""

    __tablename__ = "ingest_customer_ids"

    partner_id: Mapped[str] = mapped_column(
        ForeignKey(_PARTNER_FK, ondelete="CASCADE"), primary_key=True
    )
    ucic: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[str | None] = mapped_column(String(64), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_ingest_customer_ids_member", "partner_id", "member_id"),)


class ConsentChange(Base):
    """Append-only consent history (one row per change, never updated)."""

    __tablename__ = "consent_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey(_PARTNER_FK, ondelete="CASCADE"))
    ucic: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    changed_at: Mapped[datetime] = mapped_column()
    source: Mapped[str | None] = mapped_column(String(64), default=None)
    run_id: Mapped[str | None] = mapped_column(String(40), default=None)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint(
            "partner_id",
            "ucic",
            "channel",
            "purpose",
            "changed_at",
            name="uq_consent_history_change",
        ),
    )


class ConsentState(Base):
    """The current consent per (partner, ucic, channel, purpose): the latest change wins."""

    __tablename__ = "consent_current"

    partner_id: Mapped[str] = mapped_column(
        ForeignKey(_PARTNER_FK, ondelete="CASCADE"), primary_key=True
    )
    ucic: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    changed_at: Mapped[datetime] = mapped_column()
    source: Mapped[str | None] = mapped_column(String(64), default=None)


class AlertWebhook(Base):
    """Where a partner's ingestion alerts are posted (Standard Webhooks signed)."""

    __tablename__ = "ingest_alert_webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey(_PARTNER_FK, ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_ingest_alert_webhooks_partner", "partner_id"),)


class SftpKey(Base):
    """An SSH public key allowed to log in to the partner's SFTP landing folder."""

    __tablename__ = "ingest_sftp_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey(_PARTNER_FK, ondelete="CASCADE"))
    public_key: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_ingest_sftp_keys_partner", "partner_id"),)
