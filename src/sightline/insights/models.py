"""Serving-DB tables of the KLI assignments (Alembic branch ``kli``).

Assignments are stored per *generation*, and readers always join through the partner's pointer
in ``kli_publications``; a publish replaces the current generation's rows inside one transaction,
so readers see either the old set or the new one, never a mix. The large
tables carry no foreign keys and no secondary index (bulk loads of millions of rows; each index
costs more than the load itself). The assignments are stored one row per customer
(``kli_assignment_sets``): the one-customer lookup is one primary-key seek.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
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


class KliAssignmentSet(Base):
    """Every KLI one customer holds in one generation: one row per customer, not per assignment.

    A publish writes and reads whole customers (a full one every customer, an incremental one
    the customers of the day's file), so one row each is ~12x fewer rows to insert, look up,
    compare and delete than one row per (customer, KLI) — the per-row cost, not the bytes, set
    the publish time (docs/benchmarks.md, "KLI refresh"). Formats (built in bulk by
    ``publish.pack``, read by ``repository``):

    - ``klis``: one 24-byte little-endian record per KLI, in ``kli_code`` order: kli_code
      int64, first_assigned int32 (days since 1970-01-01), evidence_bytes int32 (-1: no
      evidence), strength float64 (NaN: none) — ``repository.KLI_RECORD``;
    - ``evidence``: the KLIs' evidence JSON texts concatenated in the same order, each
      ``evidence_bytes`` long in UTF-8 (null when none has evidence).
    """

    __tablename__ = "kli_assignment_sets"

    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    ucic: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_assigned: Mapped[date] = mapped_column(Date)
    """The as-of date of the publish that last wrote the customer (every KLI of it)."""
    klis: Mapped[bytes] = mapped_column(LargeBinary)
    evidence: Mapped[str | None] = mapped_column(Text, default=None)


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
