"""DuckDB connections as every stage wants them: quiet (no progress bar on stderr), in UTC,
with the thread count the caller chooses. One place, so a setting is never forgotten."""

from __future__ import annotations

from typing import Any

import duckdb

#: session settings applied to every connection (the progress bar is a per-connection option)
SESSION = ("SET enable_progress_bar = false", "SET TimeZone = 'UTC'")


def connect(*, threads: int | None = None, **config: Any) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config=config)
    for statement in SESSION:
        con.execute(statement)
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con
