"""Lake → KLI assignments for one partner, on any engine.

1. open the lake partitions the rules need (:mod:`inputs`), optionally scoped to some ucics,
   and, when their tables would not fit in memory (:meth:`Engine.parts`), split the customers
   into ucic ranges computed one after the other, steps 2–6 for each;
2. materialise the one-pass transaction base and customer attributes (:mod:`compile`);
3. run every rule as one union, materialised;
4. map the few distinct (rule, key values) to KLI codes in Python (:mod:`codes`) and join back;
5. evaluate the partner's PRIVATE KLIs over those assignments (:mod:`private`);
6. build the evidence JSON and sort by (ucic, kli_code) in the engine when it is DuckDB (else
   in a local DuckDB over the fetched rows), then de-duplicate (ucic, kli_code) in Arrow.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sightline.insights import private as private_expr
from sightline.insights.codes import CodeLookup, key_for
from sightline.insights.compile import (
    ROW_SCHEMA,
    Compiled,
    compile_base,
    compile_rules,
    left_on_ucic,
    rule_only_tables,
    union_tables,
)
from sightline.insights.engines import Engine, relation_name
from sightline.insights.inputs import UcicRange, load_inputs, transaction_files
from sightline.insights.private import BAND_RULES, Attribute, Expand, Expr
from sightline.insights.rules import BandRule, RuleSet

log = logging.getLogger(__name__)

ASSIGNMENT_SCHEMA = pa.schema(
    [
        ("ucic", pa.string()),
        ("kli_code", pa.int64()),
        ("strength", pa.float64()),
        ("evidence", pa.string()),
    ]
)


@dataclass(frozen=True)
class PrivateKli:
    kli_code: int
    expression: Expr


#: spilled parts are compressed: the evidence text shrinks ~8x (1.2M assignments: 152 → 18 MB),
#: and writing and reading them back took less time than uncompressed (Arrow compresses the
#: columns on its thread pool), and far less of the page cache's writeback
SPILL_IPC = pa.ipc.IpcWriteOptions(compression="zstd")


class AssignmentParts:
    """A refresh's assignments as parts (:data:`ASSIGNMENT_SCHEMA`), one per ucic range: each
    part holds whole customers in (ucic, kli_code) order, and the parts follow each other in
    ucic order.

    Kept in memory, or — with ``spill_dir`` — each part is written to an Arrow IPC file there as
    soon as it is computed and read back one at a time (into memory of its own, not mapped), so
    a refresh computed in many ranges holds one range's assignments at a time instead of every
    range's (at 100M transactions: 44M assignments, ~5.5 GB as Arrow, 0.9 GB as files).
    :meth:`close` deletes the files."""

    def __init__(self, spill_dir: Path | None = None) -> None:
        self.spill_dir = spill_dir
        self.num_rows = 0
        self._tables: list[pa.Table] = []
        self._files: list[Path] = []

    @classmethod
    def of(cls, table: pa.Table) -> AssignmentParts:
        parts = cls()
        parts.add(table)
        return parts

    def add(self, table: pa.Table) -> None:
        self.num_rows += table.num_rows
        if self.spill_dir is None:
            self._tables.append(table)
            return
        self.spill_dir.mkdir(parents=True, exist_ok=True)
        path = self.spill_dir / f"assignments-{len(self._files):05d}.arrow"
        with (
            pa.OSFile(str(path), "wb") as sink,
            pa.ipc.new_file(sink, table.schema, options=SPILL_IPC) as out,
        ):
            out.write_table(table)
        self._files.append(path)

    def __iter__(self) -> Iterator[pa.Table]:
        yield from self._tables
        for path in self._files:
            with pa.OSFile(str(path)) as source:
                yield pa.ipc.open_file(source).read_all()

    def table(self) -> pa.Table:
        """Every part as one table (all of them in memory)."""
        tables = list(self)
        if not tables:
            return ASSIGNMENT_SCHEMA.empty_table()
        return tables[0] if len(tables) == 1 else pa.concat_tables(tables)

    def close(self) -> None:
        """Delete the spilled files (the parts can no longer be read)."""
        for path in self._files:
            path.unlink(missing_ok=True)
        self._files = []


@dataclass
class ComputeResult:
    parts: AssignmentParts  # one row per (ucic, kli_code), sorted
    customers: int  # customers computed (in scope)
    unmapped_keys: list[str] = field(default_factory=list)  # keys the taxonomy lacks

    @property
    def assignments(self) -> pa.Table:
        """The assignments as one table (:meth:`AssignmentParts.table`)."""
        return self.parts.table()


def compute_assignments(
    engine: Engine,
    lake_dir: Path,
    partner_id: str,
    *,
    as_of: date,
    rules: RuleSet,
    codes: CodeLookup,
    scope: list[str] | None = None,
    private: list[PrivateKli] | None = None,
    expand: Expand | None = None,
    spill_dir: Path | None = None,
) -> ComputeResult:
    """Assignments of the partner (or of the ``scope`` ucics); ``expand`` maps a code used in
    a private KLI to its subtree (default: the packaged taxonomy); ``spill_dir``: where the
    assignments of a refresh computed in several ranges are kept, range by range, until they are
    published (:class:`AssignmentParts`; default: in memory).

    Every rule reads one customer's rows only, so the customers can be computed range by range
    (:meth:`Engine.parts`: as many ranges as keep each one's tables in memory) with the same
    answer: each range's assignments come out sorted, and the ranges in order."""
    files = transaction_files(
        lake_dir, partner_id, as_of=as_of, lookback_days=rules.lookback_days()
    )
    input_bytes = sum(f.stat().st_size for f in files)
    wanted = sorted(set(scope)) if scope is not None else None
    scope_table = None
    if wanted is not None:
        scope_table = engine.from_arrow(pa.table({"ucic": pa.array(wanted, pa.string())}))
    parts = engine.parts(input_bytes)
    if wanted is not None:
        # the estimate is of every customer's rows: a small scope is one range whatever the size
        parts = min(parts, max(1, math.ceil(len(wanted) / SCOPE_RANGE_CUSTOMERS)))
    ranges: list[UcicRange | None] = [None]
    if parts > 1:
        # an incremental refresh splits its scope into ranges of as many customers
        values = wanted if wanted is not None else _ucic_sample(engine, files)
        bounds = _bounds(values, parts)
        ranges = list(zip([None, *bounds], [*bounds, None], strict=True))
        log.info("computing %d ucic ranges (%d bytes of transactions)", len(ranges), input_bytes)
    engine.plan_storage(input_bytes // len(ranges))
    out = AssignmentParts(spill_dir if len(ranges) > 1 else None)
    customers = 0
    unmapped: set[str] = set()
    for ucic_range in ranges:
        part = _compute_range(
            engine,
            lake_dir,
            partner_id,
            as_of=as_of,
            rules=rules,
            codes=codes,
            scope=scope_table,
            ucic_range=ucic_range,
            private=private,
            expand=expand,
        )
        for table in part.parts:
            out.add(table)
        customers += part.customers
        unmapped.update(part.unmapped_keys)
    return ComputeResult(parts=out, customers=customers, unmapped_keys=sorted(unmapped))


#: rows of the look-back's transactions sampled for the ucic ranges' bounds
BOUND_SAMPLE_ROWS = 200_000
#: an incremental refresh has a range for at most this many of its customers: each range costs
#: a pass over the files and the rules' fixed work (100M transactions, 1,000 customers: 15-16 s
#: in 7 ranges, 9-10 s in one), and this many customers' rows (~5M at 100 transactions each)
#: fit in one range at a few GB of memory limit
SCOPE_RANGE_CUSTOMERS = 50_000


def _bounds(values: list[str], parts: int) -> list[str]:
    """Bounds splitting the sorted ``values`` into ``parts`` ranges of about as many of them
    (fewer ranges when values repeat or are few); none at or below the first value."""
    n = len(values)
    if n == 0:
        return []
    return sorted({values[i * n // parts] for i in range(1, parts)} - {values[0]})


def _ucic_sample(engine: Engine, files: list[Path]) -> list[str]:
    """About :data:`BOUND_SAMPLE_ROWS` ucics of the transactions, sorted (one scan of the ucic
    column): their quantiles split the rows into ranges of about as many."""
    rows = sum(pq.read_metadata(f).num_rows for f in files)
    if rows == 0:
        return []
    t = engine.table_from_files(files, {"ucic": dt.string})
    t = t.filter(t.ucic.notnull())
    if rows > BOUND_SAMPLE_ROWS:
        t = t.sample(BOUND_SAMPLE_ROWS / rows, seed=1)
    return sorted(v for v in engine.to_arrow(t)["ucic"].to_pylist() if v is not None)


def _compute_range(
    engine: Engine,
    lake_dir: Path,
    partner_id: str,
    *,
    as_of: date,
    rules: RuleSet,
    codes: CodeLookup,
    scope: ir.Table | None,
    ucic_range: UcicRange | None,
    private: list[PrivateKli] | None,
    expand: Expand | None,
) -> ComputeResult:
    """The assignments of the customers in ``ucic_range`` (and ``scope``); the tables it
    materialised are released before it returns."""
    inputs = load_inputs(
        engine,
        lake_dir,
        partner_id,
        as_of=as_of,
        lookback_days=rules.lookback_days(),
        scope=scope,
        ucic_range=ucic_range,
    )
    compiled = compile_base(inputs, rules, engine.materialize, engine.view)
    rule_rows = engine.materialize_sql(rule_union_sql(engine, compiled, rules), ROW_SCHEMA)
    for table in rule_only_tables(compiled):
        engine.release(table)

    distinct = engine.to_arrow(rule_rows.select("rule", "key_no", "k1", "k2").distinct())
    mapping, unmapped = _code_map(distinct, rules, codes)
    code_table = engine.from_arrow(mapping)
    keyed = rule_rows.mutate(k1n=rule_rows.k1.fill_null(""), k2n=rule_rows.k2.fill_null("")).join(
        code_table, ["rule", "key_no", "k1n", "k2n"]
    )
    assigned = keyed.select(
        "ucic", "kli_code", "rule", "strength", "window_days", "n", "amount", "txn_lo", "txn_hi"
    )
    result = assigned
    held = [compiled.attributes, rule_rows]
    if private:
        # private KLIs read the assignments again: computed once for both uses
        assigned = result = engine.materialize(assigned)
        held.append(assigned)
        people = _people(compiled, rule_rows, rules)
        parts = [result]
        for p in private:
            cond = private_expr.compile_expr(
                p.expression, people, assigned, expand or taxonomy_subtree
            )
            hit = people.filter(cond)
            parts.append(
                hit.select(
                    ucic=hit.ucic,
                    kli_code=ibis.literal(p.kli_code, type=dt.int64),
                    rule=ibis.literal(f"private_{p.kli_code}"),
                    strength=ibis.null(dt.float64),
                    window_days=ibis.null(dt.int64),
                    n=ibis.null(dt.int64),
                    amount=ibis.null(assigned.amount.type()),
                    txn_lo=ibis.null(dt.string),
                    txn_hi=ibis.null(dt.string),
                )
            )
        result = ibis.union(*parts)
    # the evidence text and the (ucic, kli_code) order in one query (:func:`dedupe`)
    ordered = engine.query_arrow(result.mutate(amount=result.amount.cast(dt.string)), _FINISH_SQL)
    customers = engine.to_arrow(compiled.attributes.aggregate(n=compiled.attributes.count()))
    for table in held:
        engine.release(table)
    return ComputeResult(
        parts=AssignmentParts.of(dedupe(ordered)),
        customers=int(customers["n"][0].as_py() or 0),
        unmapped_keys=sorted(unmapped),
    )


#: the as-of date the rule union is compiled at: long before any data, so each date literal in
#: its SQL (every one is the as-of date minus some days) is recognised and moved to the refresh's
SENTINEL_AS_OF = date(1100, 1, 1)
_MAKE_DATE = re.compile(r"MAKE_DATE\((\d{1,4}), (\d{1,2}), (\d{1,2})\)")
_TOKEN = re.compile("\x00([TD]):([^\x00]*)\x00")
_ENGINE_NAME = re.compile(r"sl_[a-z]+_[0-9a-f]{12}")
SQL_CACHE_MAX = 32
_sql_cache: dict[tuple[object, ...], str] = {}


def rule_union_sql(engine: Engine, c: Compiled, rules: RuleSet) -> str:
    """The SQL of every rule's rows (:func:`compile_rules`) for this refresh.

    Building the union's Ibis expression and compiling it (~45 rules, ~60 kB of SQL) costs about
    a second a refresh, a quarter of an incremental compute at 10M transactions. That SQL depends
    only on the rule set, the relations it reads (:func:`union_tables`: their names and schemas)
    and the as-of date, so it is compiled at :data:`SENTINEL_AS_OF` into a template — relation
    names and dates as placeholders — kept per process (the server's scheduler, a benchmark),
    and every refresh, the first included, fills in its own names and dates. A template that
    still names another per-run relation (Spark inlines its Parquet views) is used once, not
    kept."""
    tables = union_tables(c)
    key = (
        engine.name,
        rules.model_dump_json(),
        tuple((role, _namespace(t), tuple(t.schema().items())) for role, t in tables.items()),
    )
    names = {role: relation_name(t) for role, t in tables.items()}
    template = _sql_cache.get(key)
    if template is None:
        sql = engine.compile(compile_rules(replace(c, as_of=SENTINEL_AS_OF), rules))
        if "\x00" in sql:  # a rule value with a NUL character: no placeholders possible
            return engine.compile(compile_rules(c, rules))
        template = _template(sql, {n: role for role, n in names.items() if n is not None})
        if not _ENGINE_NAME.search(template):
            if len(_sql_cache) >= SQL_CACHE_MAX:
                _sql_cache.clear()
            _sql_cache[key] = template
    return _fill(template, names, c.as_of)


def _namespace(table: ir.Table) -> str:
    """Where a relation lives (catalog and schema: part of the compiled SQL), '' for an
    expression."""
    op = table.op()
    return str(getattr(op, "namespace", ""))


def _template(sql: str, roles: dict[str, str]) -> str:
    for name, role in roles.items():
        sql = sql.replace(name, f"\x00T:{role}\x00")

    def date_token(m: re.Match[str]) -> str:
        d = date(int(m[1]), int(m[2]), int(m[3]))
        days = (SENTINEL_AS_OF - d).days
        # only dates the sentinel produced (as-of minus a window: within a few decades)
        return f"\x00D:{days}\x00" if 0 <= days <= 36_600 else m[0]

    return _MAKE_DATE.sub(date_token, sql)


def _fill(template: str, names: dict[str, str | None], as_of: date) -> str:
    def value(m: re.Match[str]) -> str:
        if m[1] == "T":
            return str(names[m[2]])
        d = as_of - timedelta(days=int(m[2]))
        return f"MAKE_DATE({d.year}, {d.month}, {d.day})"

    return _TOKEN.sub(value, template)


def taxonomy_subtree(code: int) -> tuple[int, ...]:
    """``code`` and every KLI below it in the packaged taxonomy."""
    from sightline.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    if code not in taxonomy:
        return (code,)
    return (code, *taxonomy.descendants(code))


def _code_map(distinct: pa.Table, rules: RuleSet, codes: CodeLookup) -> tuple[pa.Table, set[str]]:
    by_id = {r.id: r for r in rules.enabled}
    out: dict[str, list[object]] = {"rule": [], "key_no": [], "k1n": [], "k2n": [], "kli_code": []}
    unmapped: set[str] = set()
    for row in distinct.to_pylist():
        rule = by_id[row["rule"]]
        key = key_for(rule, row["key_no"], row["k1"], row["k2"])
        code = codes(key)
        if code is None:
            unmapped.add(key)
            continue
        out["rule"].append(row["rule"])
        out["key_no"].append(row["key_no"])
        out["k1n"].append(row["k1"] or "")
        out["k2n"].append(row["k2"] or "")
        out["kli_code"].append(code)
    if unmapped:
        log.info("%d rule keys have no KLI in the taxonomy (e.g. %s)", len(unmapped), min(unmapped))
    schema = pa.schema(
        [
            ("rule", pa.string()),
            ("key_no", pa.int64()),
            ("k1n", pa.string()),
            ("k2n", pa.string()),
            ("kli_code", pa.int64()),
        ]
    )
    return pa.table(out, schema=schema), unmapped


def _people(c: Compiled, rule_rows: ir.Table, rules: RuleSet) -> ir.Table:
    """One row per ucic with every :class:`Attribute` column, for private KLIs."""
    a = c.attributes
    people = a.select(
        "ucic",
        balance=a.balance.cast(dt.float64),
        annual_income=a.annual_income.cast(dt.float64),
        age=a.age.cast(dt.float64),
        open_products=a.open_products.cast(dt.float64),
        ucic_type=a.ucic_type,
    )
    band_rules = {r.attribute.value: r.id for r in rules.enabled if isinstance(r, BandRule)}
    for attr, band in BAND_RULES.items():
        column = attr.value
        rule_id = band_rules.get(band)
        if rule_id is None:
            people = people.mutate(**{column: ibis.null(dt.float64)})
            continue
        b = rule_rows.filter(rule_rows.rule == ibis.literal(rule_id))
        b = b.select(ucic=b.ucic, **{column: b.k1.cast(dt.float64)})
        people = left_on_ucic(people, b)
    return people.select("ucic", *[a.value for a in Attribute])


#: a value made only of printable ASCII other than quote and backslash is its own JSON text
_PLAIN_JSON = "'[ !#-\\[\\]-~]*'"


def _json_str_sql(col: str) -> str:
    """SQL: ``col`` as a JSON string literal (backslash and quote escaped, control characters
    dropped); NULL stays NULL. Plain values (ids: nearly all) skip the escaping: one full-match
    test instead of two replaces and a regexp replace on every value."""
    escaped = f"replace(replace({col}, '\\', '\\\\'), '\"', '\\\"')"
    cleaned = f"regexp_replace({escaped}, '[\\x00-\\x1f\\x7f]', '', 'g')"
    plain = f"regexp_full_match({col}, {_PLAIN_JSON})"
    return f"'\"' || CASE WHEN {plain} THEN {col} ELSE {cleaned} END || '\"'"


def _num_sql(col: str) -> str:
    return f"coalesce(CAST({col} AS VARCHAR), 'null')"


#: evidence JSON in one ``concat`` (one string built per row, not one per ``||``); no part is
#: NULL. Rule ids need no escaping: they match ``RULE_ID`` (private ones are ``private_<code>``).
_EVIDENCE_SQL = f"""concat('{{"rule":"', rule, '","window_days":', {_num_sql("window_days")},
       ',"count":', {_num_sql("n")}, ',"amount":', coalesce(amount, 'null'), ',"txn_ids":[',
       CASE WHEN txn_lo IS NULL THEN coalesce({_json_str_sql("txn_hi")}, '')
            WHEN txn_hi IS NULL OR txn_lo = txn_hi THEN {_json_str_sql("txn_lo")}
            ELSE {_json_str_sql("txn_lo")} || ',' || {_json_str_sql("txn_hi")}
       END, ']}}')"""

_FINISH_SQL = f"""
SELECT ucic, CAST(kli_code AS BIGINT) AS kli_code, CAST(strength AS DOUBLE) AS strength,
       {_EVIDENCE_SQL} AS evidence
FROM rows ORDER BY ucic, kli_code, rule
"""


def dedupe(t: pa.Table) -> pa.Table:
    """One row per (ucic, kli_code) — the first by rule id when two rules give the same KLI —
    in (ucic, kli_code) order, with strength rounded to 4 places and the evidence as JSON text.

    ``t`` is :data:`_FINISH_SQL`'s result: the evidence text built and the rows sorted by
    (ucic, kli_code, rule) in DuckDB on every core (the sort carries one evidence string instead
    of six columns), so repeated (ucic, kli_code) pairs are dropped by comparing neighbours."""
    if t.num_rows == 0:
        return ASSIGNMENT_SCHEMA.empty_table()
    ucic, code = t["ucic"], t["kli_code"]
    if t.num_rows > 1:
        same = pc.and_(
            pc.equal(ucic.slice(1), ucic.slice(0, t.num_rows - 1)),
            pc.equal(code.slice(1), code.slice(0, t.num_rows - 1)),
        )
        if pc.any(same).as_py():
            keep = pa.concat_arrays([pa.array([True]), pc.invert(same.combine_chunks())])
            t = t.filter(keep)
    return pa.table(
        {
            "ucic": t["ucic"],
            "kli_code": t["kli_code"],
            "strength": pc.round(t["strength"], 4),
            "evidence": t["evidence"],
        },
        schema=ASSIGNMENT_SCHEMA,
    )
