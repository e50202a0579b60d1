"""Engine fixtures shared by the insights tests: one local Spark session per test run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sightline.insights.engines import DuckDBEngine, Engine, SparkEngine


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    pytest.importorskip("pyspark")
    from sightline.insights.engines import spark_session as make

    session = make(master="local[2]", shuffle_partitions=2)
    yield session


def make_engine(name: str, request: pytest.FixtureRequest) -> Engine:
    if name == "spark":
        return SparkEngine(request.getfixturevalue("spark_session"))
    return DuckDBEngine(threads=2, memory_limit="2GB")


ENGINES = ["duckdb", pytest.param("spark", marks=pytest.mark.spark)]
