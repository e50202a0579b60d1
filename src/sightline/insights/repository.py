"""All SQL of the KLI serving side, over raw DBAPI connections (no ORM on the hot path).

SQL is written once with ``?`` placeholders; :class:`Db` rewrites them to ``%s`` for psycopg.
Every read goes through the partner's publication pointer (``kli_publications``), so a reader
sees one whole generation of assignments and never a half-published one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import sqlite3
import struct
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio.to_thread
import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from sightline.taxonomy.loader import PRIVATE, Kli, Taxonomy, load_taxonomy

Row = tuple[Any, ...]
T = TypeVar("T")


class Db:
    """A DBAPI connection (sqlite3 or psycopg) plus the dialect's placeholder style."""

    def __init__(self, dbapi_conn: Any, dialect: str) -> None:
        self.raw = dbapi_conn
        self.dialect = dialect
        self.sqlite = dialect == "sqlite"
        self._sql: dict[str, str] = {}

    @classmethod
    def of(cls, session: Session) -> Db:
        conn = session.connection()
        return cls(conn.connection.dbapi_connection, conn.dialect.name)

    def sql(self, statement: str) -> str:
        if self.sqlite:
            return statement
        found = self._sql.get(statement)
        if found is None:
            found = self._sql[statement] = statement.replace("%", "%%").replace("?", "%s")
        return found

    def fetch(self, statement: str, params: Sequence[Any] = ()) -> list[Row]:
        cur = self.raw.cursor()
        try:
            cur.execute(self.sql(statement), tuple(params))
            return list(cur.fetchall())
        finally:
            cur.close()

    def execute(self, statement: str, params: Sequence[Any] = ()) -> int:
        cur = self.raw.cursor()
        try:
            cur.execute(self.sql(statement), tuple(params))
            return int(cur.rowcount or 0)
        finally:
            cur.close()

    def executemany(self, statement: str, rows: Iterable[Sequence[Any]]) -> None:
        cur = self.raw.cursor()
        try:
            cur.executemany(self.sql(statement), rows)
        finally:
            cur.close()

    def date(self, value: dt.date) -> Any:
        """Dates as the column stores them: ISO text on SQLite, ``date`` on PostgreSQL."""
        return value.isoformat() if self.sqlite else value


def iso(value: Any) -> str | None:
    """A date column value as ``YYYY-MM-DD`` (SQLite already returns text)."""
    if value is None or isinstance(value, str):
        return value
    return str(value.isoformat())


# --- publication pointer -------------------------------------------------------------------------

CURRENT = "(SELECT generation FROM kli_publications WHERE partner_id = ?)"


@dataclass(frozen=True, slots=True)
class Publication:
    partner_id: str
    generation: int
    version: int
    as_of: str
    refresh_id: str
    customers: int
    assignments: int


def publication(db: Db, partner_id: str) -> Publication | None:
    rows = db.fetch(
        "SELECT generation, version, as_of, refresh_id, customers, assignments"
        " FROM kli_publications WHERE partner_id = ?",
        (partner_id,),
    )
    if not rows:
        return None
    gen, version, as_of, refresh_id, customers, assignments = rows[0]
    return Publication(
        partner_id, int(gen), int(version), iso(as_of) or "", refresh_id, customers, assignments
    )


# --- private KLIs --------------------------------------------------------------------------------

_PRIVATE_COLUMNS = (
    "kli_code, key, kli_name, kli_description, parent_kli_code, kli_is_competitive, kli_is_leaf"
)


def _private(row: Row) -> Kli:
    code, key, name, description, parent, competitive, leaf = row
    return Kli(int(code), key, name, description, parent, PRIVATE, competitive, leaf)


def private_klis(db: Db, partner_id: str) -> list[Kli]:
    rows = db.fetch(
        f"SELECT {_PRIVATE_COLUMNS} FROM kli_private WHERE partner_id = ? ORDER BY kli_code",
        (partner_id,),
    )
    return [_private(r) for r in rows]


