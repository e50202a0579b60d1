"""One-customer KLI lookups with 1M customers loaded, over loopback with wrk (50 connections).

Generates a synthetic assignment table (about 25 KLIs per customer, drawn from the taxonomy's
leaves, with compact evidence), publishes it with ``publish_assignments`` into SQLite and into
PostgreSQL, serves the real app with uvicorn (uvloop + httptools) and drives
``GET /kli/v1/partners/{p}/ucics/{random ucic}/kli_assignments`` with wrk. Beside each run, a bare
ASGI app returning a fixed body of the same size on the same server measures the ceiling of this
machine; the ratio is the app's share of it.

    .venv/bin/python benchmarks/kli_lookup.py [--customers 1000000] [--duration 15]
        [--workers 1,2] [--skip-postgres] [--modes shipped,fastapi,thread] [--data-dir DIR]

Needs ``wrk`` (``apt-get install -y wrk``). Prints medians over ``--runs`` runs.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ROOT = Path(__file__).resolve().parents[1]
PARTNER = "bench"


# --- the app the server runs (uvicorn --factory) -------------------------------------------------


def app_factory() -> Any:
    """What the uvicorn child runs: the real app (see the modes below) or a bare
    ASGI app returning the fixed body in ``KLI_BENCH_BODY``."""
    mode = os.environ.get("KLI_BENCH_MODE", "shipped")
    if mode == "bare":
        body = Path(os.environ["KLI_BENCH_BODY"]).read_bytes()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]

        async def bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "lifespan":
                while True:
                    message = await receive()
                    if message["type"] == "lifespan.startup":
                        await send({"type": "lifespan.startup.complete"})
                    elif message["type"] == "lifespan.shutdown":
                        await send({"type": "lifespan.shutdown.complete"})
                        return
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        return bare
    from sightline.api.app import create_app
    from sightline.insights.repository import KliReader

    # shipped: the app as shipped (fast path; SQLite read on the event loop, PostgreSQL on the
    # thread pool); thread: the read on the pool for SQLite too; fastapi: no fast path, every
    # request through FastAPI's routing and dependencies
    app = create_app(fast_path=mode != "fastapi")
    app.state.kli_reader = KliReader(
        app.state.ctx.settings.resolved_database_url, inline=False if mode == "thread" else None
    )
    return app


# --- synthetic assignments -----------------------------------------------------------------------


def synth(customers: int, seed: int = 7) -> pa.Table:
    from sightline.taxonomy import load_taxonomy

    tree = load_taxonomy()
    pool = np.array(sorted(k.kli_code for k in tree if k.kli_is_leaf == "Y"), dtype=np.int64)
    size = len(pool)
    rng = np.random.default_rng(seed)
    per = rng.integers(15, 36, customers)  # 15..35 KLIs, mean 25
    width = int(per.max())
    base = rng.integers(0, size, customers)
    strides = np.array([s for s in range(1, 400) if np.gcd(s, size) == 1])
    stride = rng.choice(strides, customers)
    idx = (base[:, None] + stride[:, None] * np.arange(width)[None, :]) % size
    keep = np.arange(width)[None, :] < per[:, None]
    codes = pool[idx][keep]
    owner = np.repeat(np.arange(customers), per)
    ucics = pa.array(np.char.mod("C%07d", np.arange(customers)))
    count = rng.integers(1, 40, len(codes))
    evidence = pc.binary_join_element_wise(
        '{"rule":"r', pa.array(codes % 50).cast(pa.string()), '","window_days":90,"count":',
        pa.array(count).cast(pa.string()), ',"txn_ids":["t', pa.array(owner).cast(pa.string()),
        '"]}', "",
    )  # fmt: skip
    strength = pa.array(np.where(codes % 5 == 0, rng.random(len(codes)), np.nan), from_pandas=True)
    return pa.table(
        {
            "ucic": pc.take(ucics, pa.array(owner)),
            "kli_code": pa.array(codes),
            "strength": strength,
            "evidence": evidence,
        }
    )


def generate(customers: int) -> pa.Table:
    started = time.perf_counter()
    table = synth(customers)
    print(
        f"synthetic: {customers:,} customers, {table.num_rows:,} assignments"
        f" ({time.perf_counter() - started:.1f} s)"
    )
    return table


def load(url: str, table: pa.Table) -> tuple[str, float]:
    """Migrate, create the partner and a key, publish; the key's secret and publish seconds."""
    from sightline.insights.publish import publish_assignments
    from sightline.partners import service as partners
    from sightline.store import db

    db.upgrade(url)
    engine = db.make_engine(url)
    factory = db.make_sessionmaker(engine)
    with db.transaction(factory) as s:
        partners.create_partner(s, PARTNER, name="Bench CU")
        key = partners.create_key(s, PARTNER)
    started = time.perf_counter()
    with db.transaction(factory) as s:
        summary = publish_assignments(
            s, PARTNER, table, as_of=dt.date(2026, 11, 22), full=True, refresh_id="bench"
        )
    seconds = time.perf_counter() - started
    print(
        f"  published {summary.total_assignments:,} assignments of {summary.total_customers:,}"
        f" customers in {seconds:.1f} s ({summary.total_assignments / seconds:,.0f} rows/s)"
    )
    engine.dispose()
    return key.secret, seconds


