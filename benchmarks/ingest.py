"""Ingestion benchmarks (docs/benchmarks.md, "Ingestion").

1. files: a transactions CSV (default 10 million rows, generated with DuckDB) is ingested by
   `sightline.ingest.service.ingest_path` — content hash, validation, member-map and customer
   references, PII masking (HMAC tokens + last four), dedupe, Parquet lake partitioned by date,
   run record — and, side by side on the same file, converted to Parquet by DuckDB alone
   (`COPY (SELECT * FROM read_csv(...)) TO ...parquet`). Prints medians and the rate ratio.
2. webhook: `sightline`'s API served by uvicorn (uvloop, httptools) in a subprocess on loopback;
   concurrent clients post batches of 100 events for a fixed time. Prints events/s and request
   latency p50/p99.

    .venv/bin/python benchmarks/ingest.py                      # both, 10M rows
    .venv/bin/python benchmarks/ingest.py --rows 1000000 --only files
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import httpx

from sightline.api.context import AppContext
from sightline.config import Settings
from sightline.ingest import service
from sightline.partners import service as partners
from sightline.store import db

CUSTOMERS = 200_000


def make_csv(path: Path, rows: int) -> Path:
    """Transactions over 30 days (a monthly file), ~2,000 merchants with store numbers and
    dates in the descriptors, one card per account, a few members sent by member id."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(
        f"""COPY (
        SELECT 'tx' || lpad(CAST(i AS VARCHAR), 10, '0') AS txn_id,
               CASE WHEN i % 50 = 0 THEN NULL ELSE 'c' || (hash(i) % {CUSTOMERS}) END AS ucic,
               CASE WHEN i % 50 = 0 THEN 'm' || (hash(i) % {CUSTOMERS}) END AS member_id,
               'a' || (hash(i) % {int(CUSTOMERS * 1.5)}) AS account_id,
               CAST(DATE '2026-10-01' + CAST(i % 30 AS INTEGER) AS VARCHAR) AS posted_at,
               CAST(CAST((hash(i * 7) % 2000000) / 100.0 AS DECIMAL(18, 2)) AS VARCHAR) AS amount,
               CASE WHEN i % 7 = 0 THEN 'credit' ELSE 'debit' END AS direction,
               (['card', 'card', 'card', 'ach', 'p2p', 'atm', 'fee'])[1 + i % 7] AS channel,
               CAST(5000 + hash(i) % 900 AS VARCHAR) AS mcc,
               (['SQ *', 'TST* ', 'POS DEBIT ', 'PURCHASE AUTHORIZED ON 10/'
                 || lpad(CAST(i % 28 + 1 AS VARCHAR), 2, '0') || ' ', ''])[1 + i % 5]
                 || 'MERCHANT ' || (hash(i * 3) % 2000) || ' #' || (hash(i) % 9000)
                 || ' CITY ' || (['TX', 'CA', 'NY', 'IL', 'WA'])[1 + i % 5] AS description,
               '4' || lpad(CAST(hash(i) % {int(CUSTOMERS * 1.5)} AS VARCHAR), 15, '0')
                 AS card_number
        FROM range({rows}) t(i)) TO '{path}' (HEADER)"""
    )
    return path


def make_customers(path: Path) -> Path:
    con = duckdb.connect()
    con.execute(
        f"""COPY (SELECT 'c' || i AS ucic, 'm' || i AS member_id, 'I' AS ucic_type,
        'person' || i || '@example.com' AS email, '2015-01-01' AS customer_since,
        '2026-09-30' AS as_of FROM range({CUSTOMERS}) t(i)) TO '{path}' (HEADER)"""
    )
    return path