def private_kli(db: Db, partner_id: str, code: int) -> Kli | None:
    rows = db.fetch(
        f"SELECT {_PRIVATE_COLUMNS} FROM kli_private WHERE partner_id = ? AND kli_code = ?",
        (partner_id, code),
    )
    return _private(rows[0]) if rows else None


def partner_tree(db: Db, partner_id: str) -> Taxonomy:
    """The public taxonomy plus this partner's PRIVATE KLIs (and nobody else's)."""
    return _overlay(tuple(private_klis(db, partner_id)))


@functools.lru_cache(maxsize=64)
def _overlay(private: tuple[Kli, ...]) -> Taxonomy:
    # keyed by the private KLIs themselves, so a change to them is a new entry, never stale
    return load_taxonomy().overlay(private)


# --- reads ---------------------------------------------------------------------------------------
#
# ``kli_assignment_sets`` holds one row per customer and generation (see ``models.py``): ``klis``
# packs one 24-byte little-endian record per KLI, in code order — kli_code int64, first_assigned
# int32 (days since 1970-01-01), evidence_bytes int32 (-1: null), strength float64 (NaN: null) —
# and ``evidence`` holds the customer's evidence texts concatenated in the same order.
# ``last_assigned`` is the customer's: a publish always writes every KLI of the customers it
# touches.

KLI_RECORD = struct.Struct("<qiid")
"""One KLI of a customer in ``kli_assignment_sets.klis``."""
RECORD = np.dtype(
    [
        ("kli_code", "<i8"),
        ("first_assigned", "<i4"),
        ("evidence_bytes", "<i4"),
        ("strength", "<f8"),
    ]
)
"""The same record as a numpy type (the publish fills and reads records in bulk)."""
assert RECORD.itemsize == KLI_RECORD.size
NO_EVIDENCE = -1
_EPOCH = dt.date(1970, 1, 1).toordinal()

SET_OF = (
    "SELECT last_assigned, klis FROM kli_assignment_sets"
    f" WHERE partner_id = ? AND generation = {CURRENT} AND ucic = ?"
)


@functools.lru_cache(maxsize=8192)
def day_text(days: int) -> str:
    """Days since 1970-01-01 as ``YYYY-MM-DD`` (a few hundred distinct dates: cached)."""
    return dt.date.fromordinal(_EPOCH + days).isoformat()


def parse_klis(klis: bytes) -> list[tuple[int, str, float | None, int | None]]:
    """The ``klis`` of a customer as (kli_code, first_assigned, strength, evidence bytes)."""
    return [
        (
            code,
            day_text(days),
            None if strength != strength else strength,
            None if size < 0 else size,
        )
        for code, days, size, strength in KLI_RECORD.iter_unpack(klis)
    ]


def ucic_assignments(
    db: Db, partner_id: str, ucic: str, *, after: int = -1, limit: int = 1_000_000
) -> list[Row]:
    """(kli_code, first_assigned, last_assigned, strength) of one customer, in code order."""
    rows = db.fetch(SET_OF, (partner_id, partner_id, ucic))
    if not rows:
        return []
    last, klis = rows[0]
    out: list[Row] = []
    for code, days, _, strength in KLI_RECORD.iter_unpack(klis):
        if code > after:
            # strength != strength: NaN, the null marker
            out.append((code, day_text(days), last, None if strength != strength else strength))
            if len(out) == limit:
                break
    return out


def counts(db: Db, partner_id: str) -> dict[int, tuple[int, int]]:
    """kli_code → (ucic_count, direct_count) of the current generation."""
    rows = db.fetch(
        "SELECT kli_code, ucic_count, direct_count FROM kli_counts"
        f" WHERE partner_id = ? AND generation = {CURRENT}",
        (partner_id, partner_id),
    )
    return {int(c): (int(u), int(d)) for c, u, d in rows}


HOLDER_PREFILTER_CODES = 64
"""Up to this many codes, SQL skips the customers whose ``klis`` holds none of them (a byte
search, in C) before Python reads the rest."""
HOLDER_FETCH = 500


