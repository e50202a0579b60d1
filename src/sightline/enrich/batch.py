"""Batch enrichment in DuckDB: files and the lake stage.

Descriptors repeat heavily, so a batch never enriches rows one by one:

1. DuckDB computes each row's descriptor *key* with the same regexes as
   :func:`sightline.enrich.normalise.descriptor_key` (dates, store, reference and phone numbers
   removed) — ten million rows collapse to a few thousand distinct keys;
2. each distinct (key, direction, MCC, channel, trans_category) is enriched once in Python;
3. DuckDB joins the enrichment back and writes Parquet (or CSV).

:func:`enrich_lake` is the pipeline stage: ``lake/transactions/partner=<id>/date=<d>/`` →
``lake/enriched_transactions/partner=<id>/date=<d>/<run_id>-<n>.parquet``. Re-running a date
replaces its output safely: the new files are written complete into a staging folder first,
then each date folder is swapped in with two renames, and the old files are deleted only after
the new ones are in place (a crash in between is repaired by the next run; see
``docs/merchant-cleansing.md``).
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from sightline import duck
from sightline.config import Settings
from sightline.enrich.engine import FIELDS, Enricher, default_enricher
from sightline.enrich.normalise import key_sql
from sightline.errors import BadRequest, NotFound

Progress = Callable[[int, int], None]
"""Called with (done, total) distinct descriptors while enriching."""

CONTEXT_COLUMNS = ("direction", "mcc", "channel", "trans_category")
_INT_FIELDS = frozenset({"merchant_kli_code"})
_FLOAT_FIELDS = frozenset({"match_score"})
_PARTNER = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


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


def _context_sql(columns: Sequence[str]) -> dict[str, str]:
    """SQL for each context value, NULL when the input has no such column or a bad value."""
    present = {c.lower(): c for c in columns}
    out: dict[str, str] = {}
    for name in CONTEXT_COLUMNS:
        col = present.get(name)
        if col is None:
            out[name] = "CAST(NULL AS VARCHAR)"
            continue
        value = f"lower(trim(CAST({_q(col)} AS VARCHAR)))"
        if name == "direction":
            out[name] = f"CASE WHEN {value} IN ('debit', 'credit') THEN {value} END"
        elif name == "mcc":
            digits = f"trim(CAST({_q(col)} AS VARCHAR))"
            out[name] = (
                f"CASE WHEN regexp_full_match({digits}, '[0-9]{{1,4}}') "
                f"THEN lpad({digits}, 4, '0') END"
            )
        else:
            out[name] = f"nullif({value}, '')"
    return out


def enrich_relation(
    con: duckdb.DuckDBPyConnection,
    source: str,
    *,
    description: str = "description",
    enricher: Enricher | None = None,
    progress: Progress | None = None,
) -> tuple[str, int, int]:
    """Enrich every row of the SQL relation ``source`` (a table name or ``(SELECT …)``).

    Creates the temp view ``enriched`` (the source's columns plus :data:`FIELDS`) and returns
    ``("enriched", rows, distinct_descriptors)``. ``source`` is read twice: once for its distinct
    raw descriptors (the regexes run on those only), once when the view is consumed.
    """
    engine = enricher or default_enricher()
    columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
    if description not in columns:
        raise BadRequest(
            f"Column {description} is required (found: {', '.join(columns) or 'no columns'})."
        )
    ctx = _context_sql(columns)
    present = {c.lower(): c for c in columns}
    raw_cols = [description, *(present[n] for n in CONTEXT_COLUMNS if n in present)]
    # 1. distinct raw lines (with what else the Enricher looks at): no regex yet
    raw_list = ", ".join(_q(c) for c in raw_cols)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _raw AS SELECT {raw_list}, hash({raw_list}) AS _sl_h, "
        + ", ".join(f"{sql} AS _sl_{name}" for name, sql in ctx.items())
        + f", CAST({_q(description)} AS VARCHAR) AS _sl_description, count(*) AS _sl_rows"
        + f" FROM {source} GROUP BY ALL"
    )
    # 2. their keys: dates, store, reference and phone numbers removed in SQL
    key = key_sql("_sl_description")
    parts = ", ".join(
        [f"coalesce({key}, '')", *(f"coalesce(_sl_{name}, '')" for name in CONTEXT_COLUMNS)]
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _grouped AS SELECT {raw_list}, _sl_h, _sl_rows, "
        f"concat_ws(chr(31), {parts}) AS _sl_group FROM _raw"
    )
    groups = con.execute("SELECT DISTINCT _sl_group FROM _grouped").fetchall()
    rows_row = con.execute("SELECT sum(_sl_rows) FROM _grouped").fetchone()
    rows = int(rows_row[0] or 0) if rows_row else 0
    # 3. each distinct key enriched once, in Python
    con.register("_enrichment", _enrich_groups(engine, [g[0] for g in groups], progress))
    fields = ", ".join(f"e.{_q(f)}" for f in FIELDS)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _map AS SELECT g._sl_h, g.{_q(description)}, {fields} "
        "FROM _grouped g JOIN _enrichment e USING (_sl_group)"
    )
    # 4. joined back to every row
    clashes = [c for c in columns if c in FIELDS]
    renames = ", ".join(f"s.{_q(c)} AS {_q(c + '_input')}" for c in clashes)
    keep = "s.*" + (" EXCLUDE (" + ", ".join(_q(c) for c in clashes) + ")" if clashes else "")
    outputs = ", ".join(f"m.{_q(f)}" for f in FIELDS)
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW enriched AS SELECT {keep}"
        + (f", {renames}" if renames else "")
        # joined on a 64-bit hash of the raw columns (an integer join is far cheaper than
        # comparing strings with NULL semantics), the descriptor compared too
        + f", {outputs} FROM {source} s LEFT JOIN _map m ON "
        + f"hash({', '.join('s.' + _q(c) for c in raw_cols)}) = m._sl_h "
        + f"AND s.{_q(description)} = m.{_q(description)}"
    )
    return "enriched", rows, len(groups)


def _enrich_groups(engine: Enricher, groups: Sequence[str], progress: Progress | None) -> pa.Table:
    out: dict[str, list[Any]] = {f: [] for f in FIELDS}
    total = len(groups)
    step = max(1, total // 100)
    for i, group in enumerate(groups):
        key, direction, mcc, channel, trans_category = group.rsplit("\x1f", 4)
        r = engine.enrich_key(
            key,
            direction or None,
            mcc or None,
            trans_category if trans_category in ("olb", "pos", "other") else None,
            channel or None,
        )
        for f in FIELDS:
            out[f].append(getattr(r, f))
        if progress is not None and (i % step == 0 or i == total - 1):
            progress(i + 1, total)
    arrays: dict[str, pa.Array] = {"_sl_group": pa.array(groups, pa.string())}
    for f in FIELDS:
        kind = (
            pa.int64() if f in _INT_FIELDS else pa.float64() if f in _FLOAT_FIELDS else pa.string()
        )
        arrays[f] = pa.array(out[f], kind)
    return pa.table(arrays)


# --- files (the CLI) ---


def _reader(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return f"read_parquet({_lit(str(path))})"
    if suffix in (".csv", ".txt", ".tsv"):
        return f"read_csv({_lit(str(path))}, header = true, all_varchar = true)"
    raise BadRequest(f"Input {path.name}: use a .csv or .parquet file.")


def enrich_file(
    input_path: Path,
    output_path: Path,
    *,
    enricher: Enricher | None = None,
    progress: Progress | None = None,
    description: str = "description",
) -> BatchStats:
    """Enrich a CSV or Parquet file into a CSV or Parquet file (by extension)."""
    started = time.perf_counter()
    if not input_path.is_file():
        raise NotFound(f"Input file {input_path} does not exist.")
    out_suffix = output_path.suffix.lower()
    if out_suffix not in (".csv", ".parquet"):
        raise BadRequest(f"Output {output_path.name}: use a .csv or .parquet file name.")
    con = duck.connect()
    try:
        try:
            # every row keeps its number so the output has the input's order
            if input_path.suffix.lower() == ".parquet":
                con.execute(
                    "CREATE TEMP VIEW _input AS SELECT * RENAME (file_row_number AS _sl_n) "
                    f"FROM read_parquet({_lit(str(input_path))}, file_row_number = true)"
                )
            else:
                con.execute(
                    "CREATE TEMP TABLE _input AS SELECT *, row_number() OVER () AS _sl_n "
                    f"FROM {_reader(input_path)}"
                )
            con.execute("SELECT count(*) FROM _input").fetchone()
        except duckdb.Error as exc:
            raise BadRequest(f"Cannot read {input_path.name}: {_first_line(exc)}") from None
        view, rows, distinct = enrich_relation(
            con, "_input", description=description, enricher=enricher, progress=progress
        )
        output_path.parent.mkdir(parents=True, exist_ok=True)
        fmt = (
            "FORMAT parquet, COMPRESSION zstd" if out_suffix == ".parquet" else "FORMAT csv, HEADER"
        )
        tmp = output_path.with_name(f".{output_path.name}.{uuid.uuid4().hex[:8]}.tmp")
        ordered = f"SELECT * EXCLUDE (_sl_n) FROM {view} ORDER BY _sl_n"
        con.execute(f"COPY ({ordered}) TO {_lit(str(tmp))} ({fmt})")
        tmp.replace(output_path)
    finally:
        con.close()
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


def enrich_lake(
    settings: Settings,
    partner_id: str,
    *,
    dates: Iterable[date | str] | None = None,
    enricher: Enricher | None = None,
    progress: Progress | None = None,
    threads: int | None = None,
) -> BatchStats:
    """Enrich a partner's transactions in the lake (all dates, or only ``dates``)."""
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
    con = duck.connect()
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        file_list = "[" + ", ".join(_lit(f) for f in files) + "]"
        con.execute(
            "CREATE TEMP VIEW _tx AS SELECT * EXCLUDE (partner) FROM read_parquet("
            f"{file_list}, hive_partitioning = true, union_by_name = true)"
        )
        view, rows, distinct = enrich_relation(con, "_tx", enricher=enricher, progress=progress)
        staging.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"COPY (SELECT * FROM {view}) TO {_lit(str(staging))} (FORMAT parquet, "
            f"COMPRESSION zstd, PARTITION_BY (date), FILENAME_PATTERN {_lit(run_id + '-{i}')})"
        )
    finally:
        con.close()
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