# --- serving and wrk -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(env: dict[str, str], workers: int) -> Iterator[str]:
    port = free_port()
    cmd = [
        sys.executable, "-m", "uvicorn", "kli_lookup:app_factory", "--factory",
        "--app-dir", str(Path(__file__).resolve().parent), "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(workers), "--loop", "uvloop",
        "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("server did not start")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


LUA = """
math.randomseed(%(seed)d)
local n = %(n)d
request = function()
  local path = string.format("/kli/v1/partners/%(partner)s/ucics/C%%07d/kli_assignments",
    math.random(0, n - 1))
  return wrk.format("GET", path, {["Authorization"] = "Bearer %(key)s"})
end
"""


def wrk(url: str, script: Path, duration: int, connections: int = 50) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    lat = {}
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)", out, re.M)
        assert m is not None, out
        value = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
        lat[pct] = value
    return {
        "rps": rps,
        "p50": lat["50"],
        "p99": lat["99"],
        "errors": int(errors.group(1)) if errors else 0,
    }


def sample_body(url: str, key: str) -> bytes:
    import httpx

    resp = httpx.get(
        f"{url}/kli/v1/partners/{PARTNER}/ucics/C0000001/kli_assignments",
        headers={"Authorization": f"Bearer {key}"},
    )
    resp.raise_for_status()
    return resp.content


def cpu_child(mode: str, customers: int, key: str) -> None:
    """In a fresh process: CPU time per request through the whole ASGI app, no network, no wrk,
    for ``/healthz`` (the framework's floor) and the one-customer lookup."""
    import asyncio
    import json
    import random

    os.environ["KLI_BENCH_MODE"] = mode
    app = app_factory()
    auth = b"Bearer " + key.encode()

    async def call(path: str) -> int:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
            "root_path": "", "headers": [(b"host", b"bench"), (b"authorization", auth)],
            "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
        }  # fmt: skip
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        return int(sent[0]["status"])

    def lookup() -> str:
        return (
            f"/kli/v1/partners/{PARTNER}/ucics/C{random.randrange(customers):07d}/kli_assignments"
        )

    async def run() -> dict[str, float]:
        out = {}
        async with app.router.lifespan_context(app):
            for label, path in (("healthz", lambda: "/healthz"), ("lookup", lookup)):
                for _ in range(300):
                    assert await call(path()) == 200
                n = 3000
                started = time.process_time()
                for _ in range(n):
                    await call(path())
                out[label] = (time.process_time() - started) / n * 1e6
        return out

    print(json.dumps(asyncio.run(run())))


def cpu_per_request(env: dict[str, str], modes: list[str], customers: int, key: str) -> None:
    import json

    for mode in modes:
        done = subprocess.run(
            [sys.executable, __file__, "--cpu-child", mode, "--customers", str(customers),
             "--key", key],
            env={**os.environ, **env}, capture_output=True, text=True, check=True,
        )  # fmt: skip
        got = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"  cpu/request {mode:<9} /healthz {got['healthz']:5.0f} us   lookup"
            f" {got['lookup']:5.0f} us  (in-process ASGI, no network)"
        )