def duckdb_alone(csv: Path, out: Path) -> tuple[float, float]:
    """(wall, CPU) seconds. Same Parquet settings as the lake writes: DuckDB's defaults
    (Snappy, default row-group size), all threads."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    started, cpu = time.perf_counter(), time.process_time()
    con.execute(f"COPY (SELECT * FROM read_csv('{csv}')) TO '{out}' (FORMAT parquet)")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    out.unlink()
    return elapsed, cpu


def _bench_partner(work: Path) -> tuple[Settings, AppContext]:
    """A fresh data folder and SQLite serving DB under ``work`` with the partner ``bench``."""
    if work.exists():
        shutil.rmtree(work)
    settings = Settings(env="test", data_dir=work, database_url=f"sqlite:///{work / 'serving.db'}")
    db.upgrade(settings.resolved_database_url)
    ctx = AppContext.from_settings(settings)
    with db.transaction(ctx.sessions) as s:
        partners.create_partner(s, "bench", name="Bench CU")
    return settings, ctx


def sightline_ingest(
    csv: Path, customers: Path, work: Path
) -> tuple[float, float, service.RunSummary]:
    settings, ctx = _bench_partner(work)
    loaded = service.ingest_path(ctx.sessions, settings, "bench", "customers", customers)
    assert loaded.stored == CUSTOMERS, loaded
    before = resource.getrusage(resource.RUSAGE_SELF)
    started, cpu = time.perf_counter(), time.process_time()
    summary = service.ingest_path(ctx.sessions, settings, "bench", "transactions", csv)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_SELF)
    print(
        f"    (ingest: {after.ru_stime - before.ru_stime:.1f} s of it in the kernel, "
        f"{after.ru_minflt - before.ru_minflt:,} page faults)"
    )
    ctx.engine.dispose()
    return elapsed, cpu, summary


def bench_files(rows: int, repeat: int, tmp: Path) -> None:
    csv = make_csv(tmp / "transactions.csv", rows)
    customers = make_customers(tmp / "customers.csv")
    print(f"files: {rows:,} rows, {csv.stat().st_size / 1e6:,.0f} MB CSV, {os.cpu_count()} cores")
    base, ours, base_cpu, ours_cpu, ratios = [], [], [], [], []
    summary = None
    for i in range(repeat):
        t0, c0 = duckdb_alone(csv, tmp / "alone.parquet")
        t, c, summary = sightline_ingest(csv, customers, tmp / "work")
        base.append(t0)
        base_cpu.append(c0)
        ours.append(t)
        ours_cpu.append(c)
        ratios.append(t0 / t)
        print(
            f"  run {i + 1}: duckdb alone {t0:.2f} s ({c0:.1f} CPU-s), "
            f"sightline ingest {t:.2f} s ({c:.1f} CPU-s), ratio {t0 / t:.2f}"
        )
    assert summary is not None
    print(
        f"  sightline: status={summary.status} read={summary.read:,} stored={summary.stored:,} "
        f"quarantined={summary.quarantined:,} duplicate={summary.duplicate:,}"
    )
    b, o = statistics.median(base), statistics.median(ours)
    print(f"  duckdb alone (CSV → Parquet):     median {b:.2f} s = {rows / b:,.0f} rows/s")
    print(
        f"  sightline ingest (validate, mask, dedupe, lake): "
        f"median {o:.2f} s = {rows / o:,.0f} rows/s"
    )
    print(f"  ratio (sightline rate / duckdb rate): {b / o:.2f}  (target >= 0.50)")
    print(f"  median of the per-run side-by-side ratios: {statistics.median(ratios):.2f}")
    bc, oc = statistics.median(base_cpu), statistics.median(ours_cpu)
    print(
        f"  CPU seconds (steadier under load): duckdb {bc:.1f}, sightline {oc:.1f}: {bc / oc:.2f}"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _load(
    url: str, headers: dict[str, str], seconds: float, workers: int
) -> tuple[int, list[float]]:
    latencies: list[float] = []
    sent = 0
    stop_at = time.perf_counter() + seconds
    counter = 0

    async def worker(client: httpx.AsyncClient, wid: int) -> None:
        nonlocal sent, counter
        while time.perf_counter() < stop_at:
            counter += 1
            batch = {
                "events": [
                    {
                        "event_id": f"w{wid}-{counter}-{j}",
                        "ucic": f"c{(counter * 100 + j) % 5000}",
                        "type": "first_login",
                        "occurred_at": "2026-11-22T10:00:00Z",
                        "channel": "mobile",
                        "attributes": {"app_version": "5.2.1", "device": "ios"},
                    }
                    for j in range(100)
                ]
            }
            started = time.perf_counter()
            resp = await client.post(url, json=batch, headers=headers)
            latencies.append(time.perf_counter() - started)
            if resp.status_code != 202:
                raise RuntimeError(f"{resp.status_code}: {resp.text[:200]}")
            sent += resp.json()["accepted"]

    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(client, w) for w in range(workers)))
    return sent, latencies


def bench_webhook(seconds: float, workers: int, tmp: Path) -> None:
    work = tmp / "api"
    settings, ctx = _bench_partner(work)
    with db.transaction(ctx.sessions) as s:
        key = partners.create_key(s, "bench")
    ctx.engine.dispose()
    port = _free_port()
    env = {
        **os.environ,
        "SIGHTLINE_ENV": "test",
        "SIGHTLINE_DATA_DIR": str(work),
        "SIGHTLINE_DATABASE_URL": settings.resolved_database_url,
        "SIGHTLINE_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "sightline.api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {key.secret}"}
        url = f"{base}/ingest/v1/partners/bench/events"
        asyncio.run(_load(url, headers, 2, workers))  # warm-up
        sent, lat = asyncio.run(_load(url, headers, seconds, workers))
    finally:
        server.terminate()
        server.wait(timeout=30)
    lat.sort()
    p50 = lat[len(lat) // 2] * 1000
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
    print(
        f"webhook: {workers} concurrent clients, batches of 100, {seconds:.0f} s, 1 uvicorn worker"
    )
    print(f"  {sent / seconds:,.0f} events/s stored ({len(lat) / seconds:,.1f} requests/s)")
    print(f"  request latency p50 {p50:.1f} ms, p99 {p99:.1f} ms  (target >= 2,000 events/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--only", choices=["files", "webhook"])
    parser.add_argument(
        "--tmp", type=Path, default=None, help="Scratch folder (default: a temp dir)."
    )
    args = parser.parse_args()
    tmp = args.tmp or Path(tempfile.mkdtemp(prefix="sightline-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        if args.only in (None, "files"):
            bench_files(args.rows, args.repeat, tmp)
        if args.only in (None, "webhook"):
            bench_webhook(args.seconds, args.workers, tmp)
    finally:
        if args.tmp is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
