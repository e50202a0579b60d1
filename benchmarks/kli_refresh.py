"""KLI refresh at scale on DuckDB: a full refresh (enrichment included) and an incremental one.

The lake is written directly (DuckDB, vectorised) in the layout ingestion produces, so sizes of
millions of customers are quick to set up: transactions replay a pool of realistic descriptors
(taken from a small ``sightline synth`` run: card purchases, ACH loan payments, payroll, P2P…)
over random customers and days; customers and one account snapshot per customer complete it.

Each customer has a *basket* (``--basket``, default 40) of pool descriptors drawn from its ucic,
and its transactions draw from that basket, as members return to the same shops, lenders and
payers. ``--basket 0`` draws every transaction from the whole pool (the benchmark before
2026-11-23): at 100 transactions a customer that made every member pay a dozen lenders and shop
at a hundred merchants, so the number of assignments grew with the transactions per customer.

    .venv/bin/python benchmarks/kli_refresh.py --customers 100000 --transactions 1000000
    .venv/bin/python benchmarks/kli_refresh.py --customers 1000000 --transactions 10000000

Prints the time of each phase (enrich, compute, publish), time per million transactions, peak
memory (max RSS of the process: DuckDB runs in it) and the incremental refresh after one more
day's file. DuckDB runs with threads=2 and memory_limit (default 16GB), spilling to a temp dir.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from sightline.config import Settings
from sightline.insights.engines import DuckDBEngine
from sightline.insights.refresh import run_refresh
from sightline.partners import service as partners
from sightline.store import db
from sightline.synth.generator import SynthConfig, generate

PARTNER = "scale"
END = date(2026, 10, 31)
DAYS = 180


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def descriptor_pool(work: Path) -> Path:
    """Distinct (description, mcc, channel, direction, amount) rows from a small synth run."""
    out = work / "pool.parquet"
    synth = work / "synth-pool"
    generate(SynthConfig(customers=1500, months=3, seed=7, out=synth, format="parquet"))
    con = duckdb.connect()
    src = synth / "transactions" / "*.parquet"
    con.execute(
        "COPY (SELECT row_number() OVER () - 1 AS pid, * FROM (SELECT description, mcc, channel,"
        f" direction, amount FROM read_parquet('{src}') USING SAMPLE 60000 ROWS))"
        f" TO '{out}' (FORMAT parquet)"
    )
    con.close()
    shutil.rmtree(synth, ignore_errors=True)
    return out


def write_lake(lake: Path, pool: Path, customers: int, txns: int, *, day_only: date | None,
               run_id: str, seed: int, threads: int, basket: int) -> None:  # fmt: skip
    """Raw transactions (all days, or one day), plus customers and accounts when full.

    With ``basket`` > 0 a customer's transactions draw from its own ``basket`` pool descriptors
    (a function of the ucic alone, so the day file's draws match the lake's).
    """
    con = duckdb.connect(config={"threads": threads, "memory_limit": "8GB"})
    con.execute("SELECT setseed(?)", [seed / 1000])
    (n_pool,) = con.execute("SELECT count(*) FROM read_parquet(?)", [str(pool)]).fetchone()  # type: ignore[misc]
    now = datetime.now(UTC)
    day_expr = f"DATE '{day_only.isoformat()}'" if day_only else (
        f"DATE '{END.isoformat()}' - CAST(hash(r * 7 + {seed}) % {DAYS} AS INTEGER)"
    )  # fmt: skip
    cust = f"hash(r * 13 + {seed}) % {customers}"
    pid = (
        f"hash(({cust}) * {basket} + hash(r * 17 + {seed}) % {basket}) % {n_pool}"
        if basket > 0
        else f"hash(r * 31 + {seed}) % {n_pool}"
    )
    tx_dir = lake / "transactions" / f"partner={PARTNER}"
    tx_dir.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"""
        COPY (
          SELECT 'T{run_id}-' || r AS txn_id,
                 'C' || lpad(CAST({cust} AS VARCHAR), 8, '0') AS ucic,
                 NULL::VARCHAR AS member_id,
                 'A' || lpad(CAST({cust} AS VARCHAR), 8, '0') AS account_id,
                 {day_expr} AS posted_at,
                 p.amount, p.direction, p.channel, p.mcc, p.description,
                 NULL::VARCHAR AS card_number_last4, NULL::VARCHAR AS card_number_token,
                 '{PARTNER}' AS partner_id, '{run_id}' AS ingest_run_id,
                 TIMESTAMPTZ '{now.isoformat()}' AS ingested_at,
                 {day_expr} AS date
          FROM range({txns}) t(r)
          JOIN read_parquet('{pool}') p ON p.pid = {pid}
        ) TO '{tx_dir}' (FORMAT parquet, PARTITION_BY (date), FILENAME_PATTERN '{run_id}-{{i}}',
                         OVERWRITE_OR_IGNORE true, COMPRESSION zstd)
        """
    )
    if day_only is None:
        for feed, select in (
            (
                "customers",
                f"""'C' || lpad(CAST(r AS VARCHAR), 8, '0') AS ucic, NULL::VARCHAR AS member_id,
                    CASE WHEN r % 20 = 0 THEN 'B' ELSE 'I' END AS ucic_type,
                    1940 + CAST(hash(r) % 60 AS INTEGER) AS birth_year,
                    DATE '2000-01-01' + CAST(hash(r + 1) % 9000 AS INTEGER) AS customer_since,
                    CAST(20000 + hash(r + 2) % 200000 AS DECIMAL(18,2)) AS annual_income,
                    DATE '{END}' AS as_of""",
            ),
            (
                "accounts",
                f"""'A' || lpad(CAST(r AS VARCHAR), 8, '0') AS account_id,
                    'C' || lpad(CAST(r AS VARCHAR), 8, '0') AS ucic,
                    CASE WHEN r % 7 = 0 THEN 'mortgage' ELSE 'checking' END AS product,
                    CAST((hash(r + 3) % 5000000) / 100.0 AS DECIMAL(18,2)) AS balance,
                    DATE '2000-01-01' + CAST(hash(r + 4) % 9000 AS INTEGER) AS open_date,
                    'open' AS status, DATE '{END}' AS as_of""",
            ),
        ):
            folder = lake / feed / f"partner={PARTNER}" / f"date={END}"
            folder.mkdir(parents=True, exist_ok=True)
            con.execute(
                f"COPY (SELECT *, '{PARTNER}' AS partner_id, '{run_id}' AS ingest_run_id,"
                f" TIMESTAMPTZ '{now.isoformat()}' AS ingested_at FROM (SELECT {select}"
                f" FROM range({customers}) t(r))) TO '{folder / (run_id + '-0.parquet')}'"
                " (FORMAT parquet, COMPRESSION zstd)"
            )
    con.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--transactions", type=int, default=1_000_000)
    ap.add_argument("--memory-limit", default="16GB")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workdir", type=Path, default=None,
                    help="Work directory; a lake already written there is reused.")  # fmt: skip
    ap.add_argument("--keep", action="store_true", help="Keep the work directory.")
    ap.add_argument("--basket", type=int, default=40,
                    help="Pool descriptors a customer (0: the whole pool).")  # fmt: skip
    args = ap.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="kli-refresh-"))
    work.mkdir(parents=True, exist_ok=True)
    settings = Settings(env="development", data_dir=work / "data", log_level="WARNING")
    url = settings.resolved_database_url
    shape = f"customers={args.customers} transactions={args.transactions} basket={args.basket}"
    done = work / "lake-done"
    reuse = done.exists() and done.read_text().strip() == shape
    if not reuse:
        shutil.rmtree(settings.data_dir, ignore_errors=True)
    # a fresh serving DB every run: the full refresh is the partner's first publication
    for suffix in ("", "-wal", "-shm"):
        (settings.data_dir / f"sightline.db{suffix}").unlink(missing_ok=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db.upgrade(url)
    engine = db.make_engine(url)
    sessions = db.make_sessionmaker(engine)
    with db.transaction(sessions) as s:
        partners.create_partner(s, PARTNER, name="Scale FI")
    if not reuse:
        t0 = time.perf_counter()
        pool = descriptor_pool(work)
        write_lake(settings.lake_dir, pool, args.customers, args.transactions, day_only=None,
                   run_id="full", seed=1, threads=args.threads, basket=args.basket)  # fmt: skip
        done.write_text(shape)
        print(f"lake written in {time.perf_counter() - t0:.1f}s "
              f"({args.customers:,} customers, {args.transactions:,} transactions)")  # fmt: skip
    else:
        pool = work / "pool.parquet"
        # back to the state before the refresh: no enriched files, no day-1 file
        shutil.rmtree(settings.lake_dir / "enriched_transactions", ignore_errors=True)
        for extra in (settings.lake_dir / "transactions").glob("*/date=2026-11-01"):
            shutil.rmtree(extra, ignore_errors=True)
        print("reusing the lake in", work)

    def duck() -> DuckDBEngine:
        return DuckDBEngine(threads=args.threads, memory_limit=args.memory_limit,
                            temp_dir=work / "spill")  # fmt: skip

    # wall clock around the call: the refresh's own duration (recorded in its row, inside the
    # publishing transaction) leaves out the commit and the purge of the old generation
    started = time.perf_counter()
    full = run_refresh(settings, sessions, PARTNER, full=True, as_of=END, engine=duck())
    full_wall = time.perf_counter() - started
    per_m = full_wall / (args.transactions / 1e6)
    print(f"full refresh: {full_wall:.1f}s with the commit and purge "
          f"({full.duration_seconds:.1f}s recorded)  phases={full.timings}")  # fmt: skip
    print(f"  customers={full.customers:,} assignments={full.assignments:,} "
          f"enriched={full.transactions_enriched:,}")  # fmt: skip
    print(f"  {per_m:.2f} s per million transactions; peak RSS {peak_rss_gib():.2f} GiB")

    day = END + timedelta(days=1)
    daily = max(1, args.transactions // DAYS)
    write_lake(settings.lake_dir, pool, args.customers, daily, day_only=day,
               run_id="day1", seed=2, threads=args.threads, basket=args.basket)  # fmt: skip
    started = time.perf_counter()
    inc = run_refresh(settings, sessions, PARTNER, as_of=day, engine=duck())
    inc_wall = time.perf_counter() - started
    print(f"incremental after one day ({daily:,} transactions): {inc_wall:.1f}s with the "
          f"commit ({inc.duration_seconds:.1f}s recorded) phases={inc.timings} "
          f"customers={inc.customers:,} ({inc_wall / full_wall:.1%} of full)")  # fmt: skip
    print(f"peak RSS {peak_rss_gib():.2f} GiB")
    engine.dispose()
    if not args.keep and args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
