"""Serving-DB tables of the KLI assignments (Alembic branch ``kli``).

Assignments are stored per *generation*: a full refresh writes a new generation next to the
current one and then moves the partner's pointer in ``kli_publications`` — readers always join
through that pointer, so they see either the old set or the new one, never a mix. The large
tables carry no foreign keys and no secondary index (bulk loads of tens of millions of rows; each
index costs more than the load itself) and, on SQLite, are ``WITHOUT ROWID`` tables clustered on
their primary key: the one-customer lookup reads a single contiguous key range.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sightline.store.base import Base, utcnow


class KliPublication(Base):
    """The partner's current generation of assignments and what produced it."""

    __tablename__ = "kli_publications"

    partner_id: Mapped[str] = mapped_column(
        ForeignKey("partners.partner_id", ondelete="CASCADE"), primary_key=True
    )
    generation: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    """Bumped on every publish (full or incremental)."""
    as_of: Mapped[date] = mapped_column(Date)
    refresh_id: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    customers: Mapped[int] = mapped_column(BigInteger, default=0)
    assignments: Mapped[int] = mapped_column(BigInteger, default=0)


class KliAssignment(Base):
    __tablename__ = "kli_assignments"

    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    ucic: Mapped[str] = mapped_column(String(64), primary_key=True)
    kli_code: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    first_assigned: Mapped[date] = mapped_column(Date)
    last_assigned: Mapped[date] = mapped_column(Date)
    strength: Mapped[float | None] = mapped_column(Float, default=None)
    evidence: Mapped[str | None] = mapped_column(Text, default=None)
    """Why: the rule's evidence as compact JSON text (rule, window, counts, a few txn ids)."""

    __table_args__ = ({"sqlite_with_rowid": False},)


class KliCount(Base):
    """Customers per KLI: ``ucic_count`` holds it or any descendant, ``direct_count`` it."""

    __tablename__ = "kli_counts"

    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    kli_code: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ucic_count: Mapped[int] = mapped_column(BigInteger)
    direct_count: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = ({"sqlite_with_rowid": False},)


class KliHistory(Base):
    """Every gain and loss of a KLI by a customer, dated with the refresh's as-of date."""

    __tablename__ = "kli_history"

    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kli_code: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    ucic: Mapped[str] = mapped_column(String(64), primary_key=True)
    refresh_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    change: Mapped[str] = mapped_column(String(8), primary_key=True)
    """``gained`` or ``lost``."""

    __table_args__ = (
        Index("ix_kli_history_ucic", "partner_id", "ucic", "date"),
        {"sqlite_with_rowid": False},
    )


class PrivateKli(Base):
    """A partner's own (PRIVATE) KLI; visible to that partner only."""

    __tablename__ = "kli_private"

    kli_code: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.partner_id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    kli_name: Mapped[str] = mapped_column(String(200))
    kli_description: Mapped[str] = mapped_column(Text, default="")
    parent_kli_code: Mapped[int | None] = mapped_column(BigInteger, default=None)
    kli_is_competitive: Mapped[str] = mapped_column(String(1), default="N")
    kli_is_leaf: Mapped[str] = mapped_column(String(1), default="Y")
    definition: Mapped[dict[str, object] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_kli_private_partner_key", "partner_id", "key", unique=True),)
