"""Merchant-cleansing speed (issue 4 item 9). Prints the figures recorded in docs/benchmarks.md.

    .venv/bin/python benchmarks/enrich_speed.py [--rows 10000000] [--duration 10]
        [--only startup,single,http,batch] [--repeat 3]

- startup: a fresh process imports the engine, loads the directory and builds the automata;
- single: one descriptor in process, uncached (every call parses and matches) and cached;
- http: ``wrk`` (Debian package) at 50 connections over loopback against the merchant endpoint
  served by uvicorn (uvloop, httptools, log level warning), and against a bare ASGI app that
  returns a fixed body of the same size, side by side (both with ``--workers`` processes);
- batch: N synthetic transactions in one Parquet file → ``enrich_file`` → Parquet (the Ibis
  stage on DuckDB: each distinct descriptor enriched once, joined back, input order kept), and
  the same rows as a lake → ``enrich_lake``; each timed against a plain DuckDB copy of the same
  input (Parquet → Parquet ZSTD) as the floor; medians of ``--repeat`` runs, wall clock and the
  process's CPU seconds (user + system, DuckDB's threads included: on a shared machine the
  CPU figure moves less than the wall clock).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "tests" / "data" / "labelled_descriptors.csv"
PY = sys.executable
VARIANTS = 2000  # per labelled line: distinct raw descriptors as a bank sees them


def _templates() -> list[tuple[str, str, str]]:
    """(description, direction, mcc) of the labelled set: the shapes of real statement lines."""
    import csv

    with LABELLED.open(newline="") as fh:
        return [(r["description"], r["direction"], r["mcc"]) for r in csv.DictReader(fh)]


def _fill(template: str, rng: random.Random) -> str:
    """The same line with other store, reference, phone numbers and dates (same lengths)."""

    def digits(m: re.Match[str]) -> str:
        return "".join(rng.choice("0123456789") for _ in m.group(0))

    def day(_: re.Match[str]) -> str:
        return f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}"

    return re.sub(r"\d{3,}", digits, re.sub(r"\b\d{2}/\d{2}\b", day, template))


def bench_startup(repeat: int = 3) -> dict[str, float]:
    code = (
        "import time; t=time.perf_counter();"
        "from sightline.enrich.directory import load_directory;"
        "from sightline.enrich.engine import Enricher;"
        "e=Enricher(load_directory()); print(time.perf_counter()-t)"
    )
    runs = [float(subprocess.check_output([PY, "-c", code], text=True)) for _ in range(repeat)]
    return {
        "startup_s_median": round(statistics.median(runs), 3),
        "startup_s_max": round(max(runs), 3),
    }


def bench_single(n: int = 20_000) -> dict[str, float]:
    from sightline.enrich.directory import load_directory
    from sightline.enrich.engine import Enricher

    rng = random.Random(7)
    templates = _templates()
    samples = [
        (_fill(t, rng), d, m or None) for t, d, m in (rng.choice(templates) for _ in range(n))
    ]
    uncached = Enricher(load_directory(), cache_size=0)
    times = []
    for text, direction, mcc in samples:
        start = time.perf_counter_ns()
        uncached.enrich(text, direction=direction, mcc=mcc)
        times.append(time.perf_counter_ns() - start)
    cached = Enricher(load_directory())
    for text, direction, mcc in samples:
        cached.enrich(text, direction=direction, mcc=mcc)
    hits = []
    for text, direction, mcc in samples:
        start = time.perf_counter_ns()
        cached.enrich(text, direction=direction, mcc=mcc)
        hits.append(time.perf_counter_ns() - start)

    def pct(values: list[int], q: float) -> float:
        values = sorted(values)
        return round(values[min(len(values) - 1, int(len(values) * q))] / 1000, 1)

    return {
        "uncached_p50_us": pct(times, 0.5),
        "uncached_p90_us": pct(times, 0.9),
        "uncached_p99_us": pct(times, 0.99),
        "cached_p50_us": pct(hits, 0.5),
        "cached_p99_us": pct(hits, 0.99),
        "descriptors": n,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback only
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not start")


def _wrk(url: str, script: Path, duration: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def latency(q: str) -> float:
        m = re.search(rf"\s{q}%\s+([\d.]+)(us|ms|s)\b", out)
        if m is None:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return round(value / 1000 if unit == "us" else value * 1000 if unit == "s" else value, 2)

    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "requests_per_s": round(rps),
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def bench_http(duration: int, connections: int, workers: int = 1) -> dict[str, object]:
    if shutil.which("wrk") is None:
        return {"skipped": "wrk is not installed (apt-get install -y wrk)"}
    from sightline.partners import service as partners
    from sightline.store import db

    rng = random.Random(11)
    bodies = [
        json.dumps(
            {
                "merchant_description": _fill(t, rng),
                "trans_category": "pos",
                "trans_type": d or "debit",
                **({"mcc": m} if m else {}),
            }
        )
        for t, d, m in rng.sample(_templates(), 200)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        url_db = f"sqlite:///{data / 'sightline.db'}"
        db.upgrade(url_db)
        engine = db.make_engine(url_db)
        with db.transaction(db.make_sessionmaker(engine)) as session:
            partners.create_partner(session, "bench", name="Bench CU")
            key = partners.create_key(session, "bench")
        engine.dispose()
        env = {
            **os.environ,
            "SIGHTLINE_DATA_DIR": str(data),
            "SIGHTLINE_LOG_LEVEL": "WARNING",
            "SIGHTLINE_SECRET_KEY": "bench-secret-0123456789abcdef",
        }
        lua_bodies = ",\n".join(json.dumps(b) for b in bodies)
        script = Path(tmp) / "post.lua"
        script.write_text(
            textwrap.dedent(
                """
                local bodies = {%s}
                local i = 0
                wrk.method = "POST"
                wrk.headers["Content-Type"] = "application/json"
                wrk.headers["Authorization"] = "Bearer %s"
                request = function()
                  i = i %% #bodies + 1
                  return wrk.format(nil, nil, nil, bodies[i])
                end
                """
            )
            % (lua_bodies, key.secret)
        )
        port = _free_port()
        uvicorn = [PY, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port)]
        uvicorn += ["--loop", "uvloop", "--http", "httptools", "--log-level", "warning"]
        uvicorn += ["--no-access-log", "--workers", str(workers)]
        server = subprocess.Popen([*uvicorn, "--factory", "sightline.api.app:create_app"], env=env)
        try:
            _wait(f"http://127.0.0.1:{port}/healthz")
            target = f"http://127.0.0.1:{port}/merchant/v1/partners/bench/merchant"
            request = urllib.request.Request(
                target,
                data=bodies[0].encode(),
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {key.secret}",
                },
            )
            with urllib.request.urlopen(request) as resp:  # noqa: S310 - builds the Enricher
                size = len(resp.read())
            _wrk(target, script, 2, connections)  # warm-up
            sightline = _wrk(target, script, duration, connections)
        finally:
            server.terminate()
            server.wait(10)
        bare_module = Path(tmp) / "bare_app.py"
        bare_module.write_text(
            textwrap.dedent(
                f"""
                BODY = b"x" * {size}

                async def app(scope, receive, send):
                    if scope["type"] != "http":
                        return
                    more = True
                    while more:
                        message = await receive()
                        more = message.get("more_body", False)
                    await send({{"type": "http.response.start", "status": 200,
                                "headers": [(b"content-type", b"application/json")]}})
                    await send({{"type": "http.response.body", "body": BODY}})
                """
            )
        )
        port = _free_port()
        uvicorn = [PY, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port)]
        uvicorn += ["--loop", "uvloop", "--http", "httptools", "--log-level", "warning"]
        uvicorn += ["--no-access-log", "--app-dir", tmp, "--workers", str(workers)]
        bare_server = subprocess.Popen([*uvicorn, "bare_app:app"], env=env)
        try:
            _wait(f"http://127.0.0.1:{port}/")
            target = f"http://127.0.0.1:{port}/merchant/v1/partners/bench/merchant"
            _wrk(target, script, 2, connections)
            bare = _wrk(target, script, duration, connections)
        finally:
            bare_server.terminate()
            bare_server.wait(10)
    return {
        "connections": connections,
        "workers": workers,
        "duration_s": duration,
        "response_bytes": size,
        "merchant_endpoint": sightline,
        "bare_asgi": bare,
        "ratio": round(sightline["requests_per_s"] / bare["requests_per_s"], 2),
    }


def bench_batch(rows: int, repeat: int = 3) -> dict[str, object]:
    """``enrich_file`` and ``enrich_lake`` on ``rows`` synthetic transactions, each against a
    plain DuckDB copy of the same input (read Parquet, write Parquet ZSTD: the floor)."""
    import duckdb
    import pyarrow as pa

    from sightline import duck
    from sightline.config import Settings
    from sightline.enrich.batch import enrich_file, enrich_lake
    from sightline.enrich.engine import default_enricher

    templates = _templates()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "transactions.parquet"
        out = Path(tmp) / "enriched.parquet"
        rng = random.Random(3)
        variants = [(_fill(t, rng), d, m or None) for t, d, m in templates for _ in range(VARIANTS)]
        con = duckdb.connect()
        con.register(
            "variants",
            pa.table(
                {
                    "v": list(range(len(variants))),
                    "description": [v[0] for v in variants],
                    "direction": [v[1] for v in variants],
                    "mcc": [v[2] for v in variants],
                }
            ),
        )
        started = time.perf_counter()
        con.execute(
            f"""
            COPY (
              SELECT 'T' || i AS txn_id, 'C' || (i % 200000) AS ucic,
                     DATE '2026-10-01' + CAST(i % 31 AS INTEGER) AS posted_at,
                     CAST((hash(i) % 20000) / 100.0 AS DECIMAL(18, 2)) AS amount,
                     variants.direction, variants.mcc, variants.description
              FROM range({rows}) r(i)
              JOIN variants ON variants.v = CAST(hash(i) % {len(variants)} AS INTEGER)
            ) TO '{src}' (FORMAT parquet, COMPRESSION zstd)
            """
        )
        generated = time.perf_counter() - started
        distinct_raw = con.execute(
            f"SELECT count(DISTINCT description) FROM read_parquet('{src}')"
        ).fetchone()
        con.close()
        engine = default_enricher()

        def cpu() -> float:
            # DuckDB's threads included, and forked enrichment children once they have ended
            usage = resource.getrusage(resource.RUSAGE_SELF)
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            return usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime

        def plain_copy(source: str, target: Path, options: str = "") -> float:
            if target.is_dir():
                shutil.rmtree(target)
            target.unlink(missing_ok=True)
            copy = duck.connect()
            started = time.perf_counter()
            copy.execute(
                f"COPY (SELECT * FROM {source}) TO '{target}' "
                f"(FORMAT parquet, COMPRESSION zstd{options})"
            )
            seconds = time.perf_counter() - started
            copy.close()
            return seconds

        file_runs, copy_runs, file_cpu = [], [], []
        for _ in range(repeat):
            copy_runs.append(plain_copy(f"read_parquet('{src}')", out))
            out.unlink()
            started, cpu_started = time.perf_counter(), cpu()
            stats = enrich_file(src, out, enricher=engine)
            file_runs.append(time.perf_counter() - started)
            file_cpu.append(cpu() - cpu_started)
        size_in, size_out = src.stat().st_size, out.stat().st_size
        check = duckdb.connect()
        in_order = check.execute(
            f"SELECT count(*) FILTER (WHERE a.txn_id <> b.txn_id) = 0 FROM "
            f"(SELECT txn_id FROM read_parquet('{src}')) a POSITIONAL JOIN "
            f"(SELECT txn_id FROM read_parquet('{out}')) b"
        ).fetchone()
        check.close()
        out.unlink()
        # the pipeline stage: the same rows as a lake (partner/date folders) → enriched lake
        settings = Settings(env="test", data_dir=Path(tmp) / "data")
        lake_src = settings.lake_dir / "transactions" / "partner=bench"
        lake_src.mkdir(parents=True)
        con = duckdb.connect()
        con.execute(
            f"COPY (SELECT *, posted_at AS date FROM read_parquet('{src}')) TO '{lake_src}' "
            "(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (date))"
        )
        con.close()
        src.unlink()
        lake_glob = f"read_parquet('{lake_src}/*/*.parquet', hive_partitioning = true)"
        lake_runs, lake_copy_runs, lake_cpu = [], [], []
        for _ in range(repeat):
            lake_copy_runs.append(
                plain_copy(lake_glob, Path(tmp) / "lake_copy", ", PARTITION_BY (date)")
            )
            started, cpu_started = time.perf_counter(), cpu()
            lake = enrich_lake(settings, "bench", enricher=engine)
            lake_runs.append(time.perf_counter() - started)
            lake_cpu.append(cpu() - cpu_started)
    seconds = statistics.median(file_runs)
    copy_s = statistics.median(copy_runs)
    lake_seconds = statistics.median(lake_runs)
    lake_copy_s = statistics.median(lake_copy_runs)
    return {
        "rows": stats.rows,
        "repeat": repeat,
        "distinct_raw_descriptors": int(distinct_raw[0]) if distinct_raw else 0,
        "distinct_keys_enriched": stats.distinct_descriptors,
        "file_seconds_median": round(seconds, 2),
        "file_seconds_runs": [round(x, 2) for x in file_runs],
        "file_rows_per_s": round(stats.rows / seconds),
        "file_cpu_seconds_median": round(statistics.median(file_cpu), 2),
        "file_output_in_input_order": bool(in_order and in_order[0]),
        "plain_copy_seconds_median": round(copy_s, 2),
        "plain_copy_rows_per_s": round(stats.rows / copy_s),
        "file_ratio_to_plain_copy": round(copy_s / seconds, 2),
        "input_mb": round(size_in / 1e6, 1),
        "output_mb": round(size_out / 1e6, 1),
        "generate_s": round(generated, 1),
        "lake_stage_seconds_median": round(lake_seconds, 2),
        "lake_stage_seconds_runs": [round(x, 2) for x in lake_runs],
        "lake_stage_rows_per_s": round(lake.rows / lake_seconds),
        "lake_stage_cpu_seconds_median": round(statistics.median(lake_cpu), 2),
        "lake_plain_copy_seconds_median": round(lake_copy_s, 2),
        "lake_ratio_to_plain_copy": round(lake_copy_s / lake_seconds, 2),
        "lake_stage_dates": len(lake.dates),
        "load_average_after": round(os.getloadavg()[0], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers (merchant server)")
    parser.add_argument("--only", default="startup,single,http,batch")
    parser.add_argument("--repeat", type=int, default=3, help="batch runs (median reported)")
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    report: dict[str, object] = {"load_average": os.getloadavg()[0]}
    if "startup" in wanted:
        report["startup"] = bench_startup()
    if "single" in wanted:
        report["single"] = bench_single()
    if "http" in wanted:
        report["http"] = bench_http(args.duration, args.connections, args.workers)
    if "batch" in wanted:
        report["batch"] = bench_batch(args.rows, args.repeat)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
