"""File readers: CSV, gzipped CSV, Parquet and NDJSON, each opened as a DuckDB relation of text.

Every reader checks the file before the bulk work starts and turns what is wrong with it as a
whole (empty, binary, not UTF-8, truncated gzip, wrong delimiter, missing or unknown columns) into
one :class:`FileProblem` naming the problem. The bulk work then sees a relation whose columns are
the feed's fields present in the file, all as text.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.csv as pacsv

from sightline.ingest.schemas import FeedSchema, Kind
from sightline.ingest.validate import lit, q

SNIFF_BYTES = 64 * 1024
DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}


class FileProblem(Exception):
    """The file as a whole cannot be ingested; the message says why (no traceback)."""


@dataclass
class Source:
    """An input opened for the pipeline."""

    path: Path
    fmt: str  # csv | parquet | ndjson | arrow
    columns: list[str]  # the feed's fields present, in file order
    relation_sql: str  # a FROM-able SQL fragment yielding those columns as VARCHAR
    has_line: bool = False  # True when the relation carries ``_line`` and ``_parse_error``
    line_offset: int = 2  # line of the first data row when ``_line`` is computed (CSV header)
    arrow: pa.Table | None = None  # for fmt in (ndjson, arrow): registered as ``arrow_src``
    notes: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)  # CSV: the header's names, in file order
    gzipped: bool = False


def _head(path: Path) -> tuple[bytes, bool]:
    """The first bytes of the (decompressed) content and whether the file is gzip."""
    with path.open("rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as gz:
                return gz.read(SNIFF_BYTES), True
        except (OSError, EOFError, zlib.error):
            raise FileProblem(
                "The file is gzip-compressed but truncated or corrupt; send it again."
            ) from None
    with path.open("rb") as fh:
        return fh.read(SNIFF_BYTES), False


def detect_format(path: Path) -> str:
    """``csv``, ``parquet`` or ``ndjson``, from the content first and the name second."""
    if not path.is_file():
        raise FileProblem(f"{path.name}: no such file.")
    if path.stat().st_size == 0:
        raise FileProblem("The file is empty (0 bytes).")
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic == b"PAR1":
        return "parquet"
    head, _ = _head(path)
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".ndjson", ".jsonl", ".json")):
        return "ndjson"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{"):
        return "ndjson"
    return "csv"


def _check_text(head: bytes, gzipped: bool) -> str:
    if not head.strip():
        raise FileProblem("The file is empty: no header line.")
    if b"\x00" in head:
        raise FileProblem(
            "The file is binary, not CSV text"
            + (" (inside the gzip)." if gzipped else ".")
            + " Send CSV (optionally gzipped), Parquet or NDJSON."
        )
    # A multi-byte character may be cut at the end of the sniffed block: ignore the last 3 bytes.
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:
            raise FileProblem(
                f"The file is not UTF-8 text (invalid byte 0x{head[exc.start]:02x} at byte "
                f"{exc.start}); export it as UTF-8."
            ) from None
        text = head[: exc.start].decode("utf-8")
    return text.removeprefix("\ufeff")


def _check_columns(schema: FeedSchema, header: list[str], delimiter_hint: str | None) -> list[str]:
    cols = [h.strip() for h in header]
    if len(cols) == 1 and delimiter_hint:
        raise FileProblem(
            f"Wrong delimiter: the header looks {DELIMITERS[delimiter_hint]}-separated; "
            "Sightline reads comma-separated files."
        )
    dupes = sorted({c for c in cols if cols.count(c) > 1})
    if dupes:
        raise FileProblem("Duplicate column(s): " + ", ".join(dupes) + ".")
    unknown = [c for c in cols if c not in schema.names]
    missing = [n for n in schema.required if n not in cols]
    problems = []
    if missing:
        problems.append("missing required column(s): " + ", ".join(missing))
    if unknown:
        shown = ", ".join(repr(u[:40]) for u in unknown[:8])
        problems.append(f"unknown column(s): {shown}")
    if problems:
        raise FileProblem(
            f"Not a {schema.name} file: "
            + "; ".join(problems)
            + f". Expected columns: {', '.join(schema.names)}."
        )
    for group in schema.one_of:
        if not any(n in cols for n in group):
            raise FileProblem(
                f"Not a {schema.name} file: it needs one of the columns {' or '.join(group)}."
            )
    return cols


def open_csv(path: Path, schema: FeedSchema) -> Source:
    head, gzipped = _head(path)
    text = _check_text(head, gzipped)
    first = text.splitlines()[0] if text.splitlines() else ""
    hint = next((d for d in DELIMITERS if first.count(d) > 0 and "," not in first), None)
    try:
        header = next(csv.reader(io.StringIO(first)))
    except (csv.Error, StopIteration):
        raise FileProblem("The header line cannot be read as CSV.") from None
    cols = _check_columns(schema, header, hint)
    columns = "{" + ", ".join(f"{lit(c)}: 'VARCHAR'" for c in header) + "}"
    rel = (
        f"read_csv({lit(str(path))}, header=true, auto_detect=false, delim=',', quote='\"', "
        f"escape='\"', columns={columns}, compression={lit('gzip' if gzipped else 'none')}, "
        "strict_mode=true, null_padding=false, max_line_size=1048576)"
    )
    if [h.strip() for h in header] != header:
        rel = f"(SELECT {', '.join(f'{q(h)} AS {q(h.strip())}' for h in header)} FROM {rel})"
    return Source(
        path=path,
        fmt="csv",
        columns=cols,
        relation_sql=rel,
        line_offset=2,
        header=[h.strip() for h in header],
        gzipped=gzipped,
    )


def open_parquet(con: duckdb.DuckDBPyConnection, path: Path, schema: FeedSchema) -> Source:
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({lit(str(path))})").fetchall()
    except duckdb.Error as exc:
        raise FileProblem(f"Not a readable Parquet file: {_first_line(exc)}") from None
    names = [row[0] for row in described]
    types = {row[0]: str(row[1]).upper() for row in described}
    cols = _check_columns(schema, names, None)
    selects = []
    for c in cols:
        spec = schema.field(c)
        t = types[c]
        if spec.kind == Kind.MONEY and t in ("DOUBLE", "FLOAT", "REAL"):
            # A float amount with more than 2 places is refused by validation, not rounded.
            expr = f"CAST(CAST({q(c)} AS DECIMAL(38,10)) AS VARCHAR)"
            expr = f"regexp_replace(regexp_replace({expr}, '(\\.[0-9]*?)0+$', '\\1'), '\\.$', '')"
        elif spec.kind == Kind.TIMESTAMP and "TIME ZONE" in t:
            expr = f"strftime({q(c)} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ')"
        elif spec.kind == Kind.TIMESTAMP and t.startswith("TIMESTAMP"):
            expr = f"strftime({q(c)}, '%Y-%m-%dT%H:%M:%S.%f')"
        elif t.startswith(("STRUCT", "MAP")) or t == "JSON":
            expr = f"CAST(to_json({q(c)}) AS VARCHAR)"
        else:
            expr = f"CAST({q(c)} AS VARCHAR)"
        selects.append(f"{expr} AS {q(c)}")
    rel = f"(SELECT {', '.join(selects)} FROM read_parquet({lit(str(path))}))"
    return Source(path=path, fmt="parquet", columns=cols, relation_sql=rel, line_offset=1)


#: the directories of an absolute path (what follows is the file's name)
_DIRS = re.compile(r"(?<![\w.~])/(?:[^\s/\"']+/)+")


def _first_line(exc: BaseException) -> str:
    """The first line of an engine's error, without the server's directories (an upload's
    temporary path is nobody's business but the server's)."""
    text = str(exc).strip().splitlines()
    return _DIRS.sub("", text[0])[:300] if text else exc.__class__.__name__


def open_ndjson(path: Path, schema: FeedSchema) -> Source:
    """NDJSON is read line by line in Python: a bad line becomes a quarantined row, not a failure.
    (Event files are small next to transaction files.)"""
    head, gzipped = _head(path)
    _check_text(head, gzipped)
    opener: Any = gzip.open if gzipped else Path.open
    columns: dict[str, list[str | None]] = {name: [] for name in schema.names}
    lines: list[int] = []
    parse_errors: list[str | None] = []
    seen: set[str] = set()
    try:
        with opener(path, "rb") as fh:
            for lineno, raw in enumerate(fh, start=1):
                if not raw.strip():
                    continue
                error = None
                try:
                    obj = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    obj, error = {}, "line: is not valid JSON"
                if not isinstance(obj, dict):
                    obj, error = {}, "line: is not a JSON object"
                unknown = [k for k in obj if k not in columns]
                if unknown and error is None:
                    error = "line: unknown field(s): " + ", ".join(sorted(unknown)[:10])
                for name, values in columns.items():
                    value = obj.get(name)
                    if value is not None:
                        seen.add(name)
                    values.append(_text(value))
                lines.append(lineno)
                parse_errors.append(error)
    except (OSError, EOFError, zlib.error):
        raise FileProblem(
            "The file is gzip-compressed but truncated or corrupt; send it again."
        ) from None
    except UnicodeDecodeError:
        raise FileProblem("The file is not UTF-8 text; export it as UTF-8.") from None
    if not lines:
        raise FileProblem("The file is empty: no JSON lines.")
    missing = [n for n in schema.required if n not in seen]
    if missing and len(missing) == len(schema.required):
        raise FileProblem(
            f"Not a {schema.name} file: no line has the required field(s) {', '.join(missing)}."
        )
    arrays = {name: pa.array(values, pa.string()) for name, values in columns.items()}
    arrays["_line"] = pa.array(lines, pa.int64())
    arrays["_parse_error"] = pa.array(parse_errors, pa.string())
    table = pa.table(arrays)
    return Source(
        path=path,
        fmt="ndjson",
        columns=list(schema.names),
        relation_sql="arrow_src",
        has_line=True,
        arrow=table,
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return str(value)


def from_records(records: list[dict[str, Any]], schema: FeedSchema, *, name: str) -> Source:
    """Records already in memory (flushed webhook events) as a source."""
    columns: dict[str, list[str | None]] = {
        n: [_text(r.get(n)) for r in records] for n in schema.names
    }
    arrays: dict[str, pa.Array] = {n: pa.array(v, pa.string()) for n, v in columns.items()}
    arrays["_line"] = pa.array(range(1, len(records) + 1), pa.int64())
    arrays["_parse_error"] = pa.array([None] * len(records), pa.string())
    return Source(
        path=Path(name),
        fmt="arrow",
        columns=list(schema.names),
        relation_sql="arrow_src",
        has_line=True,
        arrow=pa.table(arrays),
    )


CSV_BLOCK_BYTES = 16 << 20
DUCKDB_BATCH_ROWS = 1 << 20


def _csv_batches(src: Source) -> Iterator[pa.RecordBatch]:
    """Arrow's multi-threaded CSV reader with the options of the DuckDB reader in
    :func:`open_csv` (comma, double-quote quoting, quoted newlines, every column text, empty
    fields null). It refuses what it cannot read; the caller then reads with DuckDB, which
    names the problem and its line."""
    # a plain file is memory-mapped: Arrow parses the page cache in place, no copy
    stream = (
        pa.input_stream(str(src.path), compression="gzip")
        if src.gzipped
        else pa.memory_map(str(src.path))
    )
    reader = pacsv.open_csv(
        stream,
        read_options=pacsv.ReadOptions(
            column_names=src.header, skip_rows=1, block_size=CSV_BLOCK_BYTES
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=",",
            quote_char='"',
            double_quote=True,
            escape_char=False,
            newlines_in_values=True,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in src.header},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )
    try:
        yield from reader
    finally:
        reader.close()
        stream.close()


def arrow_batches(
    con: duckdb.DuckDBPyConnection, src: Source, *, fast: bool = True
) -> Iterator[pa.RecordBatch | pa.Table]:
    """The source as a stream of Arrow batches of text columns (plus ``_line`` and
    ``_parse_error`` when the source has them)."""
    if src.arrow is not None:
        yield src.arrow
        return
    if src.fmt == "csv" and fast:
        yield from _csv_batches(src)
        return
    # the batches are read on the pipeline's reader thread while the pipeline runs its own
    # queries: on one connection a new query ends the reader's pending result (rows lost), so
    # the reader gets a cursor of its own (same database, same settings)
    cursor = con.cursor()
    try:
        reader = cursor.execute(f"SELECT * FROM {src.relation_sql}").to_arrow_reader(
            DUCKDB_BATCH_ROWS
        )
        yield from reader
    finally:
        cursor.close()


def open_source(con: duckdb.DuckDBPyConnection, path: Path, schema: FeedSchema) -> Source:
    fmt = detect_format(path)
    if fmt == "parquet":
        return open_parquet(con, path, schema)
    if fmt == "ndjson":
        return open_ndjson(path, schema)
    return open_csv(path, schema)


def friendly_duckdb_error(exc: BaseException) -> str:
    """One clear line for what DuckDB says about a broken file."""
    text = str(exc)
    low = text.lower()
    line = ""
    for marker in ("line: ", "line "):
        idx = low.find(marker)
        if idx >= 0:
            digits = "".join(
                ch for ch in text[idx + len(marker) : idx + len(marker) + 12] if ch.isdigit()
            )
            if digits:
                line = f" (near line {digits})"
                break
    if "unicode" in low or "utf-8" in low or "utf8" in low:
        return f"The file is not UTF-8 text{line}; export it as UTF-8."
    if "gzip" in low or "zlib" in low or "inflate" in low or "compressed" in low:
        return "The file is gzip-compressed but truncated or corrupt; send it again."
    if (
        ("expected" in low and "columns" in low)
        or "too many columns" in low
        or "fewer columns" in low
    ):
        return (
            f"A row has a different number of fields than the header{line}; "
            "check quoting and delimiters."
        )
    if "unterminated quote" in low or "quote" in low:
        return f"Unbalanced quotes{line}; check the CSV quoting."
    if "maximum line size" in low:
        return f"A line is longer than 1 MiB{line}; is this really a CSV file?"
    return "The file cannot be read: " + _first_line(exc)
