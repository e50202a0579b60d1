"""A full KLI refresh without enrichment, its ranges' assignments spilled to disk or kept in
memory: what the spill costs in time and saves in memory (docs/benchmarks.md, "KLI refresh",
sixth round). Run the two variants alternately, each in its own process.

It reads the enriched lake left by ``benchmarks/kli_refresh.py --workdir DIR --keep`` and
publishes into a fresh SQLite database under ``--scratch``::

    for v in off on off on; do
        flock /tmp/sightline-bench.lock .venv/bin/python benchmarks/kli_spill_ab.py $v \\
            --workdir DIR
    done
"""

from __future__ import annotations

import argparse
import resource
import shutil
import time
from datetime import date
from pathlib import Path
from typing import Any

from sightline.config import Settings
from sightline.insights import refresh
from sightline.insights.engines import DuckDBEngine
from sightline.partners.service import create_partner
from sightline.store.db import make_engine, make_sessionmaker, transaction, upgrade

PARTNER = "scale"  # benchmarks/kli_refresh.py's partner
END = date(2026, 10, 31)  # its as-of date


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("variant", choices=("on", "off"), help="spill the ranges (on) or not (off)")
    ap.add_argument("--workdir", type=Path, required=True, help="kli_refresh.py's --workdir")
    ap.add_argument("--scratch", type=Path, default=Path("/tmp/sightline-spill-ab"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-limit", default="8GB")
    args = ap.parse_args()

    lake = args.workdir / "data" / "lake"
    if not (lake / "enriched_transactions" / f"partner={PARTNER}").is_dir():
        raise SystemExit(f"no enriched lake under {lake}: run kli_refresh.py --keep first")
    shutil.rmtree(args.scratch, ignore_errors=True)
    (args.scratch / "data").mkdir(parents=True)
    (args.scratch / "data" / "lake").symlink_to(lake.resolve())
    settings = Settings(data_dir=args.scratch / "data")
    upgrade(settings.resolved_database_url)
    sessions = make_sessionmaker(make_engine(settings.resolved_database_url))
    with transaction(sessions) as session:
        create_partner(session, PARTNER, name="Scale")
    if args.variant == "off":
        compute = refresh.compute_assignments

        def in_memory(*a: Any, **k: Any) -> Any:
            k["spill_dir"] = None
            return compute(*a, **k)

        refresh.compute_assignments = in_memory  # type: ignore[assignment]
    engine = DuckDBEngine(
        threads=args.threads, memory_limit=args.memory_limit, temp_dir=args.scratch / "spill"
    )
    started = time.perf_counter()
    result = refresh.run_refresh(
        settings, sessions, PARTNER, full=True, enrich=None, engine=engine, as_of=END
    )
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(
        f"{args.variant}: {wall:.1f}s {result.timings} assignments={result.assignments:,} "
        f"peak RSS {peak:.2f} GiB"
    )
    shutil.rmtree(args.scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
