"""The bulk path: read, validate, resolve, mask, dedupe and stage one source in one pass.

The source is read once, as a stream of Arrow batches (CSV through Arrow's multi-threaded
reader on a background thread, so parsing overlaps the work on the previous chunk; Parquet and
NDJSON through DuckDB / Python), in chunks of about two million rows. Each chunk, with no Python
per row:

1. **validate** — required fields, one-of groups, and every rule of ``validate``: rules with an
   Arrow kernel (patterns, lengths, signs) run row by row on high-cardinality columns (amounts,
   ids, descriptors); every other field (dates, timestamps, enums, integers, PII, JSON) is
   dictionary-encoded and its rules — the same SQL as everywhere — run in DuckDB once per
   *distinct* value, as do its casts to the lake type.
2. **resolve** — member id → ucic only where the ucic is missing; known ucics by a hash probe.
3. **mask** — HMAC tokens, last four digits, scrubbed JSON and birth years are computed in Python
   once per distinct value (cached for the run) and mapped back by the dictionary indices.
4. **write** — valid rows not already in the lake (by key) go to one Parquet file per date in the
   run's staging directory (Snappy, written by two threads); bad rows are kept (up to the
   quarantine cap) with their line numbers.

After the stream: distinct 64-bit hashes of the keys written (hashed and sorted chunk by chunk
on a background thread) prove there are no keys repeated *inside* the file; only otherwise are
they counted exactly on the staged Parquet and, when there are some, the staged files rewritten
with one row per key. The bad rows get their messages from the SQL form of the rules
(``errors_sql``).

The raw rows live only in memory (Arrow buffers and the in-memory DuckDB, whose spilling to
disk is switched off by :func:`connect`): direct PII never reaches a temporary file.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import queue
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, reduce
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sightline import lake
from sightline.ingest import masking
from sightline.ingest.readers import Source, arrow_batches
from sightline.ingest.schemas import Classification, FeedSchema, FieldSpec, Kind, Masking
from sightline.ingest.validate import (
    Rule,
    errors_sql,
    field_ok_sql,
    field_rules,
    first_field,
    lit,
    ok_terms_sql,
    q,
)

REFERENCE_CHECKED = {"accounts", "transactions", "telemetry", "consents"}
MAPPED = {"accounts", "transactions", "telemetry", "consents", "events"}


@dataclass
class QuarantineRow:
    line: int
    field: str
    reason: str
    record: dict[str, Any]


@dataclass
class PipelineResult:
    read: int = 0
    stored: int = 0
    quarantined: int = 0
    duplicate: int = 0
    quarantine: list[QuarantineRow] = field(default_factory=list)
    quarantine_truncated: bool = False
    valid: pa.Table | None = None  # valid rows (incl. duplicates) for serving-DB side effects
    dates: list[str] = field(default_factory=list)


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("SET TimeZone = 'UTC'")
    # the raw rows (with PII) must never reach a temporary file: no spilling to disk
    con.execute("SET temp_directory = ''")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


@cache
def _use_jemalloc() -> None:
    """Arrow's jemalloc pool for the process, set by the first pipeline (not at import: a
    process that never ingests keeps Arrow's default), unless the operator chose one
    (``ARROW_DEFAULT_MEMORY_POOL``): the chunks allocate and free hundreds of MB of buffers,
    and jemalloc reuses them where mimalloc (Arrow's default) returns them to the kernel and
    faults them in again (10M-row file: docs/benchmarks.md, "Ingestion")."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    # (its page retention is set in ``sightline/__init__.py``; each run releases the pages;
    # a pyarrow built without jemalloc keeps its default pool)
    if "jemalloc" in pa.supported_memory_backends():
        pa.set_memory_pool(pa.jemalloc_memory_pool())


def _release_memory() -> None:
    """Hand the pages jemalloc kept during a run back to the kernel (it keeps them while the
    chunks reuse them: ``sightline/__init__.py``)."""
    pool = pa.default_memory_pool()
    if pool.backend_name == "jemalloc":
        pool.release_unused()


CHUNK_ROWS = 2_000_000  # rows per processing chunk (memory: a few hundred MB of Arrow)
ROW_GROUP_ROWS = 250_000  # a date's rows are buffered up to this before they are written
TIMESTAMP_US = pa.timestamp("us", tz="UTC")


def _try_cast_sql(kind: Kind, expr: str) -> str:
    if kind == Kind.INT:
        return f"TRY_CAST({expr} AS BIGINT)"
    if kind == Kind.MONEY:
        return f"TRY_CAST({expr} AS DECIMAL(18,2))"
    if kind == Kind.DATE:
        return f"TRY_CAST({expr} AS DATE)"
    if kind == Kind.TIMESTAMP:
        return f"TRY_CAST({expr} AS TIMESTAMPTZ)"
    return expr


def _scrub(key: bytes, value: str) -> str:
    try:
        obj = json.loads(value)
    except ValueError:
        return value
    scrubbed = masking.scrub_json(key, obj)
    return json.dumps(scrubbed, separators=(",", ":"), sort_keys=True)


def _is_masked(spec: FieldSpec) -> bool:
    """Fields whose lake columns are computed in Python per distinct value."""
    return spec.masking in (Masking.TOKENISE, Masking.LAST4) or (
        spec.kind == Kind.JSON and spec.masking == Masking.NONE
    )


@dataclass(frozen=True)
class _FieldPlan:
    spec: FieldSpec
    rules: list[Rule]
    distinct: bool  # rules, casts and masks run once per distinct value

    @property
    def name(self) -> str:
        return self.spec.name


def _plan(schema: FeedSchema) -> list[_FieldPlan]:
    rules = field_rules(schema)
    plans = []
    for spec in schema.fields:
        r = rules.get(spec.name, [])
        distinct = (
            spec.kind in (Kind.DATE, Kind.TIMESTAMP, Kind.INT, Kind.JSON)
            or spec.enum is not None
            or spec.masking != Masking.NONE
            or any(rule.arrow_ok is None for rule in r)
        )
        plans.append(_FieldPlan(spec, r, distinct))
    return plans


SMALL_DICTIONARY = 4096
DICTIONARY_SHARE = 8  # dictionary pages for a column with <= 1 distinct value per 8 rows


def _dict(indices: pa.Array, dictionary: pa.Array) -> pa.Array:
    """Values of ``dictionary`` at ``indices``: text stays dictionary-encoded until it is
    written (the writer decodes large dictionaries after grouping by date, so the long values
    are gathered once), anything else is taken."""
    if pa.types.is_string(dictionary.type):
        return pa.DictionaryArray.from_arrays(indices, dictionary)
    return dictionary.take(indices)


def _constant(value: Any, n: int, type_: pa.DataType) -> pa.Array:
    if pa.types.is_string(type_):
        return pa.DictionaryArray.from_arrays(
            pa.array(np.zeros(n, np.int32)), pa.array([value], pa.string())
        )
    return pa.array([value], type_).take(pa.array(np.zeros(n, np.int32)))


def _contiguous(values: pa.Array | pa.ChunkedArray) -> Any:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _all(conds: list[pa.Array], n: int) -> pa.Array:
    if not conds:
        return pa.array(np.ones(n, np.bool_))
    return reduce(pc.and_, conds)


_gc_lock = threading.Lock()
_gc_runs = 0  # runs in progress that paused the collector
_gc_was_enabled = False


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a run is in progress (runs on other
    threads share the pause; the last one out restores it). A run makes hundreds of thousands
    of short-lived containers (the known ids, the values masked in Python), and each
    collection walks every live object: ~800 collections, 0.5 CPU-s per 10M-row file, with the
    GIL held. Reference counting still frees everything; only cycles wait for the end."""
    global _gc_runs, _gc_was_enabled
    with _gc_lock:
        if _gc_runs == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_runs += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_runs -= 1
            if _gc_runs == 0 and _gc_was_enabled:
                gc.enable()


class _Prefetch:
    """Iterate ``items`` on a background thread, starting at once (Arrow's readers release the
    GIL): reading the next chunk overlaps the work on this one, and the first chunk is read
    while the run loads what it needs. ``close`` stops the thread."""

    def __init__(self, items: Iterable[Any], depth: int = 1) -> None:
        self.box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=self._work, args=(items,), name="ingest-read", daemon=True
        )
        self.thread.start()

    def _work(self, items: Iterable[Any]) -> None:
        try:
            for item in items:
                if self.stop.is_set():
                    return
                self.box.put(("item", item))
            self.box.put(("end", None))
        except BaseException as exc:  # re-raised in the consumer
            self.box.put(("error", exc))

    def __iter__(self) -> Iterator[Any]:
        while True:
            kind, item = self.box.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item

    def close(self) -> None:
        self.stop.set()
        while self.thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self.box.get(timeout=0.05)
            self.thread.join(timeout=0.05)


def _chunks(batches: Iterable[pa.RecordBatch | pa.Table], rows: int) -> Iterator[pa.Table]:
    pending: list[pa.Table] = []
    size = 0
    for batch in batches:
        t = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        if t.num_rows == 0:
            continue
        pending.append(t)
        size += t.num_rows
        if size >= rows:
            yield pa.concat_tables(pending)
            pending, size = [], 0
    if pending:
        yield pa.concat_tables(pending)


@dataclass(frozen=True)
class _MaskTable:
    """The masked forms of every distinct raw value of one field seen in the run."""

    keys: pa.Array
    first: pa.Array  # token, or scrubbed JSON
    last4: pa.Array
    # the keys as integers when every key is a digit string (see ``_digits``)
    int_keys: pa.Array | None = None

    @classmethod
    def empty(cls) -> _MaskTable:
        none = pa.array([], pa.string())
        return cls(none, none, none, pa.array([], pa.int64()))

    def positions(self, values: pa.Array) -> pa.Array:
        """Each value's index in ``keys`` (null when absent or null). Digit strings (card and
        account numbers) are probed as integers: half the cost of hashing and comparing the
        text."""
        if self.int_keys is not None:
            ints = _digits(values)
            if ints is not None:
                return pc.index_in(ints, value_set=self.int_keys)
        return pc.index_in(values, value_set=self.keys)


def _digits(values: pa.Array) -> pa.Array | None:
    """``values`` as integers when every value is a string of at most 18 ASCII digits (else
    None): "1" + the digits, so leading zeros stay distinct ("007" → 1007, "7" → 17); a sign,
    a space or any other character fails the cast."""
    try:
        return pc.cast(pc.binary_join_element_wise("1", values, ""), pa.int64())
    except pa.ArrowInvalid:
        return None


class _Writers:
    """One Parquet file per date in the staging directory; a date's rows are buffered into
    row groups of about ``ROW_GROUP_ROWS`` rows and written by two threads."""

    def __init__(
        self,
        stage: Path,
        run_id: str,
        *,
        write_date: bool,
        filter_columns: list[str],
        random_columns: list[str],
    ) -> None:
        self.stage = stage
        self.filter_columns = filter_columns
        self.random_columns = set(random_columns)
        self.run_id = run_id
        self.write_date = write_date
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.pending: dict[str, list[pa.Table]] = {}
        self.pending_rows: dict[str, int] = {}
        self.pool = ThreadPoolExecutor(2, thread_name_prefix="ingest-write")
        self.background = ThreadPoolExecutor(1, thread_name_prefix="ingest-partition")
        self.inflight: Future[None] | None = None
        self.decode: dict[str, bool] = {}
        self.repeated: list[str] | None = None
        self.repeated_lock = threading.Lock()

    def submit(self, table: pa.Table, dates: pa.Array) -> None:
        """:meth:`add` on a background thread; one chunk at a time (bounded memory)."""
        self._wait()
        self.inflight = self.background.submit(self.add, table, dates)

    def _wait(self) -> None:
        if self.inflight is not None:
            inflight, self.inflight = self.inflight, None
            inflight.result()

    def _write(self, day: str, tables: list[pa.Table]) -> None:
        table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        writer = self.writers.get(day)
        if writer is None:
            folder = self.stage / f"date={day}"
            folder.mkdir(parents=True, exist_ok=True)
            # dictionary pages for what repeats (Arrow dictionaries, dates, codes, last four
            # digits); plain pages for high-cardinality values (ids, amounts, descriptors,
            # tokens), where a dictionary costs a hash per value and saves little
            # (and min/max statistics only where a reader may filter: not on free text)
            repeated = self._repeated(table)
            writer = pq.ParquetWriter(
                folder / f"{self.run_id}-0.parquet",
                table.schema,
                # tokens are HMAC output: Snappy spends 3x the encoding time to save ~10 %
                compression={
                    f.name: "none" if f.name in self.random_columns else "snappy"
                    for f in table.schema
                },
                use_dictionary=repeated,
                write_statistics=[*repeated, *self.filter_columns],
                store_schema=False,
                store_decimal_as_integer=True,
            )
            self.writers[day] = writer
        writer.write_table(table, row_group_size=max(table.num_rows, 1))

    def _repeated(self, table: pa.Table) -> list[str]:
        """Columns written with dictionary pages, decided once per run on the first row group
        written: Arrow dictionaries, and columns with at most one distinct value in
        ``DICTIONARY_SHARE`` rows."""
        with self.repeated_lock:  # two writer threads: one decision for the run
            if self.repeated is None:
                limit = max(table.num_rows // DICTIONARY_SHARE, 1)
                self.repeated = [
                    f.name
                    for f in table.schema
                    if pa.types.is_dictionary(f.type)
                    or pc.count_distinct(table.column(f.name)).as_py() <= limit
                ]
            return self.repeated

    def add(self, table: pa.Table, dates: pa.Array) -> None:
        """``table``: the lake columns; ``dates``: each row's partition date (date32)."""
        table = table.append_column("_part", dates)
        due: list[tuple[str, list[pa.Table]]] = []
        # grouped batch by batch: a gather over contiguous arrays is several times cheaper
        # than one over a chunked table
        for batch in table.to_batches():
            part_col = batch.column(batch.num_columns - 1)
            order = pc.sort_indices(part_col)
            batch = self._decoded(batch.take(order))
            ends = pc.run_end_encode(batch.column(batch.num_columns - 1))
            start = 0
            for end, day in zip(ends.run_ends.to_pylist(), ends.values.to_pylist(), strict=True):
                key = day.isoformat()
                part = pa.Table.from_batches([batch.slice(start, end - start)]).drop_columns(
                    ["_part"] if self.write_date else ["_part", "date"]
                )
                start = end
                self.pending.setdefault(key, []).append(part)
                self.pending_rows[key] = self.pending_rows.get(key, 0) + part.num_rows
                if self.pending_rows[key] >= ROW_GROUP_ROWS:
                    due.append((key, self.pending.pop(key)))
                    self.pending_rows[key] = 0
        self._flush(due)

    def _decoded(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Large text dictionaries (tokens, ids) become plain text — the writer would copy
        the whole dictionary into every file; small ones (enums, codes) are written as they
        are. Decided per column on its first batch, so every file of the run has one schema."""
        arrays = []
        for name, col in zip(batch.schema.names, batch.columns, strict=True):
            if pa.types.is_dictionary(col.type):
                decode = self.decode.setdefault(name, len(col.dictionary) > SMALL_DICTIONARY)
                if decode:
                    col = col.dictionary.take(col.indices)
            arrays.append(col)
        return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)

    def _flush(self, due: list[tuple[str, list[pa.Table]]]) -> None:
        for future in [self.pool.submit(self._write, day, tables) for day, tables in due]:
            future.result()

    def close(self, *, flush: bool = True) -> None:
        try:
            self._wait()
            if flush:
                self._flush(list(self.pending.items()))
            self.pending.clear()
        finally:
            for writer in self.writers.values():
                writer.close()
            self.writers.clear()
            self.pool.shutdown()
            self.background.shutdown()


class _KeyHashes:
    """64-bit hashes of the keys written, sorted chunk by chunk on a background thread (with a
    DuckDB cursor of its own): distinct hashes prove distinct keys, checked at the end by one
    merge of the sorted runs instead of a distinct count over every key after the last chunk."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.cursor = con.cursor()
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="ingest-keys")
        self.parts: list[Future[np.ndarray]] = []

    def add(self, keys: pa.Array) -> None:
        self.parts.append(self.pool.submit(self._sorted, keys))

    def _sorted(self, keys: pa.Array) -> np.ndarray:
        self.cursor.register("chunk_keys", pa.table({"k": keys}))
        hashes = self.cursor.execute("SELECT hash(k) AS h FROM chunk_keys").fetchnumpy()["h"]
        self.cursor.unregister("chunk_keys")
        return np.sort(np.asarray(hashes, dtype=np.uint64))

    def all_distinct(self) -> bool:
        runs = [part.result() for part in self.parts]
        if not runs:
            return True
        merged = np.sort(np.concatenate(runs), kind="stable")  # a merge of sorted runs
        return not bool(np.any(merged[1:] == merged[:-1]))

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)
        self.cursor.close()


