"""What a delta incremental KLI refresh would cost: a design measurement, not a feature.

The incremental refresh recomputes every customer the day's file touches, whole (at 100M
transactions one day touches 43 % of the customers: docs/benchmarks.md, "KLI refresh", fifth
round). A delta refresh would recompute only the (customer, key) pairs the new rows can change.
This script measures the compute of that restricted input, as a cost proxy: the incremental
compute over the touched customers with their transactions restricted to the rows that share a
``--level`` value (category or category group) with one of their new rows. The assignments it
produces are not a delta refresh's answers (rules without that key locality see partial rows);
only the time is meant.

It reads a lake left by ``benchmarks/kli_refresh.py --workdir DIR --keep`` (the full refresh,
then the day file of 2026-11-01 enriched by its incremental refresh)::

    flock /tmp/sightline-bench.lock .venv/bin/python benchmarks/kli_delta_cost.py \
        --workdir DIR --level category --parts 1
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from sightline.insights import pipeline
from sightline.insights.codes import taxonomy_lookup
from sightline.insights.engines import DuckDBEngine
from sightline.insights.rules import load_rules

PARTNER = "scale"  # benchmarks/kli_refresh.py's partner
DAY = date(2026, 11, 1)  # its day file


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", type=Path, required=True, help="kli_refresh.py's --workdir")
    ap.add_argument(
        "--level",
        choices=("category", "category_group", "none"),
        default="category",
        help="the key the rows are restricted by (none: the whole customers)",
    )
    ap.add_argument(
        "--parts", type=int, default=None, help="ucic ranges (default: the engine's estimate)"
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-limit", default="8GB")
    args = ap.parse_args()

    lake = args.workdir / "data" / "lake"
    day = sorted((lake / "enriched_transactions" / f"partner={PARTNER}").glob(f"date={DAY}/*"))
    if not day:
        raise SystemExit(f"no enriched day file for {DAY} under {lake}: run kli_refresh.py first")
    columns = ["ucic"] if args.level == "none" else ["ucic", args.level]
    new = pq.read_table(day, columns=columns).group_by(columns).aggregate([])
    scope = sorted(set(new["ucic"].to_pylist()))
    engine = DuckDBEngine(threads=args.threads, memory_limit=args.memory_limit,
                          temp_dir=args.workdir / "spill", parts=args.parts)  # fmt: skip
    pairs = engine.from_arrow(new)
    load_inputs = pipeline.load_inputs

    def restricted(*a: Any, **k: Any) -> Any:
        inputs = load_inputs(*a, **k)
        if args.level == "none":
            return inputs
        return dataclasses.replace(inputs, txns=inputs.txns.semi_join(pairs, columns))

    pipeline.load_inputs = restricted  # type: ignore[assignment]
    started = time.perf_counter()
    result = pipeline.compute_assignments(
        engine, lake, PARTNER, as_of=DAY, rules=load_rules(), codes=taxonomy_lookup(), scope=scope
    )
    seconds = time.perf_counter() - started
    engine.close()
    print(f"{len(scope):,} touched customers, {new.num_rows:,} (customer, {args.level}) pairs: "
          f"compute {seconds:.1f}s, {result.assignments.num_rows:,} rows")  # fmt: skip


if __name__ == "__main__":
    main()
