"""The publish phase of a KLI refresh in isolation, on the assignments of a real refresh.

Takes the current assignments of a serving DB a ``kli_refresh.py --keep`` run left behind (its
partner ``scale``), saves them to Parquet once, then publishes them into a fresh serving DB the
way refreshes do — each step its own transaction, the commit and the purge of the previous
generation timed apart:

1. **first**: the partner's first publication (full, no history);
2. **second**: a full publication with the previous generation present (2% of the rows dropped:
   those are lost; first-assigned dates carried over for the rest) — the monthly refresh;
3. **incremental**: 5.4% of the customers (one day's file touches ~5%), 10% of their rows
   dropped.

    .venv/bin/python benchmarks/kli_publish.py \\
        --serving-db /tmp/lake10m/data/sightline.db --workdir /tmp/kli-publish

``--database-url`` publishes into PostgreSQL instead (an empty, migrated database). With
``--breakdown`` the time of each step of ``publish_assignments`` is printed too (``@bg``: on the
worker thread, overlapping the rows' load).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import itertools
import resource
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sightline.insights import publish, repository
from sightline.partners import service as partners
from sightline.store import db

PARTNER = "scale"
TIMES: dict[str, float] = {}
STEPS = (
    "_prepare", "_check_codes", "_read_old", "_stage_ucics", "diff", "_pack_slice", "_load_sets",
    "_history", "full_counts", "count_delta", "_add_counts",
)  # fmt: skip


def export(serving_db: Path, out: Path) -> None:
    con = sqlite3.connect(f"file:{serving_db}?mode=ro", uri=True)
    tables = {name for (name,) in con.execute("SELECT name FROM sqlite_master")}
    if "kli_assignments" in tables:  # a serving DB from before migration kli_0002
        cur = con.execute(
            "SELECT ucic, kli_code, strength, evidence FROM kli_assignments a"
            " JOIN kli_publications p USING (partner_id, generation) WHERE a.partner_id = ?"
            " ORDER BY ucic, kli_code",
            (PARTNER,),
        )
        rows_of: Any = iter(lambda: cur.fetchmany(500_000), [])
    else:
        every = repository.current_assignments(repository.Db(con, "sqlite"), PARTNER)
        rows_of = (
            [(u, c, st, ev) for u, c, _, _, st, ev in chunk]
            for chunk in iter(lambda: list(itertools.islice(every, 500_000)), [])
        )
    names = ["ucic", "kli_code", "strength", "evidence"]
    types = [pa.string(), pa.int64(), pa.float64(), pa.string()]
    with pq.ParquetWriter(out, pa.schema(list(zip(names, types, strict=True)))) as writer:
        for rows in rows_of:
            cols = list(zip(*rows, strict=True))
            arrays = [pa.array(c, t) for c, t in zip(cols, types, strict=True)]
            writer.write_batch(pa.record_batch(arrays, names=names))
    con.close()


def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            worker = threading.current_thread() is not threading.main_thread()
            key = name + ("@bg" if worker else "")
            TIMES[key] = TIMES.get(key, 0.0) + time.perf_counter() - started

    return wrapper


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--serving-db", type=Path, required=True,
                    help="SQLite serving DB of a kli_refresh.py --keep run.")  # fmt: skip
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--database-url", default=None, help="Publish into this DB instead.")
    ap.add_argument("--steps", default="first,second,incremental")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--breakdown", action="store_true")
    args = ap.parse_args()

    args.workdir.mkdir(parents=True, exist_ok=True)
    source = args.workdir / "assignments.parquet"
    if not source.exists():
        t0 = time.perf_counter()
        export(args.serving_db, source)
        print(f"exported the assignments in {time.perf_counter() - t0:.1f}s")
    if args.breakdown:
        for name in STEPS:
            setattr(publish, name, timed(name, getattr(publish, name)))
    url = args.database_url
    if url is None:
        for suffix in ("", "-wal", "-shm"):
            (args.workdir / f"serving.db{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{args.workdir / 'serving.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    sessions = db.make_sessionmaker(engine)
    with db.transaction(sessions) as s:
        partners.create_partner(s, PARTNER, name="Scale FI")
    table = pq.read_table(source)
    mean_evidence = pc.mean(pc.utf8_length(table["evidence"])).as_py() or 0
    print(f"{table.num_rows:,} assignments, evidence {mean_evidence:.0f} characters on average")

    def run(name: str, rows: pa.Table, day: dt.date, *, full: bool) -> None:
        TIMES.clear()
        t0 = time.perf_counter()
        with db.transaction(sessions) as s:
            summary = publish.publish_assignments(
                s, PARTNER, rows, as_of=day, full=full, refresh_id=f"bench-{name}"
            )
            t1 = time.perf_counter()
        t2 = time.perf_counter()
        with db.transaction(sessions) as s:
            publish.purge_stale_generations(s, PARTNER)
        t3 = time.perf_counter()
        print(f"{name}: {rows.num_rows:,} rows, publish {t1 - t0:.2f}s + commit {t2 - t1:.2f}s"
              f" = {t2 - t0:.2f}s; purge {t3 - t2:.2f}s; gained {summary.gained:,}"
              f" lost {summary.lost:,}")  # fmt: skip
        if TIMES:
            print("   ", ", ".join(f"{k} {v:.2f}" for k, v in TIMES.items()))

    rng = np.random.default_rng(args.seed)
    steps = args.steps.split(",")
    if "first" in steps:
        run("first", table, dt.date(2026, 10, 31), full=True)
    if "second" in steps:
        keep = pa.array(rng.random(table.num_rows) > 0.02)
        run("second", table.filter(keep), dt.date(2026, 11, 30), full=True)
    if "incremental" in steps:
        ucics = pc.unique(table["ucic"])
        picked = ucics.filter(pa.array(rng.random(len(ucics)) < 0.054))
        rows = table.filter(pc.is_in(table["ucic"], value_set=picked))
        rows = rows.filter(pa.array(rng.random(rows.num_rows) > 0.1))
        run("incremental", rows, dt.date(2026, 12, 1), full=False)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print(f"peak RSS {peak:.2f} GiB")
    engine.dispose()


if __name__ == "__main__":
    main()