class Pipeline:
    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        source: Source,
        schema: FeedSchema,
        *,
        partner_id: str,
        run_id: str,
        pii_key: bytes,
        lake_dir: Path,
        known: pa.Table | Callable[[], pa.Table] | None,
        quarantine_cap: int = 100_000,
        chunk_rows: int | None = None,
    ) -> None:
        _use_jemalloc()
        self.con = con
        self.src = source
        self.schema = schema
        self.partner_id = partner_id
        self.run_id = run_id
        self.key = pii_key
        self.lake_dir = lake_dir
        self.cap = quarantine_cap
        self.chunk_rows = chunk_rows or CHUNK_ROWS
        self.plans = _plan(schema)
        self.ingested_at = datetime.now(UTC)
        self.has_ucic = "ucic" in schema.names
        self.uses_map = self.has_ucic and schema.name in MAPPED and "member_id" in schema.names
        self.checks_refs = schema.name in REFERENCE_CHECKED
        self.mask_tables: dict[str, _MaskTable] = {}
        self.known_source = known
        self._reset()

    def _load_known(self) -> None:
        """The partner's ucics and member ids (``known``, or what its loader returns): the
        member map and the reference check read them."""
        known = self.known_source() if callable(self.known_source) else self.known_source
        if known is None or known.num_rows == 0:
            known = pa.table(
                {"ucic": pa.array([], pa.string()), "member_id": pa.array([], pa.string())}
            )
        self.con.register("known_ids", known)
        mm = self.con.execute(
            "SELECT member_id AS mm_member_id, min(ucic) AS mm_ucic "
            "FROM known_ids WHERE member_id IS NOT NULL GROUP BY member_id"
        ).to_arrow_table()
        self.mm_keys = mm.column("mm_member_id").combine_chunks()
        self.mm_ucics = mm.column("mm_ucic").combine_chunks()
        self.con.register("member_map", mm)
        known_ucics = self.con.execute(
            "SELECT DISTINCT ucic AS ku_ucic FROM known_ids"
        ).to_arrow_table()
        self.known_ucics = known_ucics.column("ku_ucic").combine_chunks()
        self.con.register("known_ucics", known_ucics)

    def _reset(self) -> None:
        self.read = 0
        self.bad = 0
        self.written = 0
        self.bad_rows: list[pa.Table] = []
        self.kept_bad = 0
        self.valid_parts: list[pa.Table] = []
        self.key_hashes: _KeyHashes | None = None  # the keys written: the in-file duplicate check

    # -- masking per distinct value -----------------------------------------------------------
    def _mask_values(self, spec: FieldSpec, values: list[str]) -> tuple[list[Any], list[Any]]:
        """(tokens or scrubbed JSON, last fours) of new distinct raw values, exactly as
        ``masking.mask_record`` does for one record."""
        if spec.kind == Kind.JSON and spec.masking == Masking.NONE:
            return [_scrub(self.key, v) for v in values], [None] * len(values)
        last4 = spec.masking == Masking.LAST4
        norm = masking.compact if last4 else masking.normalise_text
        norms = [norm(v.strip()) for v in values]
        toks = iter(masking.tokens(self.key, [n for n in norms if n]))
        firsts = [next(toks) if n else None for n in norms]
        fours = [n[-4:] if n and last4 else None for n in norms]
        return firsts, fours

    def _masked(self, spec: FieldSpec, values: pa.Array) -> tuple[pa.Array, _MaskTable]:
        """Each value's position in the run's table of masked values (null for null), after
        adding the values not seen before: the Python work is once per distinct value per run,
        the rest is a hash probe."""
        table = self.mask_tables.get(spec.name) or _MaskTable.empty()
        if len(table.keys):
            pos = table.positions(values)
            new = pc.and_(pc.is_null(pos), pc.is_valid(values))
        else:  # the run's first values: nothing to probe
            pos, new = pa.nulls(len(values), pa.int32()), pc.is_valid(values)
        if pc.any(new).as_py():
            unseen = values.filter(new)
            fresh = pc.unique(unseen)
            firsts, fours = self._mask_values(spec, fresh.to_pylist())
            # only the rows with new values are probed again, against the new values alone
            # (one probe of the chunk against the run's whole table, not two)
            fresh_pos = pc.add(pc.index_in(unseen, value_set=fresh), len(table.keys))
            pos = pc.replace_with_mask(pos, new, fresh_pos.cast(pa.int32()))
            fresh_ints = _digits(fresh) if table.int_keys is not None else None
            table = _MaskTable(
                pa.concat_arrays([table.keys, fresh.cast(pa.string())]),
                pa.concat_arrays([table.first, pa.array(firsts, pa.string())]),
                pa.concat_arrays([table.last4, pa.array(fours, pa.string())]),
                None
                if table.int_keys is None or fresh_ints is None
                else pa.concat_arrays([table.int_keys, fresh_ints]),
            )
            self.mask_tables[spec.name] = table
        return pos, table

    def _mask_columns(self, spec: FieldSpec, values: pa.Array) -> dict[str, pa.Array]:
        pos, table = self._masked(spec, values)
        if spec.masking == Masking.LAST4:
            return {
                spec.name + "_last4": _dict(pos, table.last4),
                spec.name + "_token": _dict(pos, table.first),
            }
        if spec.masking == Masking.TOKENISE:
            return {spec.name + "_token": _dict(pos, table.first)}
        return {spec.name: _dict(pos, table.first)}

    # -- one chunk ------------------------------------------------------------------------------
    def _columns(self, chunk: pa.Table) -> dict[str, pa.Array]:
        n = chunk.num_rows
        cols: dict[str, pa.Array] = {}
        present = set(chunk.column_names)
        for name in self.schema.names:
            if name not in present:
                cols[name] = pa.nulls(n, pa.string())
                continue
            col = chunk.column(name)
            if not pa.types.is_string(col.type):
                col = col.cast(pa.string())
            if self.src.fmt != "csv":  # Arrow's CSV reader already reads empty fields as null
                col = pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)
            cols[name] = col
        return cols

    def _distinct(self, plan: _FieldPlan, col: pa.Array) -> tuple[pa.Array, dict[str, pa.Array]]:
        """(ok per row, lake columns) of a field evaluated once per distinct value."""
        spec = plan.spec
        # over a chunked column every chunk shares one dictionary: combining is cheap
        enc = _contiguous(pc.dictionary_encode(col))
        uniq = enc.dictionary
        idx = enc.indices
        exprs = [f"({field_ok_sql(plan.rules)}) AS ok"] if plan.rules else []
        c = q(spec.name)
        if spec.masking == Masking.BIRTH_YEAR:
            exprs.append(f"CAST(year(TRY_CAST({c} AS DATE)) AS BIGINT) AS birth_year")
        elif spec.masking == Masking.NONE and spec.kind not in (Kind.JSON, Kind.STRING):
            exprs.append(f"{_try_cast_sql(spec.kind, c)} AS typed")
        res = pa.table({})
        if exprs:
            self.con.register("u", pa.table({spec.name: uniq}))
            res = self.con.execute(f"SELECT {', '.join(exprs)} FROM u").to_arrow_table()
            self.con.unregister("u")
        ok = (
            pc.fill_null(res.column("ok").combine_chunks().take(idx), True)
            if plan.rules
            else pa.array(np.ones(len(idx), np.bool_))
        )
        out: dict[str, pa.Array] = {}
        if spec.masking == Masking.BIRTH_YEAR:
            out["birth_year"] = res.column("birth_year").combine_chunks().take(idx)
        elif "typed" in res.column_names:
            out[spec.name] = _dict(idx, res.column("typed").combine_chunks())
        elif spec.masking == Masking.NONE and spec.kind == Kind.STRING:
            out[spec.name] = _dict(idx, uniq)
        if _is_masked(spec):
            for name, col in self._mask_columns(spec, uniq).items():
                out[name] = _dict(idx, col.dictionary.take(col.indices))
        return ok, out

    def _chunk(self, chunk: pa.Table, first_row: int) -> None:
        n = chunk.num_rows
        cols = self._columns(chunk)
        oks: list[pa.Array] = []
        if "_parse_error" in chunk.column_names:
            oks.append(pc.is_null(chunk.column("_parse_error")))
        for spec in self.schema.fields:
            if spec.required:
                oks.append(pc.is_valid(cols[spec.name]))
        for group in self.schema.one_of:
            oks.append(reduce(pc.or_, [pc.is_valid(cols[g]) for g in group]))
        lake_cols: dict[str, pa.Array] = {}
        for plan in self.plans:
            col = cols[plan.name]
            if plan.spec.masking == Masking.DROP and not plan.rules:
                continue
            if _is_masked(plan.spec) and not plan.rules:
                lake_cols.update(self._mask_columns(plan.spec, _contiguous(col)))
                continue
            if plan.distinct:
                ok, out = self._distinct(plan, col)
                oks.append(ok)
                lake_cols.update(out)
                continue
            for rule in plan.rules:
                assert rule.arrow_ok is not None
                oks.append(pc.fill_null(rule.arrow_ok(col), True))
            lake_cols[plan.name] = col
        if self.schema.name == "accounts":
            close, opened = lake_cols["close_date"], lake_cols["open_date"]
            oks.append(pc.invert(pc.fill_null(pc.less(close, opened), False)))
        if self.has_ucic:
            ucic = cols["ucic"]
            resolved = ucic
            if self.uses_map:
                member = cols["member_id"]
                wants = pc.and_(pc.is_null(ucic), pc.is_valid(member))
                if pc.any(wants).as_py():
                    mapped = self.mm_ucics.take(pc.index_in(member, value_set=self.mm_keys))
                    resolved = pc.coalesce(ucic, mapped)
                    if self.checks_refs:
                        oks.append(pc.invert(pc.and_(wants, pc.is_null(mapped))))
            if self.checks_refs:
                known = pc.is_in(ucic, value_set=self.known_ucics)
                oks.append(pc.or_(pc.is_null(ucic), known))
            lake_cols["ucic"] = resolved
        ok = _all(oks, n)
        n_ok = pc.sum(ok).as_py() or 0
        self.read += n
        if n_ok < n:
            self._keep_bad(chunk, cols, lake_cols, pc.invert(ok), first_row)
        if n_ok == 0:
            return
        self._write_valid(lake_cols, ok if n_ok < n else None, n_ok)

    def _keep_bad(
        self,
        chunk: pa.Table,
        cols: dict[str, pa.Array],
        lake_cols: dict[str, pa.Array],
        bad: pa.Array,
        first_row: int,
    ) -> None:
        count = pc.sum(bad).as_py() or 0
        self.bad += count
        room = self.cap - self.kept_bad
        if room <= 0:
            return
        data: dict[str, pa.Array] = dict(cols)
        for spec in self.schema.fields:
            if spec.masking == Masking.BIRTH_YEAR:
                names = ["birth_year"]
            elif spec.masking == Masking.LAST4:
                names = [spec.name + "_last4", spec.name + "_token"]
            elif spec.masking == Masking.TOKENISE:
                names = [spec.name + "_token"]
            elif _is_masked(spec):
                names = [spec.name]
            else:
                names = []
            for name in names:
                data["_m_" + name] = lake_cols[name]
        if "_line" in chunk.column_names:
            data["_line"] = chunk.column("_line").combine_chunks()
        else:
            start = first_row + self.src.line_offset
            data["_line"] = pa.array(np.arange(start, start + chunk.num_rows, dtype=np.int64))
        if "_parse_error" in chunk.column_names:
            data["_parse_error"] = chunk.column("_parse_error").combine_chunks()
        else:
            data["_parse_error"] = pa.nulls(chunk.num_rows, pa.string())
        table = pa.table(
            {
                k: v.dictionary_decode() if pa.types.is_dictionary(v.type) else v
                for k, v in data.items()
            }
        ).filter(bad)
        table = table.slice(0, room)
        self.bad_rows.append(table)
        self.kept_bad += table.num_rows

    def _lake_columns(self, lake_cols: dict[str, pa.Array], n: int) -> pa.Table:
        names: list[str] = []
        arrays: list[pa.Array] = []
        for spec in self.schema.fields:
            if spec.masking == Masking.DROP:
                continue
            if spec.masking == Masking.BIRTH_YEAR:
                names.append("birth_year")
                arrays.append(lake_cols["birth_year"])
            elif spec.masking == Masking.LAST4:
                names += [spec.name + "_last4", spec.name + "_token"]
                arrays += [lake_cols[spec.name + "_last4"], lake_cols[spec.name + "_token"]]
            elif spec.masking == Masking.TOKENISE:
                names.append(spec.name + "_token")
                arrays.append(lake_cols[spec.name + "_token"])
            else:
                col = lake_cols[spec.name]
                if spec.kind == Kind.MONEY and pa.types.is_string(col.type):
                    col = pc.cast(col, pa.decimal128(18, 2))  # valid rows only: cannot fail
                names.append(spec.name)
                arrays.append(col)
        names += ["partner_id", "ingest_run_id", "ingested_at"]
        arrays += [
            _constant(self.partner_id, n, pa.string()),
            _constant(self.run_id, n, pa.string()),
            _constant(self.ingested_at, n, TIMESTAMP_US),
        ]
        return pa.Table.from_arrays(arrays, names=names)

    def _write_valid(self, lake_cols: dict[str, pa.Array], ok: pa.Array | None, n: int) -> None:
        if ok is not None:
            lake_cols = {k: v.filter(ok) for k, v in lake_cols.items()}
        table = self._lake_columns(lake_cols, n)
        if self.side_columns:
            self.valid_parts.append(
                pa.table(
                    {
                        c: (
                            table.column(c).cast(pa.string())
                            if pa.types.is_dictionary(table.column(c).type)
                            else table.column(c)
                        )
                        for c in self.side_columns
                    }
                )
            )
        if self.lake_keys is not None:
            table = self._drop_lake_keys(table)
            if table.num_rows == 0:
                return
        assert self.key_hashes is not None
        self.key_hashes.add(self._key_strings(table))
        date_spec = self.schema.field(self.schema.date_field)
        dates = table.column(date_spec.name).combine_chunks()
        if date_spec.kind == Kind.TIMESTAMP:
            dates = pc.cast(dates, pa.date32())
        if pa.types.is_dictionary(dates.type):
            dates = dates.dictionary_decode()
        if self.schema.date_field != "date":
            table = table.append_column("date", dates)
        self.writers.submit(table, dates)
        self.written += table.num_rows

    # -- keys already in the lake ---------------------------------------------------------------
    def _load_lake_keys(self) -> pa.Table | None:
        files = lake.parquet_files(self.lake_dir, self.schema.name, self.partner_id)
        if not files:
            return None
        keys = ", ".join(q(k) for k in self.schema.key)
        file_list = "[" + ", ".join(lit(str(f)) for f in files) + "]"
        scan = f"read_parquet({file_list}, union_by_name=true, hive_partitioning=false)"
        return self.con.execute(f"SELECT DISTINCT {keys} FROM {scan}").to_arrow_table()

    def _key_strings(self, table: pa.Table) -> pa.Array:
        parts = []
        for k in self.schema.key:
            col = table.column(k).combine_chunks()
            if pa.types.is_dictionary(col.type):
                col = col.dictionary_decode()
            if pa.types.is_timestamp(col.type):
                col = pc.cast(col, pa.int64())  # microseconds: one spelling per instant
            parts.append(pc.cast(col, pa.string()))
        if len(parts) == 1:
            return parts[0]
        return pc.binary_join_element_wise(*parts, "\x1f")

    def _drop_lake_keys(self, table: pa.Table) -> pa.Table:
        assert self.lake_keys is not None
        seen = pc.is_in(self._key_strings(table), value_set=self.lake_key_strings)
        return table.filter(pc.invert(seen))

    # -- passes ----------------------------------------------------------------------------
    def _read(self, *, fast: bool) -> _Prefetch:
        """The source's chunks, read ahead on a background thread from now on."""
        return _Prefetch(_chunks(arrow_batches(self.con, self.src, fast=fast), self.chunk_rows))

    def stream(self, chunks: _Prefetch, stage: Path) -> None:
        """Validate, mask and stage every chunk (``chunks`` is closed at the end)."""
        if self.key_hashes is not None:  # a second pass (DuckDB's reader after Arrow's)
            self.key_hashes.close()
        self._reset()
        self.key_hashes = _KeyHashes(self.con)
        if stage.exists():
            shutil.rmtree(stage)
        stage.mkdir(parents=True, exist_ok=True)
        self.writers = _Writers(
            stage,
            self.run_id,
            write_date=self.schema.date_field == "date",
            filter_columns=[
                s.name
                for s in self.schema.fields
                if s.classification == Classification.IDENTIFIER and s.masking == Masking.NONE
            ],
            random_columns=[
                s.name + "_token"
                for s in self.schema.fields
                if s.masking in (Masking.TOKENISE, Masking.LAST4)
            ],
        )
        try:
            first = 0
            # the next chunk is read (and the previous one written) while this one is worked on
            for chunk in chunks:
                self._chunk(chunk, first)
                first += chunk.num_rows
        except BaseException:
            self.writers.close(flush=False)
            self.key_hashes.close()
            self.key_hashes = None
            raise
        finally:
            chunks.close()
        self.writers.close()

    def dedupe_staged(self, stage: Path) -> int:
        files = lake.staged_files(stage)
        if not files:
            return 0
        keys = ", ".join(q(k) for k in self.schema.key)
        file_list = "[" + ", ".join(lit(str(f)) for f in files) + "]"
        scan = f"read_parquet({file_list}, hive_partitioning=false)"
        # distinct 64-bit hashes of the keys written prove distinct keys, at a fraction of the
        # cost of grouping by the keys; only a file with repeated hashes gets the exact count
        # on the staged Parquet
        if self.key_hashes is not None:
            distinct = self.key_hashes.all_distinct()
            self.key_hashes.close()
            self.key_hashes = None
            if distinct:
                return 0
        extra = self.con.execute(
            f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {scan} "
            f"GROUP BY {keys} HAVING count(*) > 1)"
        ).fetchone()
        dupes = int(extra[0]) if extra else 0
        if dupes == 0:
            return 0
        rewritten = stage.with_name(stage.name + ".dedupe")
        date_is_field = self.schema.date_field == "date"
        date_col = (
            ""
            if date_is_field
            else ", CAST(regexp_extract(filename, 'date=([0-9-]+)', 1) AS DATE) AS date"
        )
        scan_named = f"read_parquet({file_list}, hive_partitioning=false, filename=true)"
        self.con.execute(
            f"COPY (SELECT * EXCLUDE (filename){date_col} FROM {scan_named} "
            f"QUALIFY row_number() OVER (PARTITION BY {keys}) = 1) TO {lit(str(rewritten))} "
            f"(FORMAT parquet, PARTITION_BY (date), FILENAME_PATTERN {lit(self.run_id + '-{i}')}, "
            f"OVERWRITE_OR_IGNORE, WRITE_PARTITION_COLUMNS {'true' if date_is_field else 'false'})"
        )
        shutil.rmtree(stage)
        rewritten.rename(stage)
        return dupes

    def _resolved_sql(self, *, messages: bool = False) -> str:
        """``clean`` (the kept bad rows) plus ``_ucic``, ``_ok`` and, with ``messages``,
        ``_errors`` (the problems as text)."""
        name = self.schema.name
        joins: list[str] = []
        ok = ["c._parse_error IS NULL", *ok_terms_sql(self.schema)]
        extra: list[str] = []
        ucic_expr = "c.ucic" if self.has_ucic else "NULL"
        if self.uses_map:
            joins.append("LEFT JOIN member_map mm ON mm.mm_member_id = c.member_id")
            ucic_expr = "coalesce(c.ucic, mm.mm_ucic)"
        if name in REFERENCE_CHECKED:
            known = "c.ucic IN (SELECT ku_ucic FROM known_ucics)"
            ok.append(f"(c.ucic IS NULL OR {known})")
            extra.append(
                f"CASE WHEN c.ucic IS NOT NULL AND NOT ({known}) THEN "
                "'ucic: \"' || left(c.ucic, 40) || '\" is not a known customer "
                "(send it in the customers feed first)' END"
            )
            if self.uses_map:
                ok.append("NOT (c.ucic IS NULL AND c.member_id IS NOT NULL AND mm.mm_ucic IS NULL)")
                extra.append(
                    "CASE WHEN c.ucic IS NULL AND c.member_id IS NOT NULL AND mm.mm_ucic IS NULL "
                    "THEN 'member_id: \"' || left(c.member_id, 40) || "
                    "'\" maps to no known ucic' END"
                )
        cols = [f"{ucic_expr} AS _ucic", f"({' AND '.join(ok)}) AS _ok"]
        if messages:
            errs = errors_sql(self.schema, extra, leading=["c._parse_error"])
            cols.append(f"{errs} AS _errors")
        return f"SELECT c.*, {', '.join(cols)} FROM clean c {' '.join(joins)}"

    def quarantine(self) -> list[QuarantineRow]:
        """The kept bad rows with their messages (the SQL form of the rules) and a masked
        copy of the row, in file order."""
        if not self.bad_rows:
            return []
        self.con.execute("SET preserve_insertion_order = true")
        self.con.register("bad_src", pa.concat_tables(self.bad_rows))
        self.con.execute("CREATE OR REPLACE TEMP VIEW clean AS SELECT * FROM bad_src")
        record_parts = []
        for spec in self.schema.fields:
            c = f"r.{q(spec.name)}"
            if spec.masking == Masking.NONE and spec.kind != Kind.JSON:
                record_parts.append(f"{lit(spec.name)}, {c}")
            elif spec.masking == Masking.DROP:
                continue
            elif spec.masking == Masking.BIRTH_YEAR:
                record_parts.append(f"'birth_year', r.{q('_m_birth_year')}")
            elif spec.masking == Masking.LAST4:
                for suffix in ("_last4", "_token"):
                    name = spec.name + suffix
                    record_parts.append(f"{lit(name)}, r.{q('_m_' + name)}")
            elif spec.masking == Masking.TOKENISE:
                name = spec.name + "_token"
                record_parts.append(f"{lit(name)}, r.{q('_m_' + name)}")
            else:
                record_parts.append(f"{lit(spec.name)}, r.{q('_m_' + spec.name)}")
        record = f"CAST(json_object({', '.join(record_parts)}) AS VARCHAR)"
        rows = self.con.execute(
            f"SELECT r._line, r._errors, {record} FROM ({self._resolved_sql(messages=True)}) r "
            f"ORDER BY r._line LIMIT {int(self.cap)}"
        ).fetchall()
        self.con.unregister("bad_src")
        return [
            QuarantineRow(
                line=int(line),
                field=first_field(errors) or "row",
                reason=errors or "row: failed validation",
                record=json.loads(record) if record else {},
            )
            for line, errors, record in rows
        ]

    def valid_rows(self) -> pa.Table | None:
        """Valid rows (duplicates included, distinct) for the serving-DB side effects."""
        if not self.valid_parts:
            return None
        self.con.register("valid_src", pa.concat_tables(self.valid_parts))
        out = self.con.execute("SELECT DISTINCT * FROM valid_src").to_arrow_table()
        self.con.unregister("valid_src")
        return out

    def run(self, stage: Path, *, side_effect_columns: list[str] | None = None) -> PipelineResult:
        try:
            with _collector_paused():
                return self._run(stage, side_effect_columns=side_effect_columns)
        finally:
            _release_memory()

    def _run(self, stage: Path, *, side_effect_columns: list[str] | None) -> PipelineResult:
        self.side_columns = side_effect_columns or []
        # Arrow's CSV reader needs no DuckDB connection: it starts on the first chunk while the
        # known ids and the lake's keys load (other sources read through DuckDB afterwards)
        early = self._read(fast=True) if self.src.fmt == "csv" and self.src.arrow is None else None
        try:
            self._load_known()
            self.lake_keys = self._load_lake_keys()
            if self.lake_keys is not None:
                self.lake_key_strings = self._key_strings(self.lake_keys)
        except BaseException:
            if early is not None:
                early.close()
            raise
        try:
            self.stream(early or self._read(fast=True), stage)
        except (pa.ArrowException, OSError):
            if self.src.fmt != "csv":
                raise
            # what Arrow's reader refuses, DuckDB's reads or names precisely (line, problem)
            self.stream(self._read(fast=False), stage)
        result = PipelineResult(read=self.read)
        if self.read == 0:
            return result
        in_file_dupes = self.dedupe_staged(stage)
        result.stored = self.written - in_file_dupes
        result.quarantined = self.bad
        result.quarantine = self.quarantine()
        result.quarantine_truncated = result.quarantined > len(result.quarantine)
        result.duplicate = result.read - result.stored - result.quarantined
        if side_effect_columns:
            result.valid = self.valid_rows()
        result.dates = sorted(p.parent.name.removeprefix("date=") for p in lake.staged_files(stage))
        return result
