"""Synthetic FI generation speed: transactions written per minute, and the demo default.

    .venv/bin/python benchmarks/synth.py [--customers 40000] [--months 6] [--repeat 1]

Prints medians over the repeats. Generation time is wall-clock for everything ``generate()``
does (catalog, population, every feed and the truth written to disk), not just transactions.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from sightline.enrich.directory import load_directory
from sightline.synth.generator import SynthConfig, SynthResult, generate


def run(customers: int, months: int, seed: int, fmt: str, repeat: int) -> list[SynthResult]:
    results = []
    for i in range(repeat):
        out = Path(tempfile.mkdtemp(prefix="sightline-synth-bench-"))
        try:
            config = SynthConfig(
                customers=customers,
                months=months,
                seed=seed + i,
                out=out / "fi",
                format="csv" if fmt == "csv" else "parquet",
            )
            results.append(generate(config))
        finally:
            shutil.rmtree(out, ignore_errors=True)
    return results


def report(label: str, results: list[SynthResult]) -> None:
    secs = statistics.median(r.seconds for r in results)
    txns = statistics.median(r.transactions for r in results)
    per_min = txns / secs * 60
    per_cust = statistics.median(r.transactions_per_individual_month for r in results)
    print(f"{label}: {int(txns):,} transactions in {secs:.1f} s (median of {len(results)})")
    print(f"  transactions written per minute: {per_min / 1e6:.1f} million")
    print(f"  transactions per individual customer per month: {per_cust:.1f}")
    r = results[0]
    print(
        f"  also written: {r.account_rows:,} account snapshot rows, {r.events:,} events, "
        f"{r.telemetry:,} telemetry rows, {r.consents:,} consent changes"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=40_000)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--demo-repeat", type=int, default=3)
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    started = time.perf_counter()
    load_directory()
    print(f"merchant directory loaded in {time.perf_counter() - started:.1f} s (once per process)")
    report(
        "demo default 5,000 customers x 6 months",
        run(5000, 6, args.seed, args.format, args.demo_repeat),
    )
    label = f"{args.customers:,} customers x {args.months} months ({args.format})"
    report(label, run(args.customers, args.months, args.seed, args.format, args.repeat))


if __name__ == "__main__":
    main()