def holders(db: Db, partner_id: str, codes: Sequence[int], *, after: str, limit: int) -> list[Row]:
    """(ucic, first_assigned, last_assigned, strength) of customers holding any of ``codes``,
    in ucic order (dates are the earliest/latest, strength the highest over those codes).

    It walks the customers in ucic order from ``after`` (there is deliberately no index by code:
    it would cost more than the whole bulk load), so a page of a common KLI is quick and a rare
    one reads further."""
    wanted = set(codes)
    where, params = "", []
    if len(wanted) <= HOLDER_PREFILTER_CODES:
        # the code's 8 bytes anywhere in the records (a match across fields is a false positive
        # the loop below drops; a held code always matches)
        test = "instr(klis, ?) > 0" if db.sqlite else "position(?::bytea in klis) > 0"
        where = " AND (" + " OR ".join([test] * len(wanted)) + ")"
        params = [struct.pack("<q", code) for code in sorted(wanted)]
    cur = db.raw.cursor()
    out: list[Row] = []
    try:
        cur.execute(
            db.sql(
                "SELECT ucic, last_assigned, klis FROM kli_assignment_sets WHERE partner_id = ?"
                f" AND generation = {CURRENT} AND ucic > ?{where} ORDER BY ucic"
            ),
            (partner_id, partner_id, after, *params),
        )
        while len(out) < limit and (batch := cur.fetchmany(min(HOLDER_FETCH, limit * 4))):
            for ucic, last, klis in batch:
                first, strength, found = None, None, False
                for code, days, _, value in KLI_RECORD.iter_unpack(klis):
                    if code in wanted:
                        found = True
                        first = days if first is None or days < first else first
                        if value == value and (strength is None or value > strength):
                            strength = value
                if found:
                    out.append((ucic, day_text(first), last, strength))
                    if len(out) == limit:
                        break
    finally:
        cur.close()
    return out


def evidence(db: Db, partner_id: str, ucic: str, code: int) -> str | None:
    rows = db.fetch(
        "SELECT klis, evidence FROM kli_assignment_sets"
        f" WHERE partner_id = ? AND generation = {CURRENT} AND ucic = ?",
        (partner_id, partner_id, ucic),
    )
    if not rows:
        return None
    klis, text_ = rows[0]
    for kli_code, _, _, ev in with_evidence(klis, text_):
        if kli_code == code:
            return ev
    return None


def with_evidence(
    klis: bytes, evidence_text: str | None
) -> Iterator[tuple[int, str, float | None, str | None]]:
    """A customer's KLIs as (kli_code, first_assigned, strength, evidence): each record's
    evidence is the next ``evidence_bytes`` of the customer's concatenated texts."""
    raw, start = (evidence_text or "").encode(), 0
    for code, first, strength, size in parse_klis(klis):
        ev = raw[start : start + size].decode() if size is not None else None
        start += size or 0
        yield code, first, strength, ev


EXPORT_ALL = (
    "SELECT ucic, last_assigned, klis FROM kli_assignment_sets"
    f" WHERE partner_id = ? AND generation = {CURRENT} ORDER BY ucic"
)
"""Every current customer in ucic order (their KLIs in code order: see :func:`expand`): one
statement, so one consistent snapshot."""


def expand(rows: Iterable[Row]) -> list[Row]:
    """``EXPORT_ALL`` rows as (ucic, kli_code, first_assigned, last_assigned, strength), one per
    assignment."""
    out: list[Row] = []
    for ucic, last, klis in rows:
        for code, first, strength, _ in parse_klis(klis):
            out.append((ucic, code, first, last, strength))
    return out


def current_assignments(db: Db, partner_id: str) -> Iterator[Row]:
    """(ucic, kli_code, first_assigned, last_assigned, strength, evidence) of every current
    assignment in (ucic, kli_code) order — for tests, benchmarks and tools; the API streams."""
    cur = db.raw.cursor()
    try:
        cur.execute(
            db.sql(
                "SELECT ucic, last_assigned, klis, evidence FROM kli_assignment_sets"
                f" WHERE partner_id = ? AND generation = {CURRENT} ORDER BY ucic"
            ),
            (partner_id, partner_id),
        )
        while batch := cur.fetchmany(10_000):
            for ucic, last, klis, text_ in batch:
                for code, first, strength, ev in with_evidence(klis, text_):
                    yield ucic, code, first, last, strength, ev
    finally:
        cur.close()