def measure(
    label: str, env: dict[str, str], args: argparse.Namespace, key: str, tmp: Path
) -> dict[str, Any]:
    script = tmp / "lookup.lua"
    script.write_text(LUA % {"seed": 11, "n": args.customers, "partner": PARTNER, "key": key})
    body_path = tmp / "body.json"
    body_path.unlink(missing_ok=True)
    results: dict[str, Any] = {}
    for workers in args.workers:
        for mode in [*args.modes, "bare"]:
            runs = []
            mode_env = {**env, "KLI_BENCH_MODE": mode, "KLI_BENCH_BODY": str(body_path)}
            with server(mode_env, workers) as url:
                if mode != "bare" and not body_path.exists():
                    body_path.write_bytes(sample_body(url, key))
                wrk(url, script, 3)  # warm-up: connections, caches, page cache
                for _ in range(args.runs):
                    runs.append(wrk(url, script, args.duration))
            med = {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50", "p99")}
            med["errors"] = sum(r["errors"] for r in runs)
            results[(workers, mode)] = med
            print(
                f"  {label:<10} {workers} worker(s) {mode:<7} {med['rps']:>9,.0f} req/s"
                f"   p50 {med['p50']:6.2f} ms   p99 {med['p99']:6.2f} ms"
                f"   non-2xx {med['errors']}   load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        bare = results[(workers, "bare")]["rps"]
        for mode in args.modes:
            ratio = results[(workers, mode)]["rps"] / bare
            print(f"  {label:<10} {workers} worker(s) {mode:<7} ratio to bare ASGI: {ratio:.2f}")
    print(f"  response body: {body_path.stat().st_size} bytes")
    return results


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--duration", type=int, default=15, help="Seconds per wrk run.")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument(
        "--workers", default="1", help="uvicorn worker processes; a list (1,2) measures each."
    )
    p.add_argument(
        "--modes",
        default="shipped,fastapi",
        help="shipped: the app as shipped (fast path; SQLite read on the event loop, PostgreSQL"
        " on the thread pool); thread: SQLite read on the thread pool; fastapi: without the fast"
        " path (every request through FastAPI's routing and dependencies).",
    )
    p.add_argument(
        "--data-dir",
        help="Keep the loaded SQLite database here and reuse it on the next run (same"
        " --customers); default: a temporary directory.",
    )
    p.add_argument("--skip-postgres", action="store_true")
    p.add_argument("--cpu-child", help=argparse.SUPPRESS)
    p.add_argument("--key", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.cpu_child:
        sys.path.insert(0, str(ROOT))
        cpu_child(args.cpu_child, args.customers, args.key)
        return 0
    args.modes = [m for m in args.modes.split(",") if m]
    args.workers = [int(w) for w in str(args.workers).split(",") if w]
    if shutil.which("wrk") is None:
        print("wrk is required: apt-get install -y wrk", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))
    with contextlib.ExitStack() as stack:
        if args.data_dir:
            tmp = Path(args.data_dir)
            tmp.mkdir(parents=True, exist_ok=True)
        else:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kli-bench-")))
        url = f"sqlite:///{tmp / 'serving.db'}"
        print("SQLite:")
        saved = tmp / f"key-{args.customers}"
        table = None
        if saved.exists():
            key = saved.read_text().strip()
            print(f"  reusing the database loaded in {tmp} ({args.customers:,} customers)")
        else:
            for stale in tmp.glob("serving.db*"):
                stale.unlink()
            table = generate(args.customers)
            key, _ = load(url, table)
            if args.data_dir:
                saved.write_text(key)
        size = sum(f.stat().st_size for f in tmp.glob("serving.db*"))
        print(f"  database size {size / 2**30:.2f} GiB")
        # env=test keeps the refresh scheduler idle; WARNING skips the per-request access log
        env = {"SIGHTLINE_DATABASE_URL": url, "SIGHTLINE_DATA_DIR": str(tmp),
               "SIGHTLINE_LOG_LEVEL": "WARNING", "SIGHTLINE_ENV": "test"}  # fmt: skip
        cpu_per_request(env, args.modes, args.customers, key)
        measure("sqlite", env, args, key, tmp)
        if not args.skip_postgres:
            from tests.fixtures.postgres import postgres_server

            print("PostgreSQL:")
            with postgres_server() as pg:
                pg_url = pg.url("postgres")
                key, _ = load(pg_url, table if table is not None else generate(args.customers))
                modes = [m for m in args.modes if m != "thread"]
                pg_args = argparse.Namespace(**{**vars(args), "modes": modes})
                env = {**env, "SIGHTLINE_DATABASE_URL": pg_url}
                measure("postgresql", env, pg_args, key, tmp)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
