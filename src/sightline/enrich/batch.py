"""Batch enrichment as an Ibis stage on DuckDB: files (the CLI) and the lake stage.

Descriptors repeat heavily, so a batch never enriches rows one by one. The stage is a handful of
Ibis expressions compiled to DuckDB SQL (Ibis costs a little per query, nothing per row):

1. one pass over the input groups its *raw* lines (descriptor, direction, MCC, channel,
   trans_category as written) and counts them — ten million rows are a few hundred thousand
   distinct lines;
2. on those lines only, the descriptor *key* (:func:`key_expr`: the regexes of
   :func:`sightline.enrich.normalise.descriptor_key`) and the cleaned context are computed — the
   lines collapse to a few thousand distinct (key, context) groups;
3. each group is enriched once in Python and the answers come back to DuckDB as a small table
   whose text columns are ``ENUM`` (dictionary) typed, so the Parquet writer stores them as
   dictionary pages instead of hashing ten million strings per column;
4. a map (raw line → enrichment) is joined back to every row on the raw columns and written.

:func:`enrich_file` keeps the input's row order (an explicit sort on the row number: a hash join
does not keep order). :func:`enrich_lake` builds the map once for all the dates it enriches, then
writes each date's file with its own ``COPY`` (dates spread over worker threads; optionally rows
ordered by ``ucic``). Answers are kept per Enricher across batches
(:data:`ANSWER_CACHE_MAX`), so a daily file in a long-lived process enriches only the descriptors
it has not seen before.

:func:`enrich_lake` is the pipeline stage: ``lake/transactions/partner=<id>/date=<d>/`` →
``lake/enriched_transactions/partner=<id>/date=<d>/<run_id>-<n>.parquet``. Re-running a date
replaces its output safely: the new files are written complete into a staging folder first,
then each date folder is swapped in with two renames, and the old files are deleted only after
the new ones are in place (a crash in between is repaired by the next run; see
``docs/merchant-cleansing.md``).
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import re
import shutil
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.parquet as pq
from ibis.backends.duckdb import Backend as DuckDBBackend
from ibis.common.exceptions import IbisError

from sightline import duck
from sightline.config import Settings
from sightline.enrich.engine import FIELDS, Enricher, default_enricher
from sightline.enrich.normalise import KEY_PATTERNS
from sightline.errors import BadRequest, NotFound

Progress = Callable[[int, int], None]
"""Called with (done, total) distinct descriptors while enriching."""

CONTEXT_COLUMNS = ("direction", "mcc", "channel", "trans_category")
_INT_FIELDS = frozenset({"merchant_kli_code"})
_FLOAT_FIELDS = frozenset({"match_score"})
_PARTNER = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_KEY = "_sl_key"
_ROWS = "_sl_rows"
_ORDER = "_sl_n"
_MAP = "_sl_m_"  # prefix of the map's columns in the final join
ENUM_MAX_VALUES = 16_384
"""A field with at most this many distinct values is written from an ``ENUM`` (see
:func:`_dictionary_table`); a field with more stays text."""
ENUM_MIN_ROWS = 1_000_000
"""Batches of fewer rows keep the fields as text: for a day's file (55k rows, 25k keys) building
the ``ENUM`` types took ~0.2 s, more than writing the text costs."""


@dataclass(frozen=True)
class BatchStats:
    rows: int
    distinct_descriptors: int
    seconds: float
    dates: tuple[str, ...] = ()
    files: tuple[str, ...] = ()

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def backend(con: duckdb.DuckDBPyConnection | None = None) -> DuckDBBackend:
    """An Ibis DuckDB backend over ``con`` (default: a fresh :func:`sightline.duck.connect`)."""
    return ibis.duckdb.from_connection(con if con is not None else duck.connect())


def key_expr(text: ir.StringValue) -> ir.StringValue:
    """Ibis expression of :func:`sightline.enrich.normalise.descriptor_key` (same regexes)."""
    strip, spaces = KEY_PATTERNS
    return text.upper().replace("'", "").re_replace(strip, " ").re_replace(spaces, " ").strip()


def _context(raw: ir.Table, present: dict[str, str]) -> dict[str, ir.Value]:
    """Each context value cleaned (NULL when the input has no such column or a bad value)."""
    out: dict[str, ir.Value] = {}
    for name in CONTEXT_COLUMNS:
        col = present.get(name)
        if col is None:
            out[name] = ibis.null("string")
            continue
        text = raw[col].cast("string").strip()
        if name == "direction":
            value = text.lower()
            out[name] = ibis.cases((value.isin(["debit", "credit"]), value), else_=None)
        elif name == "mcc":
            out[name] = ibis.cases((text.re_search("^[0-9]{1,4}$"), text.lpad(4, "0")), else_=None)
        else:
            out[name] = text.lower().nullif("")
    return out


@dataclass(frozen=True)
class _Mapping:
    """The map raw line → enrichment (a table of ``con``) and what it was built from."""

    name: str
    table: ir.Table
    raw_cols: list[str]
    rows: int
    distinct: int


def _build_mapping(
    con: DuckDBBackend,
    source: ir.Table,
    description: str,
    engine: Enricher,
    progress: Progress | None,
    *,
    temp: bool = True,
    workers: int | None = None,
) -> _Mapping:
    """Steps 1–3 of the stage: the distinct raw lines of ``source``, their keys, each key
    enriched once, and the map raw line → answer (columns ``_sl_m_<raw column>`` and
    ``_sl_m_<field>``), materialised as a table of ``con`` (a temp table, or with
    ``temp=False`` a table other cursors of the same database can read). The keys not answered
    before are enriched on ``workers`` cores (default: all of them)."""
    columns = list(source.columns)
    if description not in columns:
        shown = [c for c in columns if c != _ORDER]  # the row-order column is ours
        raise BadRequest(
            f"Column {description} is required (found: {', '.join(shown) or 'no columns'})."
        )
    present = {c.lower(): c for c in columns if c != description}
    raw_cols = [description, *(present[n] for n in CONTEXT_COLUMNS if n in present)]
    # 1. the distinct raw lines and how many rows each stands for (no regex yet)
    raw = _materialize(
        con,
        "_sl_raw",
        source.group_by(raw_cols).aggregate(**{_ROWS: ibis._.count()}),
    )
    # 2. their keys and cleaned context
    ctx = _context(raw, present)
    keyed = _materialize(
        con,
        "_sl_keyed",
        raw.select(
            *raw_cols,
            **{_KEY: key_expr(raw[description].cast("string")).fill_null("")},
            **{f"_sl_{n}": v for n, v in ctx.items()},
        ),
    )
    group_cols = [_KEY, *(f"_sl_{n}" for n in CONTEXT_COLUMNS)]
    groups = keyed.select(*group_cols).distinct().to_pyarrow()
    total = raw[_ROWS].sum().execute()
    rows = int(total) if total is not None and total == total else 0
    # 3. each distinct key enriched once, in Python; the answers as a dictionary-typed table
    answers = _dictionary_table(
        con,
        "_sl_answers",
        _enrich_groups(engine, groups, progress, workers=workers or os.cpu_count() or 1),
        enum=rows >= ENUM_MIN_ROWS,
    )
    preds = [keyed[_KEY] == answers[_KEY]]
    preds += [keyed[c].identical_to(answers[c]) for c in group_cols[1:]]
    mapping = _materialize(
        con,
        "_sl_map",
        keyed.join(answers, preds).select(
            *(keyed[c].name(_MAP + c) for c in raw_cols),
            *(answers[f].name(_MAP + f) for f in FIELDS),
        ),
        temp=temp,
    )
    return _Mapping("_sl_map", mapping, raw_cols, rows, groups.num_rows)


def enrich_table(
    con: DuckDBBackend,
    source: ir.Table,
    *,
    description: str = "description",
    enricher: Enricher | None = None,
    progress: Progress | None = None,
) -> tuple[ir.Table, int, int]:
    """Enrich every row of the Ibis table ``source``.

    Returns ``(expression, rows, distinct_keys)``: the expression is ``source``'s columns (one
    named like a field renamed ``<name>_input``) followed by :data:`FIELDS`, not yet executed;
    the distinct raw lines, their keys and the enrichment are computed and kept as temp tables
    of ``con`` here. ``source`` is read twice: once here for its distinct raw lines, once when
    the expression runs.
    """
    m = _build_mapping(con, source, description, enricher or default_enricher(), progress)
    mapping, raw_cols, columns = m.table, m.raw_cols, list(source.columns)
    # 4. joined back to every row on the raw columns (NULL context equals NULL)
    on = [source[description] == mapping[_MAP + description]]
    on += [source[c].identical_to(mapping[_MAP + c]) for c in raw_cols[1:]]
    joined = source.left_join(mapping, on)
    names = _output_names(columns)
    enriched = joined.select(
        *(joined[c].name(names[c]) for c in columns),
        *(joined[_MAP + f].name(f) for f in FIELDS),
    )
    return enriched, m.rows, m.distinct


def _output_names(columns: list[str]) -> dict[str, str]:
    """Input column → output name: one named like a field becomes ``<name>_input`` (``_input_2``,
    … when that is taken too, e.g. a file that was enriched before)."""
    taken = set(columns) | set(FIELDS)
    names = {}
    for c in columns:
        if c not in FIELDS:
            names[c] = c
            continue
        name, n = f"{c}_input", 1
        while name in taken:
            n += 1
            name = f"{c}_input_{n}"
        taken.add(name)
        names[c] = name
    return names


def _materialize(con: DuckDBBackend, name: str, expr: ir.Table, *, temp: bool = True) -> ir.Table:
    """Compute ``expr`` once into a temp table (``CREATE TABLE AS``: column types kept as the
    query gives them, ``ENUM`` included; Ibis's ``create_table`` would declare them as text).
    ``temp=False``: a table of the (private, in-memory) database, which other cursors see."""
    kind = "TEMP TABLE" if temp else "TABLE"
    con.raw_sql(f"CREATE OR REPLACE {kind} {_q(name)} AS {con.compile(expr)}")
    return _known_table(con, name, expr.schema())


def _known_table(con: DuckDBBackend, name: str, schema: ibis.Schema) -> ir.Table:
    """The table ``name`` of ``con`` with a schema we know, without asking DuckDB: Ibis's
    ``con.table`` parses every column type with sqlglot, and an ``ENUM`` of a few thousand
    values costs it ~0.1 s a column (``ENUM`` columns are strings to Ibis)."""
    return ops.DatabaseTable(name, schema=schema, source=con, namespace=ops.Namespace()).to_expr()


AnswerKey = tuple[str, str | None, str | None, str | None, str | None]
ANSWER_CACHE_MAX = 1_000_000
"""Answers kept per Enricher across batches (cleared when full): a daily file repeats the
descriptors of earlier ones, so an incremental refresh in a long-lived process (the server's
scheduler) enriches only what is new. ~0.5 KB an entry."""
_answers: weakref.WeakKeyDictionary[Enricher, dict[AnswerKey, tuple[Any, ...]]] = (
    weakref.WeakKeyDictionary()
)
_answers_lock = threading.Lock()


def _answer_cache(engine: Enricher) -> dict[AnswerKey, tuple[Any, ...]]:
    with _answers_lock:
        memo = _answers.get(engine)
        if memo is None or len(memo) > ANSWER_CACHE_MAX:
            memo = _answers[engine] = {}
        return memo


PARALLEL_MIN_KEYS = 4_000
"""A batch with at least this many descriptors not answered before enriches them on every core:
the engine is Python (one core), so the others run forked copies of the process, each on its
share of the keys (:func:`_enrich_keys`). Below this, forking costs more than it saves."""


CHILD_SECONDS = 60.0
CHILD_SECONDS_PER_KEY = 0.005
"""How long the parent waits for a forked child's share (~75 µs a key when it works): past
this the child is stopped and its share enriched in the parent."""


def _enrich_one_share(
    engine: Enricher, todo: list[AnswerKey], report: Callable[[int], None] | None = None
) -> list[tuple[Any, ...]]:
    out = []
    step = max(1, len(todo) // 100)
    for i, (key, direction, mcc, category, channel) in enumerate(todo):
        r = engine.enrich_key(key, direction, mcc, category, channel)
        out.append(tuple(getattr(r, f) for f in FIELDS))
        if report is not None and i % step == 0:
            report(i + 1)
    return out


def _reporter(progress: Progress | None, total: int, shares: int) -> Callable[[int], None] | None:
    """Progress of one share of ``shares`` as (about) the whole batch's."""
    if progress is None:
        return None
    return lambda done: progress(min(total, done * shares), total)


def _child_share(engine: Enricher, todo: list[AnswerKey], conn: Connection) -> None:
    """In a forked child: its share of the keys, sent back to the parent."""
    try:
        conn.send(_enrich_one_share(engine, todo))
    finally:
        conn.close()


def _enrich_keys(
    engine: Enricher, todo: list[AnswerKey], workers: int, progress: Progress | None
) -> list[tuple[Any, ...]]:
    """``todo`` enriched, in order: with ``workers`` > 1 and enough keys, shares of them in
    forked children while this process does the first share. A child that fails has its share
    done here instead (same answers, one core)."""
    total = len(todo)
    workers = min(workers, max(1, total // (PARALLEL_MIN_KEYS // 2)))
    if workers < 2 or "fork" not in mp.get_all_start_methods():
        out = _enrich_one_share(engine, todo, _reporter(progress, total, 1))
        if progress is not None and total:
            progress(total, total)
        return out
    ctx = mp.get_context("fork")
    size = -(-total // workers)
    shares = [todo[i : i + size] for i in range(0, total, size)]
    children: list[tuple[BaseProcess, Connection] | None] = []
    for share in shares[1:]:
        receive, send = ctx.Pipe(duplex=False)
        try:
            child = ctx.Process(target=_child_share, args=(engine, share, send), daemon=True)
            child.start()
        except OSError:  # no process to spare: done here
            receive.close()
            send.close()
            children.append(None)
            continue
        send.close()
        children.append((child, receive))
    try:
        out = _enrich_one_share(engine, shares[0], _reporter(progress, total, len(shares)))
    except BaseException:  # no child is left behind, blocked on a pipe nobody reads
        for started in children:
            if started is not None:
                started[0].terminate()
                started[0].join()
                started[1].close()
        raise
    for share, started in zip(shares[1:], children, strict=True):
        answers: list[tuple[Any, ...]] | None = None
        if started is not None:
            process, receive = started
            try:
                # bounded: a child that hangs (forked while another thread held a lock it
                # needs) is stopped and its share done here, so a refresh never waits for ever
                if receive.poll(CHILD_SECONDS + CHILD_SECONDS_PER_KEY * len(share)):
                    answers = receive.recv()
            except (EOFError, OSError):
                answers = None
            finally:
                receive.close()
                if answers is None and process.is_alive():
                    process.kill()
                process.join()
        if answers is None or len(answers) != len(share):
            answers = _enrich_one_share(engine, share)
        out.extend(answers)
        if progress is not None:
            progress(len(out), total)
    return out


def _enrich_groups(
    engine: Enricher, groups: pa.Table, progress: Progress | None, *, workers: int = 1
) -> pa.Table:
    keys = groups.column(_KEY).to_pylist()
    context = [groups.column(f"_sl_{n}").to_pylist() for n in CONTEXT_COLUMNS]
    memo = _answer_cache(engine)
    known: list[AnswerKey] = []
    for key, direction, mcc, channel, trans_category in zip(keys, *context, strict=True):
        category = trans_category if trans_category in ("olb", "pos", "other") else None
        known.append((key, direction, mcc, category, channel))
    # the groups are distinct lines, but two may clean to the same (key, context)
    todo = list(dict.fromkeys(k for k in known if k not in memo))
    for k, values in zip(todo, _enrich_keys(engine, todo, workers, progress), strict=True):
        memo[k] = values
    answers = [memo[k] for k in known]
    if progress is not None and not todo:
        progress(len(known), len(known))
    arrays = {c: groups.column(c) for c in groups.column_names}
    columns = list(zip(*answers, strict=True)) if answers else [() for _ in FIELDS]
    for f, values in zip(FIELDS, columns, strict=True):
        kind = (
            pa.int64() if f in _INT_FIELDS else pa.float64() if f in _FLOAT_FIELDS else pa.string()
        )
        arrays[f] = pa.array(values, kind)
    return pa.table(arrays)


def _dictionary_table(
    con: DuckDBBackend, name: str, table: pa.Table, *, enum: bool = True
) -> ir.Table:
    """``table`` as a DuckDB temp table whose enrichment text columns are ``ENUM`` typed.

    Ibis reads an ``ENUM`` as a string and passes it through untouched; DuckDB's Parquet writer
    writes an ``ENUM`` column as dictionary pages straight from the type (readers see text), which
    makes writing the repeated text fields about as cheap as writing small integers. The writer
    repeats the type's whole dictionary in every row group, so a field with more than
    :data:`ENUM_MAX_VALUES` distinct values stays text (dictionary-encoded by hashing, slower).
    ``enum=False`` keeps every field text (a small batch: building the types costs more than
    they save).
    """
    arrow_name = f"{name}_arrow"
    con.con.register(arrow_name, table)
    select = []
    for field in table.schema:
        col = _q(field.name)
        if enum and field.name in FIELDS and pa.types.is_string(field.type):
            values = sorted({v for v in table.column(field.name).to_pylist() if v is not None})
            if 0 < len(values) <= ENUM_MAX_VALUES:
                kind = "ENUM(" + ", ".join(_lit(v) for v in values) + ")"
                select.append(f"CAST({col} AS {kind}) AS {col}")
                continue
        select.append(col)
    con.raw_sql(
        f"CREATE OR REPLACE TEMP TABLE {_q(name)} AS SELECT {', '.join(select)} FROM {arrow_name}"
    )
    con.con.unregister(arrow_name)
    return _known_table(con, name, ibis.Schema.from_pyarrow(table.schema))


# --- files (the CLI) ---


def _read(con: DuckDBBackend, path: Path) -> ir.Table:
    """The input file with its row number in :data:`_ORDER` (to write the output in order)."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        table = con.read_parquet(path, table_name="_sl_input", file_row_number=True)
        return table.rename({_ORDER: "file_row_number"})
    if suffix in (".csv", ".txt", ".tsv"):
        table = con.read_csv(path, table_name="_sl_csv", header=True, all_varchar=True)
        # a CSV scan has no row number: numbered once, in scan order, into a temp table
        return _materialize(con, "_sl_input", table.mutate(**{_ORDER: ibis.row_number()}))
    raise BadRequest(f"Input {path.name}: use a .csv or .parquet file.")


def enrich_file(
    input_path: Path,
    output_path: Path,
    *,
    enricher: Enricher | None = None,
    progress: Progress | None = None,
    description: str = "description",
) -> BatchStats:
    """Enrich a CSV or Parquet file into a CSV or Parquet file (by extension), in input order."""
    started = time.perf_counter()
    if not input_path.is_file():
        raise NotFound(f"Input file {input_path} does not exist.")
    if input_path.stat().st_size == 0:
        raise BadRequest(f"Input file {input_path.name} is empty (0 bytes).")
    out_suffix = output_path.suffix.lower()
    if out_suffix not in (".csv", ".parquet"):
        raise BadRequest(f"Output {output_path.name}: use a .csv or .parquet file name.")
    if output_path.exists() and output_path.resolve() == input_path.resolve():
        raise BadRequest(
            f"Output {output_path.name}: is the input file; write the enriched rows elsewhere."
        )
    con = backend()
    try:
        try:
            source = _read(con, input_path)
            source.count().execute()
        except (duckdb.Error, IbisError) as exc:
            raise BadRequest(f"Cannot read {input_path.name}: {_first_line(exc)}") from None
        expr, rows, distinct = enrich_table(
            con, source, description=description, enricher=enricher, progress=progress
        )
        ordered = expr.order_by(_ORDER).drop(_ORDER)
        output_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = output_path.with_name(f".{output_path.name}.{uuid.uuid4().hex[:8]}.tmp")
        if out_suffix == ".parquet":
            con.to_parquet(ordered, tmp, compression="zstd")
        else:
            con.to_csv(ordered, tmp, header=True)
        tmp.replace(output_path)
    finally:
        con.disconnect()
    return BatchStats(rows, distinct, time.perf_counter() - started, files=(str(output_path),))


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# --- the lake stage ---


def _partner_dir(lake: Path, feed: str, partner_id: str) -> Path:
    if not _PARTNER.match(partner_id):
        raise BadRequest(f"Field partner_id: {partner_id!r} is not a valid partner id.")
    return lake / feed / f"partner={partner_id}"


def _recover(out_dir: Path) -> None:
    """Finish or undo a swap that a crash interrupted, and drop stale staging folders."""
    if not out_dir.is_dir():
        return
    for old in out_dir.glob(".old-*"):
        target = out_dir / old.name[old.name.index("date=") :]
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.rename(target)
    for staging in out_dir.glob(".staging-*"):
        shutil.rmtree(staging, ignore_errors=True)


LAKE_COLUMNS: tuple[str, ...] | None = ("txn_id", "ucic", "posted_at", "amount", "direction")
"""The transaction columns an enriched lake file keeps, in this order, before the fields: the
key (``txn_id``; the date is the folder) and the columns the KLI rules read. Every other column
(the descriptor text, account, channel, MCC, card token, ingestion columns) stays in
``lake/transactions/`` only, and :func:`enriched_transactions` joins it back. ``None`` writes
every transaction column (the layout before 2026-11-23: ~30% more write CPU, ~70% more bytes)."""

ZSTD_LEVEL = 1
"""ZSTD level of the enriched files (DuckDB's default is 3: level 1 writes ~15% faster)."""
ROW_GROUP_ROWS = 16_384
"""Row-group size of enriched files written ordered by ``ucic`` (``order_by_ucic``): each row
group then carries a narrow ucic min/max and a scan filtered on few ucics skips the others."""


def _write_dates(
    con: duckdb.DuckDBPyConnection,
    mapping: _Mapping,
    union: list[tuple[str, str]],
    folders: list[Path],
    staging: Path,
    run_id: str,
    threads: int | None,
    order_by_ucic: bool,
) -> None:
    """One enriched file per date folder: its files joined to the map (rows ordered by ``ucic``
    with ``order_by_ucic``), dates spread over worker threads (one DuckDB cursor each).

    A single ``COPY … PARTITION_BY (date)`` keeps a buffer per open partition and costs about
    twice a plain copy with 180 dates; a date's rows are already in their own folder, so each
    is written on its own. Each file is read with the union's column types (a column the file
    lacks is NULL), as one scan of every file would give them.
    """
    names = _output_names([n for n, _ in union])
    written = [n for n, _ in union]
    if LAKE_COLUMNS is not None:
        written = [n for n in LAKE_COLUMNS if n in names]
    raw_cols = mapping.raw_cols
    jobs: list[tuple[Path, list[str]]] = []
    for folder in folders:
        parts = sorted(folder.glob("*.parquet"))
        metas = [pq.read_metadata(p) for p in parts]
        if sum(m.num_rows for m in metas) == 0:
            continue  # as a partitioned write, a date without rows gets no output
        present: set[str] = set()
        for m in metas:
            present.update(m.schema.to_arrow_schema().names)
        value = {n: f"CAST({'s.' + _q(n) if n in present else 'NULL'} AS {t})" for n, t in union}
        on = [f"{value[raw_cols[0]]} = m.{_q(_MAP + raw_cols[0])}"]
        on += [f"{value[c]} IS NOT DISTINCT FROM m.{_q(_MAP + c)}" for c in raw_cols[1:]]
        select = [f"{value[n]} AS {_q(names[n])}" for n in written]
        select += [f"m.{_q(_MAP + f)} AS {_q(f)}" for f in FIELDS]
        order, row_groups = "", ""
        if order_by_ucic and "ucic" in value:
            order, row_groups = f" ORDER BY {value['ucic']}", f", ROW_GROUP_SIZE {ROW_GROUP_ROWS}"
        source = "[" + ", ".join(_lit(str(p)) for p in parts) + "]"
        target = staging / folder.name / f"{run_id}-0.parquet"
        sql = (
            f"COPY (SELECT {', '.join(select)} FROM read_parquet({source}, union_by_name = true,"
            f" hive_partitioning = false) s LEFT JOIN {_q(mapping.name)} m ON {' AND '.join(on)}"
            f"{order}) TO {_lit(str(target))} (FORMAT parquet, COMPRESSION zstd,"
            f" COMPRESSION_LEVEL {ZSTD_LEVEL}{row_groups})"
        )
        jobs.append((target, [sql]))
    if not jobs:
        return
    workers = max(1, min(threads or os.cpu_count() or 1, len(jobs)))
    if workers > 1:  # one DuckDB thread per worker: the dates are the parallelism
        con.execute("SET threads = 1")

    def run(todo: list[tuple[Path, list[str]]]) -> None:
        cur = con.cursor()
        try:
            for statement in duck.SESSION:
                cur.execute(statement)
            for target, statements in todo:
                target.parent.mkdir(parents=True, exist_ok=True)
                for sql in statements:
                    cur.execute(sql)
        finally:
            cur.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(run, jobs[i::workers]) for i in range(workers)]:
            future.result()


def enriched_transactions(
    con: DuckDBBackend, lake_dir: Path, partner_id: str, *, dates: Iterable[date] | None = None
) -> ir.Table:
    """A partner's enriched transactions with every transaction column: ``lake/transactions``
    rows joined to their enriched rows on (date, ``txn_id``) — the transaction's columns as
    ingested (one named like a field renamed ``<name>_input``, as in :func:`enrich_file`),
    then :data:`FIELDS`. Transactions not enriched yet are left out (as the enriched files
    leave them out). ``dates``: only those date partitions (default: all)."""
    raw_dir = _partner_dir(lake_dir, "transactions", partner_id)
    out_dir = _partner_dir(lake_dir, "enriched_transactions", partner_id)
    wanted = None if dates is None else {f"date={d.isoformat()}" for d in dates}

    def files(root: Path) -> list[str]:
        folders = sorted(p for p in root.glob("date=*") if p.is_dir())
        return [
            str(f)
            for folder in folders
            if wanted is None or folder.name in wanted
            for f in sorted(folder.glob("*.parquet"))
        ]

    raw_files, enriched_files = files(raw_dir), files(out_dir)
    if not raw_files or not enriched_files:
        raise NotFound(f"No enriched transactions for partner {partner_id}.")
    n = next(_views)
    raw = con.read_parquet(
        raw_files, table_name=f"_sl_raw_tx_{n}", hive_partitioning=True, union_by_name=True
    )
    enriched = con.read_parquet(
        enriched_files, table_name=f"_sl_enriched_{n}", hive_partitioning=True, union_by_name=True
    )
    hive = {"partner", "date"}
    columns = [c for c in raw.columns if c not in hive]
    names = _output_names(columns)
    fields = enriched.select(
        _sl_date=enriched["date"], _sl_txn=enriched["txn_id"], **{f: enriched[f] for f in FIELDS}
    )
    joined = raw.join(
        fields, [raw["date"] == fields["_sl_date"], raw["txn_id"] == fields["_sl_txn"]]
    )
    return joined.select(*(joined[c].name(names[c]) for c in columns), *(joined[f] for f in FIELDS))


_views = itertools.count()


def enrich_lake(
    settings: Settings,
    partner_id: str,
    *,
    dates: Iterable[date | str] | None = None,
    enricher: Enricher | None = None,
    progress: Progress | None = None,
    threads: int | None = None,
    order_by_ucic: bool = True,
) -> BatchStats:
    """Enrich a partner's transactions in the lake (all dates, or only ``dates``).

    ``order_by_ucic`` (the default): write each date's rows ordered by ``ucic`` in row groups of
    :data:`ROW_GROUP_ROWS` rows, each with a narrow ucic min/max. A KLI refresh too big for
    memory is computed in ucic ranges (:func:`sightline.insights.pipeline.compute_assignments`)
    and each range's scan then reads only its own row groups of every file instead of every row
    once per range: at 100M transactions the ordering costs ~30 s of the enrichment and saves
    ~40 s of the compute, and the saving grows with the number of ranges (docs/benchmarks.md,
    "KLI refresh", fifth round). ``False`` promises no order (~15-40% less write CPU).
    """
    started = time.perf_counter()
    lake = settings.lake_dir
    src_dir = _partner_dir(lake, "transactions", partner_id)
    out_dir = _partner_dir(lake, "enriched_transactions", partner_id)
    wanted = sorted({d.isoformat() if isinstance(d, date) else str(d) for d in dates or ()})
    for d in wanted:
        try:
            date.fromisoformat(d)
        except ValueError:
            raise BadRequest(f"Field dates: {d!r} is not a YYYY-MM-DD date.") from None
    if wanted:
        folders = [src_dir / f"date={d}" for d in wanted]
    else:
        folders = sorted(p for p in src_dir.glob("date=*") if p.is_dir())
    files = [str(f) for folder in folders for f in sorted(folder.glob("*.parquet"))]
    _recover(out_dir)
    if not files:
        return BatchStats(0, 0, time.perf_counter() - started)
    run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    staging = out_dir / f".staging-{run_id}"
    con = backend(duck.connect(threads=threads))
    try:
        tx = con.read_parquet(
            files, table_name="_sl_tx", hive_partitioning=True, union_by_name=True
        )
        # the union of the files' columns (hive folder names are not file columns)
        described = con.con.execute('DESCRIBE "_sl_tx"').fetchall()
        union = [(str(r[0]), str(r[1])) for r in described if r[0] not in ("partner", "date")]
        if "partner" in tx.columns:  # the hive folder name; partner_id is the column
            tx = tx.drop("partner")
        mapping = _build_mapping(
            con,
            tx,
            "description",
            enricher or default_enricher(),
            progress,
            temp=False,
            workers=threads,
        )
        staging.mkdir(parents=True, exist_ok=True)
        _write_dates(con.con, mapping, union, folders, staging, run_id, threads, order_by_ucic)
    finally:
        con.disconnect()
    rows, distinct = mapping.rows, mapping.distinct
    written: list[str] = []
    swapped: list[str] = []
    for new in sorted(staging.glob("date=*")):
        target = out_dir / new.name
        old = out_dir / f".old-{run_id}-{new.name}"
        if target.exists():
            target.rename(old)
        new.rename(target)
        shutil.rmtree(old, ignore_errors=True)
        swapped.append(new.name.removeprefix("date="))
        written.extend(str(p) for p in sorted(target.glob("*.parquet")))
    shutil.rmtree(staging, ignore_errors=True)
    return BatchStats(
        rows, distinct, time.perf_counter() - started, dates=tuple(swapped), files=tuple(written)
    )