# --- history -------------------------------------------------------------------------------------


def gained_between(
    session: Session, partner_id: str, kli_code: int, from_date: dt.date, to_date: dt.date
) -> list[tuple[str, dt.date]]:
    """(ucic, date) of every customer who gained ``kli_code`` between the dates (inclusive)."""
    rows = session.execute(
        text(
            "SELECT ucic, date FROM kli_history WHERE partner_id = :p AND kli_code = :c"
            " AND change = 'gained' AND date BETWEEN :f AND :t ORDER BY date, ucic"
        ),
        {"p": partner_id, "c": kli_code, "f": from_date, "t": to_date},
    ).all()
    return [
        (r[0], r[1] if isinstance(r[1], dt.date) else dt.date.fromisoformat(r[1])) for r in rows
    ]


def history_of(session: Session, partner_id: str, ucic: str) -> list[tuple[int, str, dt.date]]:
    """(kli_code, change, date) of one customer, oldest first."""
    rows = session.execute(
        text(
            "SELECT kli_code, change, date FROM kli_history WHERE partner_id = :p AND ucic = :u"
            " ORDER BY date, change, kli_code"
        ),
        {"p": partner_id, "u": ucic},
    ).all()
    return [
        (int(c), ch, d if isinstance(d, dt.date) else dt.date.fromisoformat(d)) for c, ch, d in rows
    ]


# --- the API's read connections ------------------------------------------------------------------


class KliReader:
    """Long-lived read connections for the KLI API, one per thread, outside the ORM.

    SQLite: by default the query runs directly on the event loop's thread (``inline``): an
    indexed read of one customer costs tens of microseconds and a thread-pool hand-off costs more
    (≈ 135 µs of CPU per request measured with 1M customers, where inline served 1.4-1.9x the
    rate). Under heavier machine load the pool sometimes did better (its read overlaps the loop
    while sqlite3 releases the GIL); ``docs/benchmarks.md`` has both. PostgreSQL: a query waits on
    the network, so it always runs on the thread pool.
    """

    def __init__(self, url: str, *, inline: bool | None = None) -> None:
        self.url = url
        self.sqlite = url.startswith("sqlite")
        self.inline = self.sqlite if inline is None else inline
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    def _connect(self) -> Any:
        if self.sqlite:
            path = self.url.split("///", 1)[-1]
            conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
            conn.execute("PRAGMA query_only=ON")
            conn.execute("PRAGMA cache_size=-65536")
            conn.execute("PRAGMA mmap_size=1073741824")
            return conn
        import psycopg

        conninfo = self.url.replace("postgresql+psycopg://", "postgresql://", 1)
        return psycopg.connect(conninfo, autocommit=True)

    def db(self) -> Db:
        found: Db | None = getattr(self._local, "db", None)
        if found is None:
            conn = self._connect()
            with self._lock:
                self._all.append(conn)
            found = self._local.db = Db(conn, "sqlite" if self.sqlite else "postgresql")
        return found

    async def run(self, fn: Callable[[Db], T]) -> T:
        if self.inline:
            return fn(self.db())
        return await anyio.to_thread.run_sync(lambda: fn(self.db()))

    def fresh(self) -> Db:
        """A new connection of its own (a long export must not share the per-thread one)."""
        return Db(self._connect(), "sqlite" if self.sqlite else "postgresql")

    @staticmethod
    def streaming_cursor(db: Db) -> Any:
        """A cursor that streams a large result: on PostgreSQL a server-side cursor (inside a
        transaction), otherwise psycopg would fetch the whole result into memory first."""
        if db.sqlite:
            return db.raw.cursor()
        db.raw.autocommit = False
        return db.raw.cursor(name="kli_export")

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()
        self._local = threading.local()
