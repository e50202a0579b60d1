"""kli: assignments stored one row per customer (kli_assignment_sets) instead of one per KLI

The rows of ``kli_assignments`` are carried over: each customer's rows of each generation become
one ``kli_assignment_sets`` row (formats in ``sightline/insights/models.py``), and back on
downgrade.

Revision ID: kli_0002
Revises: kli_0001
"""

import struct
from collections.abc import Iterator
from datetime import date
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "kli_0002"
down_revision = "kli_0001"
branch_labels = None
depends_on = None

BATCH = 10_000
RECORD = struct.Struct("<qiid")
"""kli_code, first_assigned (days since 1970-01-01), evidence bytes (-1: none), strength (NaN:
none) — the format of ``kli_assignment_sets.klis`` at this revision."""
EPOCH = date(1970, 1, 1).toordinal()
NAN = float("nan")


def _iso(value: Any) -> str:
    return value if isinstance(value, str) else value.isoformat()


def _rows(conn: sa.Connection, sql: str) -> Iterator[Any]:
    result = conn.execute(sa.text(sql).execution_options(stream_results=True))
    while batch := result.fetchmany(BATCH):
        yield from batch


def upgrade() -> None:
    op.create_table(
        "kli_assignment_sets",
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("ucic", sa.String(64), nullable=False),
        sa.Column("last_assigned", sa.Date(), nullable=False),
        sa.Column("klis", sa.LargeBinary(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("partner_id", "generation", "ucic", name="pk_kli_assignment_sets"),
    )
    conn = op.get_bind()
    insert = sa.text(
        "INSERT INTO kli_assignment_sets (partner_id, generation, ucic, last_assigned, klis,"
        " evidence) VALUES (:p, :g, :u, :d, :k, :e)"
    )
    pending: list[dict[str, Any]] = []
    current: tuple[str, int, str] | None = None
    lines: list[bytes] = []
    texts: list[str] = []
    last: Any = None

    def flush_customer() -> None:
        if current is not None:
            evidence = "".join(texts) if any(t for t in texts) else None
            pending.append(
                {"p": current[0], "g": current[1], "u": current[2], "d": last,
                 "k": b"".join(lines), "e": evidence}
            )  # fmt: skip

    rows = _rows(
        conn,
        "SELECT partner_id, generation, ucic, kli_code, first_assigned, last_assigned, strength,"
        " evidence FROM kli_assignments ORDER BY partner_id, generation, ucic, kli_code",
    )
    for partner_id, generation, ucic, code, first, last_assigned, strength, evidence in rows:
        key = (partner_id, int(generation), ucic)
        if key != current:
            flush_customer()
            if len(pending) >= BATCH:
                conn.execute(insert, pending)
                pending.clear()
            current, lines, texts, last = key, [], [], last_assigned
        size = -1 if evidence is None else len(evidence.encode())
        day = date.fromisoformat(_iso(first)).toordinal() - EPOCH
        lines.append(RECORD.pack(int(code), day, size, NAN if strength is None else strength))
        texts.append(evidence or "")
        last = max(last, last_assigned)
    flush_customer()
    if pending:
        conn.execute(insert, pending)
    op.drop_table("kli_assignments")


def downgrade() -> None:
    op.create_table(
        "kli_assignments",
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("ucic", sa.String(64), nullable=False),
        sa.Column("kli_code", sa.BigInteger(), nullable=False),
        sa.Column("first_assigned", sa.Date(), nullable=False),
        sa.Column("last_assigned", sa.Date(), nullable=False),
        sa.Column("strength", sa.Float(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint(
            "partner_id", "generation", "ucic", "kli_code", name="pk_kli_assignments"
        ),
        sqlite_with_rowid=False,
    )
    conn = op.get_bind()
    insert = sa.text(
        "INSERT INTO kli_assignments (partner_id, generation, ucic, kli_code, first_assigned,"
        " last_assigned, strength, evidence) VALUES (:p, :g, :u, :c, :f, :d, :s, :e)"
    )
    pending: list[dict[str, Any]] = []
    rows = _rows(
        conn,
        "SELECT partner_id, generation, ucic, last_assigned, klis, evidence"
        " FROM kli_assignment_sets ORDER BY partner_id, generation, ucic",
    )
    for partner_id, generation, ucic, last, klis, evidence in rows:
        raw, start = (evidence or "").encode(), 0
        for code, day, size, strength in RECORD.iter_unpack(klis):
            text = raw[start : start + size].decode() if size >= 0 else None
            start += max(size, 0)
            first = date.fromordinal(EPOCH + day)
            pending.append(
                {"p": partner_id, "g": generation, "u": ucic, "c": code, "f": first, "d": last,
                 "s": None if strength != strength else strength, "e": text}
            )  # fmt: skip
        if len(pending) >= BATCH:
            conn.execute(insert, pending)
            pending.clear()
    if pending:
        conn.execute(insert, pending)
    op.drop_table("kli_assignment_sets")
