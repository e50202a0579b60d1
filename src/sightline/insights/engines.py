"""Compute engines behind one small interface: DuckDB (default, embedded) or Spark.

The KLI rules are Ibis expressions (:mod:`sightline.insights.compile`); an engine only reads the
lake into Ibis tables, materialises intermediate results and hands results back as Arrow. The
Spark engine is imported only when chosen (``SIGHTLINE_ENGINE=spark``), so pyspark stays an
optional extra.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import uuid
import weakref
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pyarrow as pa

from sightline import duck
from sightline.errors import SightlineError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from sightline.config import Settings


class EngineError(SightlineError):
    """The compute engine could not run."""

    code = "engine_error"


Schema = Mapping[str, dt.DataType]


class Engine(ABC):
    """What the rule compiler needs from a backend."""

    name: str
    con: Any

    def table_from_files(self, files: Sequence[Path], schema: Schema) -> ir.Table:
        """The given Parquet files as one table with exactly ``schema``'s columns: columns a file
        lacks are NULL (feeds evolve), extra columns are ignored."""
        if not files:
            return self.empty(schema)
        raw = self._read_parquet([str(f) for f in files])
        present = set(raw.columns)
        cols = {}
        for name, dtype in schema.items():
            if name in present:
                col = raw[name]
                same = col.type() == dtype or (col.type().is_timestamp() and dtype.is_timestamp())
                cols[name] = col if same else col.cast(dtype)
            else:
                cols[name] = ibis.null(dtype)
        return raw.select(**cols)

    def empty(self, schema: Schema) -> ir.Table:
        arrow = pa.schema([(n, t.to_pyarrow()) for n, t in schema.items()]).empty_table()
        return self.from_arrow(arrow)

    @abstractmethod
    def from_arrow(self, table: pa.Table) -> ir.Table:
        """An Arrow table as an engine table (small tables: scopes, code maps)."""

    @abstractmethod
    def _read_parquet(self, paths: list[str]) -> ir.Table: ...

    @abstractmethod
    def materialize(self, expr: ir.Table) -> ir.Table:
        """Compute ``expr`` once and keep the result in the engine for the next expressions."""

    def plan_storage(self, input_bytes: int) -> None:  # noqa: B027 - optional hook
        """Told how many bytes of Parquet the refresh reads before it materialises anything:
        an engine may keep its tables elsewhere when they would not fit in memory."""

    def parts(self, input_bytes: int) -> int:
        """In how many ucic ranges, one after the other, a refresh reading ``input_bytes`` of
        enriched Parquet is computed (each range's customers with all their rows), so that each
        range's tables fit in memory. 1 (all at once) by default: a cluster spreads the work."""
        return 1

    def view(self, expr: ir.Table) -> ir.Table:
        """``expr`` as a named relation evaluated where it is read (nothing stored): SQL compiled
        over it refers to it by name instead of repeating its definition. By default ``expr``
        itself (the definition is inlined)."""
        return expr

    def compile(self, expr: ir.Table) -> str:
        """``expr`` as SQL text in the engine's dialect (for :meth:`materialize_sql`)."""
        return str(self.con.compile(expr))

    @abstractmethod
    def materialize_sql(self, sql: str, schema: Schema) -> ir.Table:
        """:meth:`materialize` for SQL text from :meth:`compile` (possibly cached) of an
        expression with ``schema`` (the table gets those types, as :meth:`materialize`'s)."""

    def release(self, table: ir.Table) -> None:  # noqa: B027 - optional hook
        """Free a table :meth:`materialize` returned once nothing reads it any more (memory for
        the steps after it; the table must not be used afterwards)."""

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        return expr.to_pyarrow()

    def query_arrow(self, expr: ir.Table, sql: str) -> pa.Table:
        """``sql`` — DuckDB SQL reading ``expr``'s rows as the relation ``rows`` — as Arrow.

        By default ``expr`` is fetched and ``sql`` runs in a local DuckDB over it (any engine);
        :class:`DuckDBEngine` runs it in place, so the rows never cross into Arrow and back."""
        fetched = self.to_arrow(expr)
        con = duck.connect()
        try:
            con.register("rows", fetched)
            return con.execute(sql).to_arrow_table()
        finally:
            con.close()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the engine holds (temp tables, connections)."""


def _name(prefix: str) -> str:
    return f"sl_{prefix}_{uuid.uuid4().hex[:12]}"


def relation_name(table: ir.Table) -> str | None:
    """The bare name of an engine relation (a table or view), ``None`` for an expression.
    (``Table.get_name()`` is qualified — ``temp.main.<name>`` for DuckDB's temp tables — and
    is no identifier to quote.)"""
    op = table.op()
    return str(op.name) if isinstance(op, ops.DatabaseTable) else None


class DuckDBEngine(Engine):
    """Embedded DuckDB: a bounded memory limit, a fixed thread count and spill to a temp dir."""

    name = "duckdb"

    def __init__(
        self,
        *,
        threads: int | None = None,
        memory_limit: str = "16GB",
        temp_dir: Path | None = None,
        storage_dir: Path | None = None,
        parts: int | None = None,
    ) -> None:
        """``storage_dir``: keep the materialised tables in a database file there from the
        start (see :meth:`plan_storage`, which chooses it by size when ``temp_dir`` is set).
        ``parts``: compute a refresh in that many ucic ranges whatever its size (default: as
        many as keep each range's tables within :data:`PART_SHARE` of the memory limit)."""
        config: dict[str, Any] = {
            "threads": threads or os.cpu_count() or 2,
            "memory_limit": memory_limit,
            "preserve_insertion_order": False,
        }
        if temp_dir is not None:
            temp_dir.mkdir(parents=True, exist_ok=True)
            config["temp_directory"] = str(temp_dir)
        self.temp_dir = temp_dir
        self.memory_limit_bytes = _bytes(memory_limit)
        if parts is not None and parts < 1:
            raise EngineError(f"parts must be at least 1, not {parts}")
        self.fixed_parts = parts
        self.database: Path | None = None
        self._schema = "temp.main"
        self.con = ibis.duckdb.connect(**config)
        for statement in duck.SESSION:
            self.con.raw_sql(statement)
        if storage_dir is not None:
            self.store_in_file(storage_dir)

    def store_in_file(self, directory: Path) -> None:
        """Materialise from now on into a database file under ``directory`` (deleted by
        :meth:`close`). DuckDB compresses stored tables (dictionary, FSST, bit-packing): the
        look-back's tables take ~8x less than in memory (10M transactions: 272 MB against
        2,083 MB), so at 100M transactions they stay within the memory limit instead of
        spilling to the temp dir, and each rule reads them from the buffer pool."""
        if self.database is not None:
            return
        self.database = directory / _name("engine") / "store.duckdb"
        self.database.parent.mkdir(parents=True, exist_ok=True)
        # deleted by close(), or when the engine is dropped unclosed (a caller's engine passed
        # to run_refresh is not closed by it), at the latest at interpreter exit
        weakref.finalize(self, shutil.rmtree, self.database.parent, True)
        # one catalog name in every engine: the compiled SQL (and its cached template) names it
        self.con.con.execute(f"ATTACH '{self.database}' AS {STORE_CATALOG}")
        self._schema = f"{STORE_CATALOG}.main"

    def parts(self, input_bytes: int) -> int:
        if self.fixed_parts is not None:
            return self.fixed_parts
        estimate = input_bytes * MEMORY_PER_PARQUET_BYTE
        return max(1, math.ceil(estimate / (self.memory_limit_bytes * PART_SHARE)))

    def plan_storage(self, input_bytes: int) -> None:
        if self.temp_dir is not None and input_bytes * MEMORY_PER_PARQUET_BYTE > (
            self.memory_limit_bytes * STORE_ABOVE_SHARE
        ):
            self.store_in_file(self.temp_dir)

    def _read_parquet(self, paths: list[str]) -> ir.Table:
        return self.con.read_parquet(
            paths, table_name=_name("pq"), union_by_name=True, hive_partitioning=False
        )

    def from_arrow(self, table: pa.Table) -> ir.Table:
        name = _name("mem")
        self.con.con.register(name, table)
        return self.con.table(name)

    def _create(self, expr: ir.Table | None, schema: Schema | None = None) -> ir.Table:
        name = _name("tmp")
        if self.database is None:
            return self.con.create_table(name, expr, schema=schema, temp=True)
        return self.con.create_table(name, expr, schema=schema, database=(STORE_CATALOG, "main"))

    def materialize(self, expr: ir.Table) -> ir.Table:
        return self._create(expr)

    def materialize_sql(self, sql: str, schema: Schema) -> ir.Table:
        # as Ibis's create_table: a table of the expression's types, then the rows inserted
        table = self._create(None, ibis.schema(schema))
        self.con.con.execute(f'INSERT INTO {self._schema}."{relation_name(table)}" {sql}')
        return table

    def view(self, expr: ir.Table) -> ir.Table:
        name = _name("view")
        self.con.con.execute(f'CREATE TEMP VIEW "{name}" AS {self.con.compile(expr)}')
        return self.con.table(name, database="temp")

    def release(self, table: ir.Table) -> None:
        name = relation_name(table)
        if name is not None:
            self.con.con.execute(f'DROP TABLE IF EXISTS {self._schema}."{name}"')

    def query_arrow(self, expr: ir.Table, sql: str) -> pa.Table:
        inner = self.con.compile(expr)
        return self.con.con.execute(f"WITH rows AS ({inner}) {sql}").to_arrow_table()

    def close(self) -> None:
        self.con.disconnect()
        if self.database is not None:
            shutil.rmtree(self.database.parent, ignore_errors=True)


#: the catalog of :meth:`DuckDBEngine.store_in_file`'s database
STORE_CATALOG = "sl_store"
#: DuckDB's in-memory tables of a refresh per byte of the enriched Parquet they come from
#: (10M transactions: 2,083 MB of tables from 232 MB of files; docs/benchmarks.md, KLI
#: refresh, fourth round)
MEMORY_PER_PARQUET_BYTE = 9
#: the tables go to a database file when their estimate passes this multiple of the memory
#: limit: stored tables are scanned ~1.3-1.5x slower, and a moderate spill costs less (10M
#: transactions: 38 s in memory at 8 GB, 42 s at 1.5 GB, 55-57 s stored at either)
STORE_ABOVE_SHARE = 2.0
#: a refresh is computed in ucic ranges whose tables' estimate is at most this share of the
#: memory limit (the rest: the rule union's aggregates and the evidence sort). At 8 GB, 10M
#: transactions (~2 GB of tables) are one range; 100M (2.8 GB of files, ~25 GB) seven, each
#: computed in memory instead of from a database file (docs/benchmarks.md, KLI refresh, fifth
#: round)
PART_SHARE = 0.5
_UNITS = {"": 1, "B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4,
          "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3, "TIB": 1024**4}  # fmt: skip


def _bytes(size: str) -> int:
    """A DuckDB size setting ("8GB", "1500MB", "16 GiB") in bytes."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", size)
    unit = m[2].upper() if m else ""
    if m is None or unit not in _UNITS:
        raise EngineError(f"memory_limit must be a size such as 8GB, not {size!r}")
    return int(float(m[1]) * _UNITS[unit])


class SparkEngine(Engine):
    """PySpark through Ibis's ``pyspark`` backend; local mode or a cluster's session."""

    name = "spark"

    def __init__(self, session: SparkSession | None = None) -> None:
        try:
            from pyspark.sql import SparkSession
        except ImportError:  # pragma: no cover - depends on the install
            raise EngineError(
                "SIGHTLINE_ENGINE=spark needs the spark extra: pip install 'sightline[spark]'"
            ) from None
        self.session = session or spark_session()
        if not isinstance(self.session, SparkSession):
            raise EngineError("SparkEngine needs a pyspark SparkSession")
        self.con = ibis.pyspark.connect(self.session)
        self._cached: dict[str, Any] = {}

    def _read_parquet(self, paths: list[str]) -> ir.Table:
        df = self.session.read.option("mergeSchema", "true").parquet(*paths)
        name = _name("pq")
        df.createOrReplaceTempView(name)
        return self.con.table(name)

    def from_arrow(self, table: pa.Table) -> ir.Table:
        name = _name("mem")
        schema = table.schema
        if table.num_rows == 0:
            from pyspark.sql.pandas.types import from_arrow_schema

            df = self.session.createDataFrame([], from_arrow_schema(schema))
        else:
            df = self.session.createDataFrame(table.to_pandas(types_mapper=None))
            df = df.select(
                *[df[c].cast(_spark_type(schema.field(c).type)) for c in table.column_names]
            )
        df.createOrReplaceTempView(name)
        return self.con.table(name)

    def materialize(self, expr: ir.Table) -> ir.Table:
        return self.materialize_sql(self.con.compile(expr), expr.schema())

    def materialize_sql(self, sql: str, schema: Schema) -> ir.Table:
        df = self.con._session.sql(sql).persist()
        df.count()
        name = _name("tmp")
        self._cached[name] = df
        df.createOrReplaceTempView(name)
        return self.con.table(name)

    def release(self, table: ir.Table) -> None:
        df = self._cached.pop(relation_name(table) or "", None)
        if df is not None:
            df.unpersist()

    def close(self) -> None:
        for df in self._cached.values():
            df.unpersist()
        self._cached.clear()


def _spark_type(arrow_type: pa.DataType) -> Any:
    from pyspark.sql.pandas.types import from_arrow_type

    return from_arrow_type(arrow_type)


_SPARK: dict[str, SparkSession] = {}


def spark_session(master: str = "local[2]", shuffle_partitions: int = 4) -> SparkSession:
    """The Spark session to compute on, reused within the process.

    Under ``spark-submit`` (or any process that already has a session or a ``spark.master``
    setting) that session/cluster is used as configured; otherwise a local session with
    ``master`` (one machine: tests, small FIs)."""
    if "default" in _SPARK:
        return _SPARK["default"]
    # py4j logs "Closing down clientserver connection" from __del__ at interpreter exit, after
    # the log streams are closed; its INFO lines are not ours to show anyway.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        _SPARK["default"] = active
        return active
    builder = SparkSession.builder
    if not SparkConf().contains("spark.master"):
        builder = (
            builder.master(master)
            .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
            .config("spark.ui.enabled", "false")
            .config("spark.driver.memory", "2g")
        )
    session = (
        builder.appName("sightline")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.sql.adaptive.coalescePartitions.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    _SPARK["default"] = session
    return session


def create_engine(
    settings: Settings, *, spark: SparkSession | None = None, **duckdb_options: Any
) -> Engine:
    """The engine the settings choose; DuckDB spills to ``<data_dir>/tmp/duckdb``."""
    if settings.engine == "spark":
        return SparkEngine(spark)
    duckdb_options.setdefault("temp_dir", settings.data_dir / "tmp" / "duckdb")
    return DuckDBEngine(**duckdb_options)
