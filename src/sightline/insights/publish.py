"""Publish a refresh's KLI assignments into the serving DB, atomically.

``publish_assignments`` is the contract with the rules engine: it receives the assignments as an
Arrow table and, inside the caller's transaction,

1. stages them in a temporary table (``executemany`` on SQLite, ``COPY`` on PostgreSQL);
2. records history — ``gained`` for pairs not held before, ``lost`` for pairs no longer held —
   dated with ``as_of``;
3. full: writes a new generation (``first_assigned`` carried over for pairs already held,
   ``last_assigned`` = ``as_of``) and its per-KLI counts, then moves the partner's pointer in
   ``kli_publications``; incremental: replaces only the staged customers' rows of the current
   generation and adjusts the counts by the difference.

Readers always go through the pointer, so until the caller commits they see the previous set,
and after it the new one: never a mix. The previous generation stays as invisible garbage until
:func:`purge_stale_generations` (run it after the commit, or let the next publish do it).

Counts: ``ucic_count`` of a KLI is the number of distinct customers holding it or any of its
descendants (what the ``children`` and ``kli_details`` endpoints answer); ``direct_count`` is the
number holding exactly that KLI.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy.orm import Session

from sightline.errors import BadRequest, NotFound
from sightline.insights.repository import Db, partner_tree, publication
from sightline.taxonomy.loader import Taxonomy

BATCH_ROWS = 200_000
SCHEMA = pa.schema(
    [
        pa.field("ucic", pa.string()),
        pa.field("kli_code", pa.int64()),
        pa.field("strength", pa.float64()),
        pa.field("evidence", pa.string()),
    ]
)


@dataclass(frozen=True)
class PublishSummary:
    partner_id: str
    refresh_id: str
    as_of: dt.date
    full: bool
    generation: int
    version: int
    customers: int
    """Customers in the input table."""
    assignments: int
    """Rows in the input table (markers for customers without KLIs excluded)."""
    gained: int
    lost: int
    total_customers: int
    """Customers holding at least one KLI after the publish."""
    total_assignments: int
    seconds: float


def _prepare(assignments: pa.Table, *, full: bool) -> pa.Table:
    names = set(assignments.column_names)
    missing = [c for c in ("ucic", "kli_code") if c not in names]
    if missing:
        raise BadRequest(*(f"Field {c} is required in the assignments table." for c in missing))
    cols = []
    for f in SCHEMA:
        if f.name in names:
            try:
                cols.append(pc.cast(assignments[f.name], f.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise BadRequest(f"Field {f.name} cannot be read as {f.type}: {exc}") from None
        else:
            cols.append(pa.nulls(assignments.num_rows, f.type))
    table = pa.Table.from_arrays(cols, schema=SCHEMA)
    if table["ucic"].null_count:
        raise BadRequest("Field ucic must not be null.")
    if table.num_rows and pc.max(pc.utf8_length(table["ucic"])).as_py() > 64:
        raise BadRequest("Field ucic must be at most 64 characters.")
    if table["kli_code"].null_count and full:
        raise BadRequest("Field kli_code must not be null in a full publish.")
    return table.sort_by([("ucic", "ascending"), ("kli_code", "ascending")])


def _check_codes(table: pa.Table, tree: Taxonomy) -> None:
    codes = pc.unique(table["kli_code"].drop_null()).to_pylist()
    unknown = sorted(c for c in codes if c not in tree.nodes)
    if unknown:
        shown = ", ".join(str(c) for c in unknown[:10])
        raise BadRequest(f"Field kli_code: unknown KLI codes for this partner: {shown}.")
    pairs = table.filter(pc.is_valid(table["kli_code"])).select(["ucic", "kli_code"])
    distinct = pairs.group_by(["ucic", "kli_code"]).aggregate([])
    if distinct.num_rows != pairs.num_rows:
        raise BadRequest("Field kli_code: the table repeats (ucic, kli_code) pairs.")


# --- staging -------------------------------------------------------------------------------------


def _stage(db: Db, table: pa.Table) -> None:
    db.execute("DROP TABLE IF EXISTS kli_stage")
    db.execute("DROP TABLE IF EXISTS kli_stage_ucics")
    rows = table.filter(pc.is_valid(table["kli_code"]))
    if db.sqlite:
        db.execute(
            "CREATE TEMP TABLE kli_stage (ucic TEXT NOT NULL, kli_code INTEGER NOT NULL,"
            " strength REAL, evidence TEXT, PRIMARY KEY (ucic, kli_code)) WITHOUT ROWID"
        )
        db.executemany("INSERT INTO kli_stage VALUES (?, ?, ?, ?)", _tuples(rows))
        db.execute("CREATE TEMP TABLE kli_stage_ucics (ucic TEXT PRIMARY KEY) WITHOUT ROWID")
        db.executemany(
            "INSERT INTO kli_stage_ucics VALUES (?)",
            ((u,) for u in pc.unique(table["ucic"]).to_pylist()),
        )
        return
    db.execute(
        "CREATE TEMP TABLE kli_stage (ucic text NOT NULL, kli_code bigint NOT NULL,"
        " strength double precision, evidence text) ON COMMIT DROP"
    )
    _copy(db, "kli_stage (ucic, kli_code, strength, evidence)", rows)
    db.execute("CREATE TEMP TABLE kli_stage_ucics (ucic text PRIMARY KEY) ON COMMIT DROP")
    _copy(db, "kli_stage_ucics (ucic)", pa.table({"ucic": pc.unique(table["ucic"])}))
    db.execute("CREATE UNIQUE INDEX ON kli_stage (ucic, kli_code)")
    db.execute("ANALYZE kli_stage")
    db.execute("ANALYZE kli_stage_ucics")


def _tuples(table: pa.Table) -> Iterator[tuple[Any, ...]]:
    for batch in table.to_batches(BATCH_ROWS):
        yield from zip(*(col.to_pylist() for col in batch.columns), strict=True)


def _copy(db: Db, target: str, table: pa.Table) -> None:
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    with db.raw.cursor() as cur, cur.copy(f"COPY {target} FROM STDIN WITH (FORMAT csv)") as cp:
        for batch in table.to_batches(BATCH_ROWS):
            sink = pa.BufferOutputStream()
            pacsv.write_csv(pa.Table.from_batches([batch]), sink, options)
            cp.write(sink.getvalue().to_pybytes())


def _drop_stage(db: Db) -> None:
    db.execute("DROP TABLE IF EXISTS kli_stage")
    db.execute("DROP TABLE IF EXISTS kli_stage_ucics")
    db.execute("DROP TABLE IF EXISTS kli_stage_new")


# --- counts --------------------------------------------------------------------------------------


def _ancestry(tree: Taxonomy, codes: Sequence[int]) -> pa.Table:
    child: list[int] = []
    anc: list[int] = []
    for code in codes:
        for a in (code, *tree.ancestors(code)):
            child.append(code)
            anc.append(a)
    return pa.table(
        {"kli_code": pa.array(child, pa.int64()), "ancestor": pa.array(anc, pa.int64())}
    )


def full_counts(table: pa.Table, tree: Taxonomy) -> list[tuple[int, int, int]]:
    """(kli_code, ucic_count, direct_count) for every KLI held directly or through a descendant."""
    pairs = table.filter(pc.is_valid(table["kli_code"])).select(["ucic", "kli_code"])
    if pairs.num_rows == 0:
        return []
    anc = _ancestry(tree, pc.unique(pairs["kli_code"]).to_pylist())
    con = duckdb.connect()
    try:
        con.register("pairs", pairs)
        con.register("anc", anc)
        rows = con.execute(
            "SELECT anc.ancestor, count(DISTINCT pairs.ucic),"
            " count(*) FILTER (WHERE anc.ancestor = pairs.kli_code)"
            " FROM pairs JOIN anc USING (kli_code) GROUP BY anc.ancestor"
        ).fetchall()
    finally:
        con.close()
    return [(int(a), int(u), int(d)) for a, u, d in rows]


def _delta_counts(
    old: dict[str, set[int]], new: dict[str, set[int]], tree: Taxonomy
) -> dict[int, list[int]]:
    delta: dict[int, list[int]] = {}
    for ucic in old.keys() | new.keys():
        before, after = old.get(ucic, set()), new.get(ucic, set())
        if before == after:
            continue
        cb, ca = tree.closure(before), tree.closure(after)
        for code in ca - cb:
            delta.setdefault(code, [0, 0])[0] += 1
        for code in cb - ca:
            delta.setdefault(code, [0, 0])[0] -= 1
        for code in after - before:
            delta.setdefault(code, [0, 0])[1] += 1
        for code in before - after:
            delta.setdefault(code, [0, 0])[1] -= 1
    return delta


# --- publish -------------------------------------------------------------------------------------

_GAINED = (
    "INSERT INTO kli_history (partner_id, kli_code, date, ucic, refresh_id, change)"
    " SELECT ?, s.kli_code, ?, s.ucic, ?, 'gained' FROM kli_stage s WHERE NOT EXISTS"
    " (SELECT 1 FROM kli_assignments o WHERE o.partner_id = ? AND o.generation = ?"
    " AND o.ucic = s.ucic AND o.kli_code = s.kli_code)"
    " ON CONFLICT DO NOTHING"
)
_LOST = (
    "INSERT INTO kli_history (partner_id, kli_code, date, ucic, refresh_id, change)"
    " SELECT ?, o.kli_code, ?, o.ucic, ?, 'lost' FROM kli_assignments o {scope}"
    " WHERE o.partner_id = ? AND o.generation = ? AND NOT EXISTS"
    " (SELECT 1 FROM kli_stage s WHERE s.ucic = o.ucic AND s.kli_code = o.kli_code)"
    " ON CONFLICT DO NOTHING"
)
_NEW_ROWS = (
    "SELECT s.ucic, s.kli_code, COALESCE(o.first_assigned, ?) AS first_assigned, s.strength"
    " FROM kli_stage s"
    " LEFT JOIN kli_assignments o ON o.partner_id = ? AND o.generation = ?"
    " AND o.ucic = s.ucic AND o.kli_code = s.kli_code"
)


def publish_assignments(
    session: Session,
    partner_id: str,
    assignments: pa.Table,
    *,
    as_of: dt.date,
    full: bool,
    refresh_id: str,
) -> PublishSummary:
    """Swap a refresh's assignments into the serving DB (see the module docstring).

    ``assignments`` columns: ``ucic`` string, ``kli_code`` int64, ``strength`` float64 (nullable),
    ``evidence`` string (JSON, nullable). ``full=True``: the complete current set of the partner.
    ``full=False``: only the customers in the table are replaced; a row with a null
    ``kli_code`` marks a customer who now holds no KLI.
    """
    started = time.perf_counter()
    if not refresh_id or len(refresh_id) > 64:
        raise BadRequest("Field refresh_id must be 1-64 characters.")
    db = Db.of(session)
    if not db.fetch("SELECT 1 FROM partners WHERE partner_id = ?", (partner_id,)):
        raise NotFound(f"Partner {partner_id} not found.")
    tree = partner_tree(db, partner_id)
    table = _prepare(assignments, full=full)
    _check_codes(table, tree)
    current = publication(db, partner_id)
    if current is not None:
        purge_stale_generations(session, partner_id)
    if current is None or full:
        summary = _publish_full(db, partner_id, table, tree, current, as_of, refresh_id)
    else:
        summary = _publish_incremental(db, partner_id, table, tree, current, as_of, refresh_id)
    _drop_stage(db)
    return PublishSummary(
        **{**summary, "partner_id": partner_id, "refresh_id": refresh_id, "as_of": as_of},
        full=full or current is None,
        seconds=round(time.perf_counter() - started, 3),
    )


def _publish_full(
    db: Db,
    partner_id: str,
    table: pa.Table,
    tree: Taxonomy,
    current: Any,
    as_of: dt.date,
    refresh_id: str,
) -> dict[str, Any]:
    old_gen = current.generation if current is not None else -1
    gen = old_gen + 1 if current is not None else 1
    day = db.date(as_of)
    _stage(db, table)
    gained = db.execute(_GAINED, (partner_id, day, refresh_id, partner_id, old_gen))
    lost = db.execute(_LOST.format(scope=""), (partner_id, day, refresh_id, partner_id, old_gen))
    db.execute(
        "INSERT INTO kli_assignments (partner_id, generation, ucic, kli_code, first_assigned,"
        " last_assigned, strength) SELECT ?, ?, n.ucic, n.kli_code, n.first_assigned, ?,"
        f" n.strength FROM ({_NEW_ROWS}) n ORDER BY n.ucic, n.kli_code",
        (partner_id, gen, day, day, partner_id, old_gen),
    )
    db.execute(
        "INSERT INTO kli_evidence (partner_id, generation, ucic, kli_code, evidence)"
        " SELECT ?, ?, ucic, kli_code, evidence FROM kli_stage WHERE evidence IS NOT NULL",
        (partner_id, gen),
    )
    db.executemany(
        "INSERT INTO kli_counts (partner_id, generation, kli_code, ucic_count, direct_count)"
        " VALUES (?, ?, ?, ?, ?)",
        [(partner_id, gen, c, u, d) for c, u, d in full_counts(table, tree)],
    )
    rows = table.filter(pc.is_valid(table["kli_code"]))
    total_customers = pc.count_distinct(rows["ucic"]).as_py() if rows.num_rows else 0
    total = rows.num_rows
    version = (current.version + 1) if current is not None else 1
    _set_pointer(db, partner_id, gen, version, day, refresh_id, total_customers, total, current)
    return {
        "generation": gen,
        "version": version,
        "customers": pc.count_distinct(table["ucic"]).as_py() if table.num_rows else 0,
        "assignments": total,
        "gained": gained,
        "lost": lost,
        "total_customers": total_customers,
        "total_assignments": total,
    }


def _publish_incremental(
    db: Db,
    partner_id: str,
    table: pa.Table,
    tree: Taxonomy,
    current: Any,
    as_of: dt.date,
    refresh_id: str,
) -> dict[str, Any]:
    gen = current.generation
    day = db.date(as_of)
    _stage(db, table)
    old: dict[str, set[int]] = {}
    for ucic, code in db.fetch(
        "SELECT o.ucic, o.kli_code FROM kli_assignments o"
        " JOIN kli_stage_ucics u ON u.ucic = o.ucic WHERE o.partner_id = ? AND o.generation = ?",
        (partner_id, gen),
    ):
        old.setdefault(ucic, set()).add(int(code))
    new: dict[str, set[int]] = {}
    for ucic, code in zip(table["ucic"].to_pylist(), table["kli_code"].to_pylist(), strict=True):
        bucket = new.setdefault(ucic, set())
        if code is not None:
            bucket.add(code)
    gained = db.execute(_GAINED, (partner_id, day, refresh_id, partner_id, gen))
    lost = db.execute(
        _LOST.format(scope="JOIN kli_stage_ucics u ON u.ucic = o.ucic"),
        (partner_id, day, refresh_id, partner_id, gen),
    )
    first_type = "TEXT" if db.sqlite else "date"
    db.execute(
        "CREATE TEMP TABLE kli_stage_new (ucic TEXT NOT NULL, kli_code BIGINT NOT NULL,"
        f" first_assigned {first_type} NOT NULL, strength DOUBLE PRECISION)"
    )
    db.execute(
        f"INSERT INTO kli_stage_new (ucic, kli_code, first_assigned, strength) {_NEW_ROWS}",
        (day, partner_id, gen),
    )
    for target in ("kli_assignments", "kli_evidence"):
        db.execute(
            f"DELETE FROM {target} WHERE partner_id = ? AND generation = ?"
            " AND ucic IN (SELECT ucic FROM kli_stage_ucics)",
            (partner_id, gen),
        )
    db.execute(
        "INSERT INTO kli_assignments (partner_id, generation, ucic, kli_code, first_assigned,"
        " last_assigned, strength) SELECT ?, ?, ucic, kli_code, first_assigned, ?, strength"
        " FROM kli_stage_new",
        (partner_id, gen, day),
    )
    db.execute(
        "INSERT INTO kli_evidence (partner_id, generation, ucic, kli_code, evidence)"
        " SELECT ?, ?, ucic, kli_code, evidence FROM kli_stage WHERE evidence IS NOT NULL",
        (partner_id, gen),
    )
    delta = _delta_counts(old, new, tree)
    db.executemany(
        "INSERT INTO kli_counts (partner_id, generation, kli_code, ucic_count, direct_count)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (partner_id, generation, kli_code) DO UPDATE SET"
        " ucic_count = kli_counts.ucic_count + excluded.ucic_count,"
        " direct_count = kli_counts.direct_count + excluded.direct_count",
        [(partner_id, gen, c, u, d) for c, (u, d) in sorted(delta.items())],
    )
    db.execute(
        "DELETE FROM kli_counts WHERE partner_id = ? AND generation = ? AND ucic_count <= 0",
        (partner_id, gen),
    )
    had = sum(1 for codes in old.values() if codes)
    has = sum(1 for codes in new.values() if codes)
    total_customers = current.customers - had + has
    n_old = sum(len(codes) for codes in old.values())
    n_new = sum(len(codes) for codes in new.values())
    total = current.assignments - n_old + n_new
    version = current.version + 1
    _set_pointer(db, partner_id, gen, version, day, refresh_id, total_customers, total, current)
    return {
        "generation": gen,
        "version": version,
        "customers": len(new),
        "assignments": n_new,
        "gained": gained,
        "lost": lost,
        "total_customers": total_customers,
        "total_assignments": total,
    }


def _set_pointer(
    db: Db,
    partner_id: str,
    generation: int,
    version: int,
    day: Any,
    refresh_id: str,
    customers: int,
    assignments: int,
    current: Any,
) -> None:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    stamp = now.isoformat(sep=" ") if db.sqlite else now
    if current is None:
        db.execute(
            "INSERT INTO kli_publications (partner_id, generation, version, as_of, refresh_id,"
            " published_at, customers, assignments) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (partner_id, generation, version, day, refresh_id, stamp, customers, assignments),
        )
        return
    db.execute(
        "UPDATE kli_publications SET generation = ?, version = ?, as_of = ?, refresh_id = ?,"
        " published_at = ?, customers = ?, assignments = ? WHERE partner_id = ?",
        (generation, version, day, refresh_id, stamp, customers, assignments, partner_id),
    )


def purge_stale_generations(session: Session, partner_id: str) -> int:
    """Delete every generation of the partner but the current one; the rows deleted."""
    db = Db.of(session)
    current = publication(db, partner_id)
    keep = current.generation if current is not None else -1
    deleted = 0
    for target in ("kli_assignments", "kli_evidence", "kli_counts"):
        deleted += db.execute(
            f"DELETE FROM {target} WHERE partner_id = ? AND generation <> ?", (partner_id, keep)
        )
    return deleted
