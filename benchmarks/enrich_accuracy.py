"""Merchant-cleansing accuracy (issue 4 item 8).

(a) the synthetic generator's ground truth: ``sightline synth`` writes the feeds and
    ``truth/transactions_truth-*.parquet``; every transaction is enriched and compared with its
    true merchant, category, kind, competing institution and product;
(b) the hand-labelled set ``tests/data/labelled_descriptors.csv``.

    .venv/bin/python benchmarks/enrich_accuracy.py [--customers 2000] [--months 3]
        [--synth-dir DIR]   (reuse an existing ``sightline synth --format parquet`` output)

Prints the figures recorded in docs/benchmarks.md ("Merchant cleansing"): merchant accuracy strict
(the target) and truncation-aware (``sightline.enrich.accuracy.truncated_name``: also right when
the name is exactly what the line shows of a name cut at a network field width); misses that
only the truncation-aware figure forgives are marked "(truncated)".
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from sightline.enrich.accuracy import Scores, evaluate_labelled, read_labelled, score
from sightline.enrich.engine import default_enricher

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "tests" / "data" / "labelled_descriptors.csv"
TARGETS = {"merchant_accuracy": 0.95, "competing_fi_precision": 0.98, "competing_fi_recall": 0.95}


def synthetic(directory: Path, *, show_misses: int) -> dict[str, Scores]:
    con = duckdb.connect()
    rows = con.execute(
        f"""
        SELECT t.description, t.direction, t.channel, t.mcc, r.merchant_name AS merchant,
               r.category_group, r.category, r.transaction_kind AS kind,
               r.competitive_fi AS fi, r.fi_product AS product, r.is_local
        FROM read_parquet('{directory}/transactions/*.parquet') t
        JOIN read_parquet('{directory}/truth/transactions_truth-*.parquet') r USING (txn_id)
        """
    ).fetchall()
    names = [
        "description",
        "direction",
        "channel",
        "mcc",
        "merchant",
        "category_group",
        "category",
        "kind",
        "fi",
        "product",
        "is_local",
    ]
    engine = default_enricher()
    out = {"all": Scores(), "local": Scores(), "directory": Scores()}
    for values in rows:
        row = dict(zip(names, values, strict=True))
        got = engine.enrich(
            row["description"], direction=row["direction"], mcc=row["mcc"], channel=row["channel"]
        )
        truth = {
            k: row[k] for k in ("merchant", "category_group", "category", "kind", "fi", "product")
        }
        score(out["all"], got, truth, description=row["description"], keep_misses=show_misses)
        part = "local" if row["is_local"] else "directory"
        score(out[part], got, truth, description=row["description"], keep_misses=0)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--synth-dir", type=Path, default=None)
    parser.add_argument("--show-misses", type=int, default=15)
    args = parser.parse_args()

    report: dict[str, object] = {}
    started = time.perf_counter()
    labelled = evaluate_labelled(
        default_enricher(), read_labelled(LABELLED), keep_misses=args.show_misses
    )
    report["labelled"] = labelled.summary()

    with tempfile.TemporaryDirectory() as tmp:
        synth_dir = args.synth_dir
        if synth_dir is None:
            synth_dir = Path(tmp) / "synth"
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "from sightline.cli import app; app()",
                    "synth",
                    "--customers",
                    str(args.customers),
                    "--months",
                    str(args.months),
                    "--out",
                    str(synth_dir),
                    "--format",
                    "parquet",
                ],
                check=True,
                capture_output=True,
            )
        parts = synthetic(synth_dir, show_misses=args.show_misses)
    report["synthetic"] = {name: s.summary() for name, s in parts.items()}
    report["seconds"] = round(time.perf_counter() - started, 1)

    print(json.dumps(report, indent=2))
    print("\nlabelled-set misses (first few):")
    for miss in labelled.misses[: args.show_misses]:
        print(f"  {miss['description'][:70]:70} {'; '.join(miss['problems'])}")
    print("\nsynthetic misses (first few):")
    for miss in parts["all"].misses[: args.show_misses]:
        print(f"  {miss['description'][:70]:70} {'; '.join(miss['problems'])}")
    failed = [
        f"{where} {k}={v:.4f} < {TARGETS[k]}"
        for where, summary in (
            ("labelled", labelled.summary()),
            ("synthetic", parts["all"].summary()),
        )
        for k, v in summary.items()
        if k in TARGETS and v < TARGETS[k]
    ]
    print("\ntargets:", "all met" if not failed else "; ".join(failed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
