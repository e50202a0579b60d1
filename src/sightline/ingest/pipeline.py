"""The bulk path: validate, resolve, mask, dedupe and stage one source, vectorised in DuckDB.

Passes over the source (no Python per row on the hot path):

1. **profile** — row count, and the *distinct* PII values (and free-form JSON values). Python
   computes their HMAC tokens (or scrubs the JSON) once per distinct value; the result is joined
   back as a small table.
2. **write** — one streaming ``COPY``: clean (trim, empty → null), resolve member id → ucic,
   validate (one SQL expression per row yields its problems), drop the bad rows, cast to the
   lake types, mask, anti-join the keys already in the lake, and write Parquet partitioned by
   date into the run's staging directory.
3. **dedupe** — keys repeated inside the file are found on the staged Parquet (cheap) and, only
   when there are some, the staged files are rewritten with one row per key.
4. **quarantine** — only when rows are missing after 1–3: the bad rows with their line numbers
   (a streaming ``row_number()`` over the source, which keeps file order).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from sightline import lake
from sightline.ingest import masking
from sightline.ingest.readers import Source
from sightline.ingest.schemas import FeedSchema, Kind, Masking
from sightline.ingest.validate import errors_sql, first_field, lit, ok_terms_sql, q

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
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def _pii_specs(schema: FeedSchema) -> list[tuple[str, str]]:
    """(field, prefix) of every field whose distinct values Python maps: t=token, d=digits
    token, j=scrubbed JSON."""
    out = []
    for spec in schema.fields:
        if spec.masking == Masking.TOKENISE:
            out.append((spec.name, "t"))
        elif spec.masking == Masking.LAST4:
            out.append((spec.name, "d"))
        elif spec.kind == Kind.JSON:
            out.append((spec.name, "j"))
    return out


def _norm_sql(c: str, prefix: str) -> str:
    """The normalised value of SQL expression ``c`` whose token (or scrubbed JSON) the maps
    hold; computed once per row in ``clean`` as column ``_pn_<field>``."""
    if prefix == "t":
        return f"lower(trim({c}))"
    if prefix == "d":
        return _compact_sql(c)
    return c


def _pn(name: str) -> str:
    """The ``clean`` column holding field ``name``'s normalised PII value."""
    return q("_pn_" + name)


def _map_table(prefix: str) -> str:
    """Tokens (card numbers and tokenised fields alike: HMAC of the normalised value) live in
    ``pii_tok``, scrubbed JSON in ``pii_json``; both are keyed by the normalised value."""
    return "pii_json" if prefix == "j" else "pii_tok"


def _compact_sql(c: str) -> str:
    """Account / card numbers without spaces and dashes (``masking.compact``); plain
    ``replace`` is several times cheaper than a regular expression over millions of rows."""
    return f"nullif(replace(replace({c}, ' ', ''), '-', ''), '')"


def _map_table_arrow(values: list[str], mapped: list[str]) -> pa.Table:
    return pa.table({"v": pa.array(values, pa.string()), "m": pa.array(mapped, pa.string())})


def _scrub(key: bytes, value: str) -> str:
    try:
        obj = json.loads(value)
    except ValueError:
        return value
    scrubbed = masking.scrub_json(key, obj)
    return json.dumps(scrubbed, separators=(",", ":"), sort_keys=True)


def _maps(key: bytes, values: list[str]) -> tuple[pa.Table, pa.Table]:
    """``pii_tok`` and ``pii_json`` from the distinct prefixed values (``t:``/``j:``)."""
    tok = [v[2:] for v in values if v[0] == "t"]
    js = [v[2:] for v in values if v[0] == "j"]
    return (
        _map_table_arrow(tok, masking.tokens(key, tok)),
        _map_table_arrow(js, [_scrub(key, v) for v in js]),
    )


