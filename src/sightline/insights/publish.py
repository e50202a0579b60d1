"""Publish a refresh's KLI assignments into the serving DB, atomically.

``publish_assignments`` is the contract with the rules engine: it receives the assignments as an
Arrow table and, inside the caller's transaction,

1. reads the partner's current assignments (all of them for a full publish, those of the given
   customers for an incremental one) and compares them with the new ones in DuckDB: a pair already
   held keeps its ``first_assigned``; new pairs are ``gained``, vanished ones ``lost`` (history,
   dated ``as_of``; the partner's first publication is the baseline and records no history);
2. full: bulk-loads every customer's set — one row per customer, ``kli_assignment_sets`` — and
   the per-KLI counts: the partner's first publication into generation 1, a later one over the
   current generation (SQLite: each customer's row overwritten in place, customers left without
   KLIs deleted; PostgreSQL: the generation's rows deleted and loaded again with ``COPY``), then
   updates the partner's pointer in ``kli_publications``; incremental: replaces the given
   customers' rows in the current generation and adjusts the counts by the difference.
   A full publish given its assignments in parts (a refresh computed in ucic ranges) does all
   of this one part at a time — the current set is read once, in ucic order, and each part is
   compared with the customers of its own range — so only one part of the new set is in memory.

All of it is one transaction of the caller's: until it commits readers see the previous set, and
after it the new one, never a mix (SQLite WAL, PostgreSQL MVCC). Generations other than the
pointer's (left by earlier versions, which wrote each full publication as a new generation) are
deleted by :func:`purge_stale_generations`.

Counts: ``ucic_count`` of a KLI is the number of distinct customers holding it or any of its
descendants (what the ``children`` and ``kli_details`` endpoints answer); ``direct_count`` is the
number holding exactly that KLI.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy.orm import Session

from sightline import duck
from sightline.errors import BadRequest, NotFound
from sightline.insights.repository import (
    RECORD,
    Db,
    Publication,
    partner_tree,
    publication,
)
from sightline.taxonomy.loader import Taxonomy

BATCH_ROWS = 500_000
SCHEMA = pa.schema(
    [
        pa.field("ucic", pa.string()),
        pa.field("kli_code", pa.int64()),
        pa.field("strength", pa.float64()),
        pa.field("evidence", pa.string()),
    ]
)
OLD_SCHEMA = pa.schema(
    [
        pa.field("ucic", pa.string()),
        pa.field("kli_code", pa.int64()),
        pa.field("first_assigned", pa.date32()),
    ]
)
T = TypeVar("T")
MAX_EVIDENCE = 4000
"""Characters of evidence JSON kept per assignment (the rule's summary, not every txn)."""


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


# --- input ---------------------------------------------------------------------------------------


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
    # bytes first: at most MAX_EVIDENCE bytes is at most MAX_EVIDENCE characters (and cheaper)
    if (
        table.num_rows
        and (pc.max(pc.binary_length(table["evidence"])).as_py() or 0) > MAX_EVIDENCE
        and (pc.max(pc.utf8_length(table["evidence"])).as_py() or 0) > MAX_EVIDENCE
    ):
        raise BadRequest(f"Field evidence must be at most {MAX_EVIDENCE} characters per row.")
    if table["kli_code"].null_count and full:
        raise BadRequest("Field kli_code must not be null in a full publish.")
    return table


def _check_codes(table: pa.Table, tree: Taxonomy) -> None:
    codes = pc.unique(table["kli_code"].drop_null()).to_pylist()
    unknown = sorted(c for c in codes if c not in tree.nodes)
    if unknown:
        shown = ", ".join(str(c) for c in unknown[:10])
        raise BadRequest(f"Field kli_code: unknown KLI codes for this partner: {shown}.")


# --- reading the current set ---------------------------------------------------------------------


def _read_old(db: Db, partner_id: str, generation: int, *, only_staged: bool) -> pa.Table:
    """(ucic, kli_code, first_assigned) of the generation; with ``only_staged``, only the
    customers in the ``kli_stage_ucics`` temp table, else every customer in ucic order (byte
    order, as the assignments come: SQLite's primary key gives it, PostgreSQL sorts by ``"C"``).

    One row per customer comes back (its ``klis`` records); numpy reads the records of a batch
    at once and the ucic is repeated by their number, so Python touches one object per
    customer."""
    # staged: the staged table drives the loop (one primary-key seek per customer; SQLite's
    # planner otherwise scans the whole generation)
    source, join = (
        ("kli_stage_ucics u CROSS JOIN kli_assignment_sets o", "o.ucic = u.ucic AND ")
        if only_staged
        else ("kli_assignment_sets o", "")
    )
    sql = f"SELECT o.ucic, o.klis FROM {source} WHERE {join}o.partner_id = ? AND o.generation = ?"
    if not only_staged:
        sql += " ORDER BY o.ucic" if db.sqlite else ' ORDER BY o.ucic COLLATE "C"'
    cur = db.raw.cursor()
    batches = []
    try:
        cur.execute(db.sql(sql), (partner_id, generation))
        while customers := cur.fetchmany(BATCH_ROWS // 10):
            ucics, klis = zip(*customers, strict=True)
            records = np.frombuffer(b"".join(klis), RECORD)
            lines = np.fromiter((len(k) for k in klis), np.int64, len(klis)) // RECORD.itemsize
            ucic = pa.array(ucics, pa.string()).take(np.repeat(np.arange(len(ucics)), lines))
            first = pa.array(records["first_assigned"]).view(pa.date32())
            batches.extend(
                pa.Table.from_arrays(
                    [ucic, pa.array(records["kli_code"]), first], schema=OLD_SCHEMA
                ).to_batches()
            )
    finally:
        cur.close()
    return pa.Table.from_batches(batches, schema=OLD_SCHEMA)


def _stage_ucics(db: Db, ucics: pa.Array) -> None:
    db.execute("DROP TABLE IF EXISTS kli_stage_ucics")
    if db.sqlite:
        db.execute("CREATE TEMP TABLE kli_stage_ucics (ucic TEXT PRIMARY KEY) WITHOUT ROWID")
        db.executemany("INSERT INTO kli_stage_ucics VALUES (?)", ((u,) for u in ucics.to_pylist()))
        return
    db.execute("CREATE TEMP TABLE kli_stage_ucics (ucic text PRIMARY KEY) ON COMMIT DROP")
    _copy(db, "kli_stage_ucics (ucic)", pa.table({"ucic": ucics}))
    db.execute("ANALYZE kli_stage_ucics")


# --- comparing old and new (DuckDB over Arrow) ---------------------------------------------------


@dataclass
class Diff:
    rows: pa.Table
    """ucic, kli_code, first_assigned, strength, evidence: the new rows, in key order."""
    gained: pa.Table
    lost: pa.Table
    """ucic, kli_code pairs."""


def diff(new: pa.Table, old: pa.Table, as_of: dt.date, *, history: bool) -> Diff:
    held = new.filter(pc.is_valid(new["kli_code"])) if new["kli_code"].null_count else new
    if not strictly_ascending(held):
        held = held.take(pc.sort_indices(held, [("ucic", "ascending"), ("kli_code", "ascending")]))
        if held.num_rows > 1:
            same_ucic = pc.equal(held["ucic"][1:], held["ucic"][:-1])
            same_code = pc.equal(held["kli_code"][1:], held["kli_code"][:-1])
            if pc.any(pc.and_(same_ucic, same_code)).as_py():
                raise BadRequest("Field kli_code: the table repeats (ucic, kli_code) pairs.")
    empty = pa.table({"ucic": pa.array([], pa.string()), "kli_code": pa.array([], pa.int64())})
    if old.num_rows == 0:
        first = pa.array(np.full(held.num_rows, as_of.toordinal() - EPOCH, np.int32), pa.date32())
        gained = held.select(["ucic", "kli_code"]) if history else empty
        return Diff(rows=_with_first(held, first), gained=gained, lost=empty)
    keys = held.select(["ucic", "kli_code"]).append_column(
        "i", pa.array(np.arange(held.num_rows, dtype=np.int64))
    )
    con = duck.connect()
    try:
        con.register("new", keys)
        con.register("old", old)
        # one FULL JOIN answers all three questions (three joins before: 2.7 → 1.6 s at 3M
        # rows); the strings of the old side are kept only for the lost pairs
        con.execute(
            "CREATE TEMP TABLE matched AS SELECT n.i,"
            " CASE WHEN n.i IS NULL THEN o.ucic END AS ucic,"
            " CASE WHEN n.i IS NULL THEN o.kli_code END AS kli_code, o.first_assigned"
            " FROM new n FULL JOIN old o USING (ucic, kli_code)"
        )
        first = con.execute(
            "SELECT coalesce(first_assigned, ?::DATE) AS first_assigned FROM matched"
            " WHERE i IS NOT NULL ORDER BY i",
            [as_of],
        ).to_arrow_table()["first_assigned"]
        gained = lost = empty
        if history:
            # first_assigned is never null in the old set: null means no old pair
            new_pairs = con.execute(
                "SELECT i FROM matched WHERE i IS NOT NULL AND first_assigned IS NULL"
            ).to_arrow_table()["i"]
            pairs = keys.take(new_pairs).select(["ucic", "kli_code"])
            gained = pairs.take(
                pc.sort_indices(pairs, [("kli_code", "ascending"), ("ucic", "ascending")])
            )
            lost = con.execute(
                "SELECT ucic, kli_code FROM matched WHERE i IS NULL ORDER BY kli_code, ucic"
            ).to_arrow_table()
    finally:
        con.close()
    return Diff(rows=_with_first(held, first), gained=gained, lost=lost)


EPOCH = dt.date(1970, 1, 1).toordinal()


def strictly_ascending(table: pa.Table) -> bool:
    """Whether the rows are in strictly ascending (ucic, kli_code) order — what the rules
    engine hands over — so the diff neither sorts nor looks for repeated pairs again."""
    if table.num_rows < 2:
        return True
    ucic, code = table["ucic"], table["kli_code"]
    u0, u1 = ucic[:-1], ucic[1:]
    after = pc.or_(pc.greater(u1, u0), pc.and_(pc.equal(u1, u0), pc.greater(code[1:], code[:-1])))
    return bool(pc.all(after).as_py())


def _with_first(held: pa.Table, first: Any) -> pa.Table:
    return pa.table(
        {
            "ucic": held["ucic"],
            "kli_code": held["kli_code"],
            "first_assigned": first,
            "strength": held["strength"],
            "evidence": held["evidence"],
        }
    )


def full_counts(table: pa.Table, tree: Taxonomy) -> list[tuple[int, int, int]]:
    """(kli_code, ucic_count, direct_count) for every KLI held directly or through a descendant.

    Level by level from the deepest KLIs up: the distinct (customer, KLI) pairs of one depth are
    the pairs held directly at that depth plus the pairs one level below moved to their parents,
    deduplicated (a customer holding two merchants of one category counts once for it). Each pair
    is a single integer (customer index × KLIs + KLI index), so every step is a numpy sort of
    integers — presorted runs, as the rows arrive in key order — instead of a DISTINCT over every
    (customer, ancestor) pair (12 s at 12.6M assignments → 4.5 s)."""
    held = table.select(["ucic", "kli_code"])
    if held["kli_code"].null_count:
        held = held.filter(pc.is_valid(held["kli_code"]))
    if held.num_rows == 0:
        return []
    ucic = pc.dictionary_encode(held["ucic"]).combine_chunks().indices.to_numpy()
    code = held["kli_code"].combine_chunks().to_numpy()
    used = pc.unique(held["kli_code"]).to_pylist()
    # a code no longer in the tree (a deleted private KLI still held in the current set) counts
    # for itself only
    nodes = np.array(sorted(tree.closure(used) | set(used)), np.int64)
    width = len(nodes)
    chains = [tree.ancestors(c) if c in tree else () for c in nodes.tolist()]
    depth = np.array([len(up) for up in chains], np.int64)
    parent = np.full(width, -1, np.int64)
    for i, up in enumerate(chains):
        if up:
            j = int(np.searchsorted(nodes, up[0]))
            # a parent is always one level up in a tree; the guard keeps the loop finite on
            # anything else
            if depth[j] < depth[i]:
                parent[i] = j
    index = np.searchsorted(nodes, code)
    direct = np.bincount(index, minlength=width)
    subtree = np.zeros(width, np.int64)
    by_depth = np.argsort(depth[index], kind="stable")
    pairs = (ucic.astype(np.int64) * width + index)[by_depth]
    bounds = np.searchsorted(depth[index][by_depth], np.arange(int(depth.max()) + 2))
    carried = np.empty(0, np.int64)
    for level in range(int(depth.max()), -1, -1):
        keys = np.sort(
            np.concatenate([pairs[bounds[level] : bounds[level + 1]], carried]), kind="stable"
        )
        if len(keys) > 1:
            keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
        node = keys % width
        subtree += np.bincount(node, minlength=width)
        up = parent[node]
        moved = up >= 0
        carried = (keys[moved] // width) * width + up[moved]
    return [
        (int(c), int(u), int(d))
        for c, u, d in zip(nodes.tolist(), subtree.tolist(), direct.tolist(), strict=True)
        if u
    ]


def count_delta(new: pa.Table, old: pa.Table | None, tree: Taxonomy) -> list[tuple[int, int, int]]:
    """Per KLI, how ``ucic_count`` and ``direct_count`` change from ``old`` pairs to ``new``
    pairs of the same customers (``old=None``: from nothing): the counts of each side over those
    customers, subtracted."""
    before = {c: (u, d) for c, u, d in full_counts(old, tree)} if old is not None else {}
    after = {c: (u, d) for c, u, d in full_counts(new, tree)}
    out = []
    for code in sorted(before.keys() | after.keys()):
        (u1, d1), (u0, d0) = after.get(code, (0, 0)), before.get(code, (0, 0))
        if u1 != u0 or d1 != d0:
            out.append((code, u1 - u0, d1 - d0))
    return out


# --- bulk writes ---------------------------------------------------------------------------------

PACKED_SCHEMA = pa.schema(
    [
        pa.field("ucic", pa.string()),
        pa.field("klis", pa.binary()),
        pa.field("evidence", pa.string()),
    ]
)
PACK_ROWS = 1_000_000
"""Assignments packed per slice."""
PACK_BYTES = 256 * 1024 * 1024
"""Evidence bytes per slice at most (a customer is never split): a slice's evidence is one Arrow
string array, whose offsets stop at 2 GiB."""


def pack(rows: pa.Table) -> Iterator[pa.Table]:
    """The rows (ucic, kli_code, first_assigned, strength, evidence; grouped by ucic, in code
    order within a customer) as ``kli_assignment_sets`` rows — ucic, klis, evidence — in
    slices of about ``PACK_ROWS`` assignments that never split a customer.

    No formatting: the records are a numpy structured array filled column by column, and a
    customer's ``klis`` is the slice of its bytes between its first and last row, as its
    evidence is the slice of the evidence array's data buffer (neither copied again)."""
    n = rows.num_rows
    if n == 0:
        return
    ucic = rows["ucic"]
    change = pc.not_equal(ucic[1:], ucic[:-1]) if n > 1 else pa.array([], pa.bool_())
    starts = np.flatnonzero(np.concatenate([[True], change.to_numpy(zero_copy_only=False)]))
    size = pc.fill_null(pc.binary_length(rows["evidence"]), 0).to_numpy()
    # evidence bytes before each customer, and in all
    before = np.concatenate([[0], np.cumsum(size, dtype=np.int64)])[np.append(starts, n)]
    cut = 0
    while cut < len(starts):
        # the customers starting within the next PACK_ROWS rows whose evidence fits in
        # PACK_BYTES (at least one)
        end = min(
            int(np.searchsorted(starts, starts[cut] + PACK_ROWS)),
            int(np.searchsorted(before, before[cut] + PACK_BYTES, side="right")) - 1,
        )
        end = max(end, cut + 1)
        first_row = int(starts[cut])
        last_row = int(starts[end]) if end < len(starts) else n
        bounds = (np.append(starts[cut:end], last_row) - first_row).astype(np.int32)
        yield _pack_slice(rows.slice(first_row, last_row - first_row), bounds)
        cut = end


def _pack_slice(rows: pa.Table, bounds: np.ndarray) -> pa.Table:
    records = np.empty(rows.num_rows, RECORD)
    records["kli_code"] = rows["kli_code"].to_numpy()
    records["first_assigned"] = rows["first_assigned"].cast(pa.int32()).to_numpy()
    size = pc.binary_length(rows["evidence"]).fill_null(-1)
    records["evidence_bytes"] = size.to_numpy()
    records["strength"] = rows["strength"].fill_null(np.nan).to_numpy()
    klis = pa.BinaryArray.from_buffers(
        pa.binary(),
        len(bounds) - 1,
        [None, pa.py_buffer(bounds * np.int32(RECORD.itemsize)), pa.py_buffer(records)],
    )
    evidence = rows["evidence"].combine_chunks()
    if evidence.null_count:
        evidence = pc.fill_null(evidence, "")  # a null slot's bytes are not guaranteed empty
    data_offsets = np.frombuffer(evidence.buffers()[1], np.int32)[
        evidence.offset : evidence.offset + len(evidence) + 1
    ]
    per_customer = data_offsets[bounds]
    joined = pa.StringArray.from_buffers(
        len(bounds) - 1, pa.py_buffer(per_customer.astype(np.int32)), evidence.buffers()[2]
    )
    empty = pa.array(np.diff(per_customer) == 0)
    joined = pc.if_else(empty, pa.scalar(None, pa.string()), joined)
    return pa.Table.from_arrays(
        [rows["ucic"].take(pa.array(bounds[:-1])).combine_chunks(), klis, joined],
        schema=PACKED_SCHEMA,
    )


def _ahead(pool: ThreadPoolExecutor, items: Iterator[T]) -> Iterator[T]:
    """``items``, each produced on the pool while the caller consumes the previous one."""
    end = object()
    following = pool.submit(next, items, end)
    while (item := following.result()) is not end:
        following = pool.submit(next, items, end)
        yield cast(T, item)


def _load_sets(
    db: Db,
    partner_id: str,
    generation: int,
    packed: pa.Table,
    as_of: dt.date,
    *,
    upsert: bool = False,
) -> None:
    """Insert the packed customers (SQLite with ``upsert``: customers already there are
    replaced in place)."""
    if not db.sqlite:
        # COPY, row by row from Python (the binary records do not go through Arrow's CSV)
        sql = f"COPY kli_assignment_sets ({_COLUMNS}) FROM STDIN"
        with db.raw.cursor() as cur, cur.copy(sql) as cp:
            for batch in packed.to_batches(SQLITE_BATCH):
                for ucic, klis, evidence in zip(
                    *(batch.column(i).to_pylist() for i in range(3)), strict=True
                ):
                    cp.write_row((partner_id, generation, ucic, as_of, klis, evidence))
        return
    day = as_of.isoformat()
    for batch in packed.to_batches(SQLITE_BATCH):
        m = batch.num_rows
        cols = np.empty((m, 3), dtype=object)
        cols[:, 0] = batch.column("ucic").to_numpy(zero_copy_only=False)
        cols[:, 1] = batch.column("klis").to_numpy(zero_copy_only=False)
        cols[:, 2] = batch.column("evidence").to_numpy(zero_copy_only=False)
        whole = m - m % SQLITE_ROWS_PER_INSERT
        if whole:
            # one statement per SQLITE_ROWS_PER_INSERT customers (multi-row VALUES); the
            # constants are bound once per statement as ?1-?3
            flat = np.empty((whole // SQLITE_ROWS_PER_INSERT, 3 + _ROWS_WIDTH), dtype=object)
            flat[:, 0], flat[:, 1], flat[:, 2] = partner_id, generation, day
            flat[:, 3:] = cols[:whole].reshape(len(flat), _ROWS_WIDTH)
            db.executemany(_insert_sql(SQLITE_ROWS_PER_INSERT, upsert), map(tuple, flat))
        if whole < m:
            rest = np.empty((m - whole, 6), dtype=object)
            rest[:, 0], rest[:, 1], rest[:, 2] = partner_id, generation, day
            rest[:, 3:] = cols[whole:]
            db.executemany(_insert_sql(1, upsert), map(tuple, rest))


_COLUMNS = "partner_id, generation, ucic, last_assigned, klis, evidence"
SQLITE_ROWS_PER_INSERT = 25
SQLITE_BATCH = 20_000
_ROWS_WIDTH = SQLITE_ROWS_PER_INSERT * 3


@functools.cache
def _insert_sql(rows: int, upsert: bool = False) -> str:
    """INSERT of ``rows`` customers with numbered parameters: ?1 partner, ?2 generation, ?3 the
    as-of date (last_assigned), then ucic, klis, evidence per customer."""
    values = [f"(?1, ?2, ?{4 + i * 3}, ?3, ?{5 + i * 3}, ?{6 + i * 3})" for i in range(rows)]
    tail = (
        " ON CONFLICT (partner_id, generation, ucic) DO UPDATE SET"
        " last_assigned = excluded.last_assigned, klis = excluded.klis,"
        " evidence = excluded.evidence"
        if upsert
        else ""
    )
    return f"INSERT INTO kli_assignment_sets ({_COLUMNS}) VALUES {', '.join(values)}{tail}"


def _copy(db: Db, target: str, table: pa.Table) -> None:
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    with db.raw.cursor() as cur, cur.copy(f"COPY {target} FROM STDIN WITH (FORMAT csv)") as cp:
        for batch in table.to_batches(BATCH_ROWS):
            sink = pa.BufferOutputStream()
            pacsv.write_csv(pa.Table.from_batches([batch]), sink, options)
            cp.write(sink.getvalue().to_pybytes())


def _history(db: Db, partner_id: str, d: Diff, day: dt.date, refresh_id: str) -> tuple[int, int]:
    for change, pairs in (("gained", d.gained), ("lost", d.lost)):
        if pairs.num_rows == 0:
            continue
        value = db.date(day)
        db.executemany(
            "INSERT INTO kli_history (partner_id, kli_code, date, ucic, refresh_id, change)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                (partner_id, c, value, u, refresh_id, change)
                for u, c in zip(
                    pairs["ucic"].to_pylist(), pairs["kli_code"].to_pylist(), strict=True
                )
            ),
        )
    return d.gained.num_rows, d.lost.num_rows


def _add_counts(
    db: Db, partner_id: str, generation: int, delta: list[tuple[int, int, int]]
) -> None:
    db.executemany(
        "INSERT INTO kli_counts (partner_id, generation, kli_code, ucic_count, direct_count)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (partner_id, generation, kli_code) DO UPDATE SET"
        " ucic_count = kli_counts.ucic_count + excluded.ucic_count,"
        " direct_count = kli_counts.direct_count + excluded.direct_count",
        [(partner_id, generation, c, u, d) for c, u, d in delta],
    )
    db.execute(
        "DELETE FROM kli_counts WHERE partner_id = ? AND generation = ? AND ucic_count <= 0",
        (partner_id, generation),
    )


# --- publish -------------------------------------------------------------------------------------


def publish_assignments(
    session: Session,
    partner_id: str,
    assignments: pa.Table | Iterable[pa.Table],
    *,
    as_of: dt.date,
    full: bool,
    refresh_id: str,
) -> PublishSummary:
    """Swap a refresh's assignments into the serving DB (see the module docstring).

    ``assignments`` columns: ``ucic`` string, ``kli_code`` int64, ``strength`` float64 (nullable),
    ``evidence`` string (JSON, nullable, at most 4000 characters). ``full=True``: the complete
    current set of the partner. ``full=False``: only the customers in the table are replaced; a
    row with a null ``kli_code`` marks a customer who now holds no KLI.

    ``assignments`` may also be parts, one table after another (a refresh computed in ucic
    ranges: :class:`~sightline.insights.pipeline.AssignmentParts`), each holding whole customers,
    every ucic of a part above those of the parts before it: a full publish then handles one part
    at a time, so only one part of the new set is in memory (an incremental one joins them).
    """
    started = time.perf_counter()
    if not refresh_id or len(refresh_id) > 64:
        raise BadRequest("Field refresh_id must be 1-64 characters.")
    db = Db.of(session)
    if not db.fetch("SELECT 1 FROM partners WHERE partner_id = ?", (partner_id,)):
        raise NotFound(f"Partner {partner_id} not found.")
    tree = partner_tree(db, partner_id)
    current = publication(db, partner_id)
    parts = [assignments] if isinstance(assignments, pa.Table) else assignments
    incremental = current is not None and not full
    if incremental:
        tables = [_prepare(t, full=False) for t in parts] or [SCHEMA.empty_table()]
        table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
        _check_codes(table, tree)
    with _write_cache(db):
        if current is not None:
            purge_stale_generations(session, partner_id)
        if incremental:
            assert current is not None
            summary = _publish_incremental(db, partner_id, table, tree, current, as_of, refresh_id)
        else:
            summary = _publish_full(
                db, partner_id, parts, tree, current, as_of, refresh_id, markers=not full
            )
        db.execute("DROP TABLE IF EXISTS kli_stage_ucics")
    return PublishSummary(
        partner_id=partner_id,
        refresh_id=refresh_id,
        as_of=as_of,
        full=full or current is None,
        seconds=round(time.perf_counter() - started, 3),
        **summary,
    )


SQLITE_WRITE_CACHE_KIB = 256 * 1024
"""SQLite page cache of the publishing connection while it writes (the default is 2 MiB)."""


@contextlib.contextmanager
def _write_cache(db: Db) -> Iterator[None]:
    """A large page cache on SQLite for the publish, the connection's own size restored after.

    With the default 2 MiB a bulk load spills dirty pages to the WAL long before the commit and
    writes the B-tree's interior pages there again and again (4M rows: 2.0-2.6 → 1.95-2.0 µs a
    row, commit 2.3-2.6 → 2.0 s). Restoring the size does not drop the dirty pages: they are
    written when the caller commits."""
    if not db.sqlite:
        yield
        return
    (previous,) = db.fetch("PRAGMA cache_size")[0]
    db.execute(f"PRAGMA cache_size = -{SQLITE_WRITE_CACHE_KIB}")
    try:
        yield
    finally:
        db.execute(f"PRAGMA cache_size = {int(previous)}")


def _publish_full(
    db: Db,
    partner_id: str,
    parts: Iterable[pa.Table],
    tree: Taxonomy,
    current: Publication | None,
    as_of: dt.date,
    refresh_id: str,
    *,
    markers: bool = False,
) -> dict[str, Any]:
    """The parts as the partner's complete set (``markers``: rows with a null ``kli_code``,
    customers without KLIs, are allowed: an incremental table as a partner's first set)."""
    old = (
        _read_old(db, partner_id, current.generation, only_staged=False)
        if current is not None
        else OLD_SCHEMA.empty_table()
    )
    # a later full publication rewrites the current generation in place, in the caller's
    # transaction: readers see the previous set until the commit all the same, and there is no
    # old generation to delete afterwards (10M run: the purge took 11-17 s)
    gen = current.generation if current is not None else 1
    upsert = False
    if current is not None:
        db.execute(
            "DELETE FROM kli_counts WHERE partner_id = ? AND generation = ?", (partner_id, gen)
        )
        if db.sqlite:
            # customers left without any KLI are deleted, the others overwritten in place (each
            # leaf page written once, the key index untouched)
            upsert = True
        else:
            db.execute(
                "DELETE FROM kli_assignment_sets WHERE partner_id = ? AND generation = ?",
                (partner_id, gen),
            )
    history = current is not None
    total_customers = total = gained = lost = 0
    counts: dict[int, tuple[int, int]] = {}
    after: str | None = None  # the last ucic of the parts done
    # the per-KLI counts (numpy sorts) and the packing of the next slice (numpy, Arrow) run on
    # the other core while SQLite writes the rows: none of them holds the GIL for long
    with ThreadPoolExecutor(max_workers=2) as pool:
        for part in parts:
            table = _prepare(part, full=not markers)
            _check_codes(table, tree)
            if table.num_rows == 0:
                continue
            bounds = pc.min_max(table["ucic"])
            first, last = bounds["min"].as_py(), bounds["max"].as_py()
            if after is not None and first <= after:
                raise BadRequest(
                    "Field ucic: the parts of a publish must hold whole customers in ucic order."
                )
            old_part = _old_between(old, after, last)
            d = diff(table, old_part, as_of, history=history)
            if upsert:
                _delete_customers_without(
                    db, partner_id, gen, pc.unique(old_part["ucic"]), d.rows["ucic"]
                )
            part_counts = pool.submit(full_counts, d.rows, tree)
            for packed in _ahead(pool, pack(d.rows)):
                _load_sets(db, partner_id, gen, packed, as_of, upsert=upsert)
                total_customers += packed.num_rows
            g, lo = _history(db, partner_id, d, as_of, refresh_id)
            gained, lost, total = gained + g, lost + lo, total + d.rows.num_rows
            for code, u, n in part_counts.result():  # parts hold distinct customers: counts add
                u0, n0 = counts.get(code, (0, 0))
                counts[code] = (u0 + u, n0 + n)
            after = last
            del part, table, old_part, d  # freed before the next part is read back
    # the customers after the last part's hold no KLI now
    rest = _old_between(old, after, None)
    if rest.num_rows:
        if upsert:
            _delete_customers_without(
                db, partner_id, gen, pc.unique(rest["ucic"]), pa.chunked_array([], pa.string())
            )
        if history:
            gone = rest.select(["ucic", "kli_code"])
            gone = gone.take(
                pc.sort_indices(gone, [("kli_code", "ascending"), ("ucic", "ascending")])
            )
            empty = gone.slice(0, 0)
            lost += _history(
                db, partner_id, Diff(rows=empty, gained=empty, lost=gone), as_of, refresh_id
            )[1]
    _add_counts(db, partner_id, gen, [(c, u, n) for c, (u, n) in sorted(counts.items())])
    version = current.version + 1 if current is not None else 1
    _set_pointer(db, partner_id, gen, version, as_of, refresh_id, total_customers, total, current)
    return {
        "generation": gen,
        "version": version,
        "customers": total_customers,  # a full publish has no null-code markers
        "assignments": total,
        "gained": gained,
        "lost": lost,
        "total_customers": total_customers,
        "total_assignments": total,
    }


def _old_between(old: pa.Table, after: str | None, upto: str | None) -> pa.Table:
    """The rows of ``old`` (in ucic order) whose ucic is above ``after`` and at most ``upto``
    (``None``: no bound)."""
    start = _first_above(old, after) if after is not None else 0
    stop = _first_above(old, upto) if upto is not None else old.num_rows
    return old.slice(start, max(0, stop - start))


def _first_above(old: pa.Table, value: str) -> int:
    """The index of the first row of ``old`` (in ucic order) whose ucic is above ``value``."""
    ucic = old["ucic"]
    lo, hi = 0, old.num_rows
    while lo < hi:
        mid = (lo + hi) // 2
        if ucic[mid].as_py() <= value:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _publish_incremental(
    db: Db,
    partner_id: str,
    table: pa.Table,
    tree: Taxonomy,
    current: Publication,
    as_of: dt.date,
    refresh_id: str,
) -> dict[str, Any]:
    gen = current.generation
    ucics = pc.unique(table["ucic"])
    _stage_ucics(db, ucics)
    old = _read_old(db, partner_id, gen, only_staged=True)
    d = diff(table, old, as_of, history=True)
    packed = pa.concat_tables([PACKED_SCHEMA.empty_table(), *pack(d.rows)])
    # the count deltas (numpy) on the other core while SQLite writes
    with ThreadPoolExecutor(max_workers=1) as pool:
        delta = pool.submit(count_delta, d.rows, old, tree)
        gained, lost = _write_incremental(db, partner_id, gen, ucics, packed, d, as_of, refresh_id)
        _add_counts(db, partner_id, gen, delta.result())
    had = pc.count_distinct(old["ucic"]).as_py() if old.num_rows else 0
    has = packed.num_rows
    total_customers = current.customers - had + has
    total = current.assignments - old.num_rows + d.rows.num_rows
    version = current.version + 1
    _set_pointer(db, partner_id, gen, version, as_of, refresh_id, total_customers, total, current)
    return {
        "generation": gen,
        "version": version,
        "customers": len(ucics),
        "assignments": d.rows.num_rows,
        "gained": gained,
        "lost": lost,
        "total_customers": total_customers,
        "total_assignments": total,
    }


def _delete_customers_without(
    db: Db, partner_id: str, gen: int, ucics: pa.Array, still_held: pa.ChunkedArray
) -> None:
    """Delete the sets of ``ucics`` that are not in ``still_held`` (customers left without any
    KLI); the others are overwritten in place by an upsert."""
    gone = ucics.filter(pc.invert(pc.is_in(ucics, value_set=pc.unique(still_held))))
    db.executemany(
        "DELETE FROM kli_assignment_sets WHERE partner_id = ? AND generation = ? AND ucic = ?",
        ((partner_id, gen, u) for u in gone.to_pylist()),
    )


def _write_incremental(
    db: Db,
    partner_id: str,
    gen: int,
    ucics: pa.Array,
    packed: pa.Table,
    d: Diff,
    as_of: dt.date,
    refresh_id: str,
) -> tuple[int, int]:
    """The staged customers' new sets and their history; (gained, lost)."""
    if db.sqlite:
        # the customers still holding KLIs are rewritten in place (one visit to each leaf page)
        # and the others deleted
        _delete_customers_without(db, partner_id, gen, ucics, packed["ucic"])
        _load_sets(db, partner_id, gen, packed, as_of, upsert=True)
    else:
        db.execute(
            "DELETE FROM kli_assignment_sets WHERE partner_id = ? AND generation = ?"
            " AND ucic IN (SELECT ucic FROM kli_stage_ucics)",
            (partner_id, gen),
        )
        _load_sets(db, partner_id, gen, packed, as_of)
    return _history(db, partner_id, d, as_of, refresh_id)


def _set_pointer(
    db: Db,
    partner_id: str,
    generation: int,
    version: int,
    as_of: dt.date,
    refresh_id: str,
    customers: int,
    assignments: int,
    current: Publication | None,
) -> None:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    stamp = now.isoformat(sep=" ") if db.sqlite else now
    day = db.date(as_of)
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
    for target in ("kli_assignment_sets", "kli_counts"):
        # two key ranges either side of the current generation: nothing to delete costs two
        # seeks, not a scan of the current generation's rows
        for op in ("<", ">"):
            deleted += db.execute(
                f"DELETE FROM {target} WHERE partner_id = ? AND generation {op} ?",
                (partner_id, keep),
            )
    return deleted
