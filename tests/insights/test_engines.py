"""The engine interface: settings choose it, lake files of evolving schemas read as one table."""

from __future__ import annotations

import gc
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sightline.config import Settings
from sightline.insights.engines import (
    DuckDBEngine,
    Engine,
    EngineError,
    create_engine,
    relation_name,
)
from sightline.insights.inputs import snapshot_dates
from tests.insights import smallfi


def test_settings_choose_duckdb_with_spill_dir(tmp_path: Path) -> None:
    engine = create_engine(Settings(env="test", data_dir=tmp_path))
    try:
        assert isinstance(engine, DuckDBEngine)
        assert (tmp_path / "tmp" / "duckdb").is_dir()
    finally:
        engine.close()


def test_files_with_different_columns_read_as_one_schema(tmp_path: Path) -> None:
    old = tmp_path / "a.parquet"
    new = tmp_path / "b.parquet"
    pq.write_table(pa.table({"ucic": ["u1"], "n": pa.array([1], pa.int32())}), old)
    pq.write_table(pa.table({"ucic": ["u2"], "n": [2], "extra": ["x"], "m": ["new"]}), new)
    engine = DuckDBEngine(threads=1, memory_limit="256MB")
    try:
        t = engine.table_from_files([old, new], {"ucic": dt.string, "n": dt.int64, "m": dt.string})
        rows = sorted(engine.to_arrow(t).to_pylist(), key=lambda r: r["ucic"])
        assert rows == [{"ucic": "u1", "n": 1, "m": None}, {"ucic": "u2", "n": 2, "m": "new"}]
        empty = engine.table_from_files([], {"ucic": dt.string})
        assert engine.to_arrow(empty).num_rows == 0
    finally:
        engine.close()


def test_snapshot_dates(tmp_path: Path) -> None:
    smallfi.build(tmp_path)
    assert snapshot_dates(tmp_path, "acme", smallfi.AS_OF) == (smallfi.d(0), smallfi.d(100))
    assert snapshot_dates(tmp_path, "acme", smallfi.d(50)) == (smallfi.d(100), None)
    assert snapshot_dates(tmp_path, "nobody", smallfi.AS_OF) == (None, None)


@pytest.mark.parametrize("stored", [False, True], ids=["memory", "database-file"])
def test_query_arrow_in_place_and_release(tmp_path: Path, stored: bool) -> None:
    """DuckDB runs the SQL over ``rows`` inside the engine; the generic path (fetch, then a
    local DuckDB) gives the same table; a released table is gone from the engine. With a
    ``storage_dir`` the tables live in a database file there, deleted on close."""
    storage = tmp_path / "store" if stored else None
    engine = DuckDBEngine(threads=1, memory_limit="256MB", storage_dir=storage)
    try:
        t = engine.materialize(
            engine.from_arrow(pa.table({"u": ["b", "a", "c"], "n": pa.array([2, 1, 3])}))
        )
        sql = "SELECT u, n * 10 AS m FROM rows WHERE n > 1 ORDER BY u DESC"
        out = engine.query_arrow(t, sql)
        assert out.to_pylist() == [{"u": "c", "m": 30}, {"u": "b", "m": 20}]
        assert Engine.query_arrow(engine, t, sql).equals(out)
        # SQL text materialised with the expression's types (DuckDB's SUM gives an INT128)
        s = engine.materialize_sql(engine.compile(t.aggregate(n=t.n.sum())), {"n": dt.int64})
        assert s.schema() == ibis.schema({"n": dt.int64})
        assert s.to_pyarrow()["n"].to_pylist() == [6]
        name = relation_name(t)  # get_name() is qualified: temp.main.<name>
        count = "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?"
        assert engine.con.con.execute(count, [name]).fetchone() == (1,)
        database = "temp" if storage is None else "sl_store"
        assert engine.con.con.execute(
            "SELECT database_name FROM duckdb_tables() WHERE table_name = ?", [name]
        ).fetchone() == (database,)
        engine.release(t)
        assert engine.con.con.execute(count, [name]).fetchone() == (0,)
    finally:
        engine.close()
    if storage is not None:
        assert list(storage.iterdir()) == []  # the database file is gone


def test_tables_go_to_a_database_file_when_they_would_not_fit(tmp_path: Path) -> None:
    """``plan_storage``: above twice the memory limit (at ~9 bytes of tables per byte of
    Parquet) the tables are stored in a file under the temp dir; a bad limit is named."""
    from sightline.insights.engines import EngineError, _bytes

    assert _bytes("8GB") == 8 * 1000**3 and _bytes("1.5 GiB") == 3 * 1024**3 // 2
    small = DuckDBEngine(threads=1, memory_limit="1200MB", temp_dir=tmp_path / "a")
    big = DuckDBEngine(threads=1, memory_limit="1200MB", temp_dir=tmp_path / "b")
    try:
        small.plan_storage(250 * 1000**2)  # 2,250 MB of tables: in memory (spills)
        big.plan_storage(280 * 1000**2)  # 2,520 MB: stored
        assert small.database is None
        assert big.database is not None and big.database.is_relative_to(tmp_path / "b")
        t = big.materialize(big.from_arrow(pa.table({"n": [1, 2]})))
        assert t.to_pyarrow()["n"].to_pylist() == [1, 2]
        assert big.database.exists()
    finally:
        small.close()
        big.close()
    assert list((tmp_path / "b").glob("*/store.duckdb")) == []
    with pytest.raises(EngineError, match="memory_limit"):
        DuckDBEngine(memory_limit="lots")
    # an engine dropped without close() leaves no file behind either
    dropped = DuckDBEngine(threads=1, memory_limit="1GB", storage_dir=tmp_path / "c")
    folder = dropped.database.parent  # type: ignore[union-attr]
    assert folder.is_dir()
    del dropped
    gc.collect()
    assert not folder.exists()


def test_a_refresh_too_big_for_memory_is_computed_in_ranges() -> None:
    """``parts``: ranges whose tables (~9 bytes per byte of Parquet) fit in half the memory
    limit; a fixed number when one is given, and at least one."""
    engine = DuckDBEngine(threads=1, memory_limit="8GB")
    fixed = DuckDBEngine(threads=1, memory_limit="8GB", parts=4)
    try:
        assert engine.parts(0) == 1
        assert engine.parts(232 * 1000**2) == 1  # 10M transactions: ~2 GB of tables
        assert engine.parts(2_200 * 1000**2) == 5  # 100M: ~20 GB
        assert fixed.parts(0) == fixed.parts(10**12) == 4
    finally:
        engine.close()
        fixed.close()
    with pytest.raises(EngineError, match="parts"):
        DuckDBEngine(parts=0)