def _cast_sql(spec_kind: Kind, expr: str) -> str:
    if spec_kind == Kind.INT:
        return f"CAST({expr} AS BIGINT)"
    if spec_kind == Kind.MONEY:
        return f"CAST({expr} AS DECIMAL(18,2))"
    if spec_kind == Kind.DATE:
        return f"CAST({expr} AS DATE)"
    if spec_kind == Kind.TIMESTAMP:
        return f"CAST({expr} AS TIMESTAMPTZ)"
    return f"CAST({expr} AS VARCHAR)"


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
        known: pa.Table | None,
        quarantine_cap: int = 100_000,
    ) -> None:
        self.con = con
        self.src = source
        self.schema = schema
        self.partner_id = partner_id
        self.run_id = run_id
        self.key = pii_key
        self.lake_dir = lake_dir
        self.known = known
        self.cap = quarantine_cap
        self.pii = _pii_specs(schema)
        self.ingested_at = datetime.now(UTC)

    # -- relations -------------------------------------------------------------------------
    def _register(self) -> None:
        if self.src.arrow is not None:
            self.con.register("arrow_src", self.src.arrow)
        present = set(self.src.columns)
        cols = []
        for name in self.schema.names:
            if name in present and self.src.fmt == "csv":
                cols.append(q(name))  # DuckDB's CSV reader already reads empty fields as NULL
            elif name in present:
                cols.append(f"nullif({q(name)}, '') AS {q(name)}")
            else:
                cols.append(f"CAST(NULL AS VARCHAR) AS {q(name)}")
        if self.src.has_line:
            cols += ["_line", "_parse_error"]
        else:
            cols += ["CAST(NULL AS VARCHAR) AS _parse_error"]
        # the normalised PII values are computed once per row here; the profile, the token
        # joins and the last four digits all reuse them
        norms = "".join(
            f", {_norm_sql(q(name), prefix)} AS {_pn(name)}" for name, prefix in self.pii
        )
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW clean AS SELECT *{norms} FROM "
            f"(SELECT {', '.join(cols)} FROM {self.src.relation_sql})"
        )
        known = self.known
        if known is None or known.num_rows == 0:
            known = pa.table(
                {"ucic": pa.array([], pa.string()), "member_id": pa.array([], pa.string())}
            )
        self.con.register("known_ids", known)
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE member_map AS SELECT member_id AS mm_member_id, "
            "min(ucic) AS mm_ucic "
            "FROM known_ids WHERE member_id IS NOT NULL GROUP BY member_id"
        )
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE known_ucics AS "
            "SELECT DISTINCT ucic AS ku_ucic FROM known_ids"
        )

    def _resolved_sql(self, *, needs_map: bool, messages: bool = False) -> str:
        """``clean`` plus ``_ucic`` (ucic, or the member id's ucic), ``_ok`` and, with
        ``messages``, ``_errors`` (the problems as text)."""
        name = self.schema.name
        has_ucic = "ucic" in self.schema.names
        joins: list[str] = []
        ok = ["c._parse_error IS NULL", *ok_terms_sql(self.schema)]
        extra: list[str] = []
        ucic_expr = "c.ucic" if has_ucic else "NULL"
        if has_ucic and name in MAPPED and needs_map:
            joins.append("LEFT JOIN member_map mm ON mm.mm_member_id = c.member_id")
            ucic_expr = "coalesce(c.ucic, mm.mm_ucic)"
        if name in REFERENCE_CHECKED:
            # a semi-join: the small known-ucic set is the build side, the file streams past it
            known = "c.ucic IN (SELECT ku_ucic FROM known_ucics)"
            ok.append(f"(c.ucic IS NULL OR {known})")
            extra.append(
                f"CASE WHEN c.ucic IS NOT NULL AND NOT ({known}) THEN "
                "'ucic: \"' || left(c.ucic, 40) || '\" is not a known customer "
                "(send it in the customers feed first)' END"
            )
            if needs_map:
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
        return f"SELECT c.*, {', '.join(cols)} FROM (SELECT * FROM clean) c {' '.join(joins)}"

    def _masked_projection(self) -> tuple[list[str], list[str]]:
        """(select expressions over ``r`` and the token joins) giving the lake columns."""
        selects: list[str] = []
        joins: list[str] = []
        for i, spec in enumerate(self.schema.fields):
            c = f"r.{q(spec.name)}"
            if spec.name == "ucic":
                selects.append("r._ucic AS ucic")
                continue
            if spec.masking == Masking.DROP:
                continue
            if spec.masking == Masking.BIRTH_YEAR:
                selects.append(f"CAST(year(TRY_CAST({c} AS DATE)) AS BIGINT) AS birth_year")
                continue
            if spec.masking in (Masking.TOKENISE, Masking.LAST4) or spec.kind == Kind.JSON:
                prefix = "d" if spec.masking == Masking.LAST4 else "t"
                if spec.kind == Kind.JSON and spec.masking == Masking.NONE:
                    prefix = "j"
                alias = f"pt{i}"
                norm = f"r.{_pn(spec.name)}"
                joins.append(f"LEFT JOIN {_map_table(prefix)} {alias} ON {alias}.v = {norm}")
                if prefix == "j":
                    selects.append(f"{alias}.m AS {q(spec.name)}")
                elif prefix == "d":
                    selects.append(f"right({norm}, 4) AS {q(spec.name + '_last4')}")
                    selects.append(f"{alias}.m AS {q(spec.name + '_token')}")
                else:
                    selects.append(f"{alias}.m AS {q(spec.name + '_token')}")
                continue
            selects.append(f"{_cast_sql(spec.kind, c)} AS {q(spec.name)}")
        return selects, joins

    def _date_sql(self, alias: str = "r") -> str:
        spec = self.schema.field(self.schema.date_field)
        c = f"{alias}.{q(spec.name)}"
        if spec.kind == Kind.TIMESTAMP:
            return f"CAST(CAST({c} AS TIMESTAMPTZ) AS DATE)"
        return f"CAST({c} AS DATE)"

    # -- passes ----------------------------------------------------------------------------
    def profile(self) -> tuple[int, bool]:
        """Row count, whether any row needs the member map; fills ``pii_tok`` and ``pii_json``."""
        needs = (
            "(member_id IS NOT NULL AND ucic IS NULL)"
            if "member_id" in self.schema.names
            else "false"
        )
        if not self.pii:
            n, m = self.con.execute(
                f"SELECT count(*), count(*) FILTER (WHERE {needs}) FROM clean"
            ).fetchone() or (0, 0)
            self.con.register("pii_tok", _map_table_arrow([], []))
            self.con.register("pii_json", _map_table_arrow([], []))
            return int(n), bool(m)
        k = len(self.pii)
        # tokens do not depend on the field (HMAC of the normalised value): one map for all
        values = ", ".join(
            f"({lit('j:' if prefix == 'j' else 't:')} || {_pn(name)})" for name, prefix in self.pii
        )
        v_expr = f"unnest([{values}])" if k > 1 else values
        rows = self.con.execute(
            f"SELECT v, grouping(v) AS g, count(*) AS n, count(*) FILTER (WHERE needs) AS m "
            f"FROM (SELECT {v_expr} AS v, {needs} AS needs FROM clean) "
            "GROUP BY GROUPING SETS ((v), ())"
        ).to_arrow_table()
        g = rows.column("g").to_pylist()
        vs = rows.column("v").to_pylist()
        total = next(i for i, flag in enumerate(g) if flag == 1)
        n = int(rows.column("n")[total].as_py()) // k
        m = int(rows.column("m")[total].as_py()) // k
        distinct = [v for i, v in enumerate(vs) if g[i] == 0 and v is not None]
        tok, js = _maps(self.key, distinct)
        self.con.register("pii_tok", tok)
        self.con.register("pii_json", js)
        return n, m > 0

    def _lake_keys_sql(self) -> str | None:
        files = lake.parquet_files(self.lake_dir, self.schema.name, self.partner_id)
        if not files:
            return None
        keys = ", ".join(q(k) for k in self.schema.key)
        file_list = "[" + ", ".join(lit(str(f)) for f in files) + "]"
        scan = f"read_parquet({file_list}, union_by_name=true, hive_partitioning=false)"
        return f"(SELECT DISTINCT {keys} FROM {scan})"

    def write(self, stage: Path, *, needs_map: bool) -> int:
        selects, joins = self._masked_projection()
        meta = [
            f"{lit(self.partner_id)} AS partner_id",
            f"{lit(self.run_id)} AS ingest_run_id",
            f"CAST({lit(self.ingested_at.isoformat())} AS TIMESTAMPTZ) AS ingested_at",
        ]
        date_is_field = self.schema.date_field == "date"
        date_col = [] if date_is_field else [f"{self._date_sql()} AS date"]
        out = (
            f"SELECT {', '.join([*selects, *meta, *date_col])} "
            f"FROM ({self._resolved_sql(needs_map=needs_map)}) r {' '.join(joins)} "
            "WHERE r._ok"
        )
        lake_keys = self._lake_keys_sql()
        if lake_keys is not None:
            keys = ", ".join(q(k) for k in self.schema.key)
            out = f"SELECT * FROM ({out}) o ANTI JOIN {lake_keys} lk USING ({keys})"
        stage.mkdir(parents=True, exist_ok=True)
        self.con.execute("SET preserve_insertion_order = false")
        row = self.con.execute(
            f"COPY ({out}) TO {lit(str(stage))} (FORMAT parquet, PARTITION_BY (date), "
            f"FILENAME_PATTERN {lit(self.run_id + '-{i}')}, OVERWRITE_OR_IGNORE, "
            f"WRITE_PARTITION_COLUMNS {'true' if date_is_field else 'false'})"
        ).fetchone()
        return int(row[0]) if row else 0

    def dedupe_staged(self, stage: Path) -> int:
        files = lake.staged_files(stage)
        if not files:
            return 0
        keys = ", ".join(q(k) for k in self.schema.key)
        file_list = "[" + ", ".join(lit(str(f)) for f in files) + "]"
        scan = f"read_parquet({file_list}, hive_partitioning=false)"
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

    def count_bad(self, *, needs_map: bool) -> int:
        """Bad rows, counted in parallel (no line numbers: cheap)."""
        row = self.con.execute(
            f"SELECT count(*) FROM ({self._resolved_sql(needs_map=needs_map)}) r WHERE NOT r._ok"
        ).fetchone()
        return int(row[0]) if row else 0

    def quarantine(self, *, needs_map: bool) -> tuple[int, list[QuarantineRow]]:
        self.con.execute("SET preserve_insertion_order = true")
        if self.src.has_line:
            base = "SELECT * FROM clean"
        else:
            base = (
                f"SELECT row_number() OVER () + {self.src.line_offset - 1} AS _line, * FROM clean"
            )
        resolved = self._resolved_sql(needs_map=needs_map, messages=True).replace(
            "FROM (SELECT * FROM clean) c", f"FROM ({base}) c"
        )
        record_parts = []
        joins = []
        for i, spec in enumerate(self.schema.fields):
            c = f"r.{q(spec.name)}"
            if spec.masking == Masking.NONE and spec.kind != Kind.JSON:
                record_parts.append(f"{lit(spec.name)}, {c}")
            elif spec.masking == Masking.DROP:
                continue
            elif spec.masking == Masking.BIRTH_YEAR:
                record_parts.append(f"'birth_year', CAST(year(TRY_CAST({c} AS DATE)) AS BIGINT)")
            else:
                prefix = (
                    "d"
                    if spec.masking == Masking.LAST4
                    else ("j" if spec.kind == Kind.JSON else "t")
                )
                alias = f"pq{i}"
                norm = f"r.{_pn(spec.name)}"
                joins.append(f"LEFT JOIN {_map_table(prefix)} {alias} ON {alias}.v = {norm}")
                if prefix == "d":
                    record_parts.append(f"{lit(spec.name + '_last4')}, right({norm}, 4)")
                    record_parts.append(f"{lit(spec.name + '_token')}, {alias}.m")
                elif prefix == "j":
                    record_parts.append(f"{lit(spec.name)}, {alias}.m")
                else:
                    record_parts.append(f"{lit(spec.name + '_token')}, {alias}.m")
        record = f"CAST(json_object({', '.join(record_parts)}) AS VARCHAR)"
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE bad AS SELECT r._line AS line, r._errors AS errors, "
            f"{record} AS record FROM ({resolved}) r {' '.join(joins)} WHERE NOT r._ok"
        )
        count_row = self.con.execute("SELECT count(*) FROM bad").fetchone()
        count = int(count_row[0]) if count_row else 0
        rows = self.con.execute(
            f"SELECT line, errors, record FROM bad ORDER BY line LIMIT {int(self.cap)}"
        ).fetchall()
        out = [
            QuarantineRow(
                line=int(line),
                field=first_field(errors) or "row",
                reason=errors,
                record=json.loads(record) if record else {},
            )
            for line, errors, record in rows
        ]
        return count, out

    def valid_rows(self, columns: list[str], *, needs_map: bool) -> pa.Table:
        """Valid rows (duplicates included) for the serving-DB side effects of a feed."""
        self.con.execute("SET preserve_insertion_order = false")
        exprs = []
        for name in columns:
            if name == "ucic":
                exprs.append("r._ucic AS ucic")
            else:
                spec = self.schema.field(name)
                exprs.append(f"{_cast_sql(spec.kind, 'r.' + q(name))} AS {q(name)}")
        return self.con.execute(
            f"SELECT DISTINCT {', '.join(exprs)} "
            f"FROM ({self._resolved_sql(needs_map=needs_map)}) r "
            "WHERE r._ok"
        ).to_arrow_table()

    def run(self, stage: Path, *, side_effect_columns: list[str] | None = None) -> PipelineResult:
        self._register()
        result = PipelineResult()
        result.read, needs_map = self.profile()
        if result.read == 0:
            return result
        written = self.write(stage, needs_map=needs_map)
        in_file_dupes = self.dedupe_staged(stage)
        result.stored = written - in_file_dupes
        if written != result.read and self.count_bad(needs_map=needs_map):
            result.quarantined, result.quarantine = self.quarantine(needs_map=needs_map)
            result.quarantine_truncated = result.quarantined > len(result.quarantine)
        result.duplicate = result.read - result.stored - result.quarantined
        if side_effect_columns:
            result.valid = self.valid_rows(side_effect_columns, needs_map=needs_map)
        result.dates = sorted(p.parent.name.removeprefix("date=") for p in lake.staged_files(stage))
        return result
