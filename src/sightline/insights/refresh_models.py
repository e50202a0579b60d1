"""The refresh log: one row per KLI refresh of a partner (full or incremental)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sightline.store.base import Base, utcnow


class KliRefresh(Base):
    __tablename__ = "kli_refreshes"

    refresh_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.partner_id", ondelete="CASCADE"))
    mode: Mapped[str] = mapped_column(String(16))
    """``full`` or ``incremental``."""
    status: Mapped[str] = mapped_column(String(16), default="running")
    """``running``, ``succeeded`` or ``failed``."""
    trigger: Mapped[str] = mapped_column(String(16), default="manual")
    """``manual`` (CLI/API), ``daily``, ``monthly`` or ``ingest`` (new data seen)."""
    engine: Mapped[str] = mapped_column(String(16))
    as_of: Mapped[date] = mapped_column(Date)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    duration_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    customers: Mapped[int] = mapped_column(BigInteger, default=0)
    """Customers recomputed (all of the partner's when full; those with new data otherwise)."""
    assignments: Mapped[int] = mapped_column(BigInteger, default=0)
    gained: Mapped[int] = mapped_column(BigInteger, default=0)
    lost: Mapped[int] = mapped_column(BigInteger, default=0)
    transactions_enriched: Mapped[int] = mapped_column(BigInteger, default=0)
    watermark: Mapped[datetime | None] = mapped_column(default=None)
    """Newest ``ingested_at`` the refresh saw: the next incremental starts after it."""
    detail: Mapped[dict[str, object] | None] = mapped_column(JSON, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)

    __table_args__ = (Index("ix_kli_refreshes_partner_started", "partner_id", "started_at"),)
