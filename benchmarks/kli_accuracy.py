"""KLI accuracy against the synthetic ground truth: synth → ingest → enrich → refresh.

Measures held-away product precision and recall (the (ucic, product, institution) leaves under
39668008 Competitive FI Products vs ``truth/held_away``), held-away banks (8847985), competitive
activity (P2P, BNPL, crypto, payday, EWA apps) and life events vs ``truth/life_events``.

    .venv/bin/python benchmarks/kli_accuracy.py --customers 5000 --months 6

Targets (issue 5, item 8): held-away product precision >= 0.98 and recall >= 0.95.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq
from sqlalchemy import text

from sightline.config import Settings
from sightline.ingest import service as ingest
from sightline.ingest.schemas import FEEDS
from sightline.insights.refresh import run_refresh
from sightline.insights.repository import Db, current_assignments
from sightline.partners import service as partners
from sightline.store import db
from sightline.synth.generator import SynthConfig, generate
from sightline.taxonomy import load_taxonomy

PARTNER = "bench"
PRODUCTS = ("mortgage", "heloc", "auto_loan", "credit_card", "student_loan", "personal_loan",
            "investment", "insurance", "deposit")  # fmt: skip
ACTIVITY = ("p2p", "bnpl", "crypto", "payday", "ewa")
#: a life event counts as recent (and so should be detected) within this many days of as_of
LIFE_WINDOW = 120


def prf(got: set[tuple[str, ...]], truth: set[tuple[str, ...]]) -> tuple[float, float, int, int]:
    tp = len(got & truth)
    precision = tp / len(got) if got else 1.0
    recall = tp / len(truth) if truth else 1.0
    return precision, recall, len(got), len(truth)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--customers", type=int, default=5000)
    ap.add_argument("--months", type=int, default=6)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument(
        "--show-misses",
        type=int,
        default=0,
        help="print this many wrong and missed held-away pairs with a descriptor",
    )
    args = ap.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="kli-accuracy-"))
    work.mkdir(parents=True, exist_ok=True)
    synth_dir = work / "synth"
    settings = Settings(env="development", data_dir=work / "data", log_level="WARNING")
    url = settings.resolved_database_url
    db.upgrade(url)
    engine = db.make_engine(url)
    sessions = db.make_sessionmaker(engine)
    with db.transaction(sessions) as s:
        if s.execute(text("SELECT 1 FROM partners WHERE partner_id = :p"), {"p": PARTNER}).first():
            pass
        else:
            partners.create_partner(s, PARTNER, name="Benchmark FI")

    t0 = time.perf_counter()
    config = SynthConfig(customers=args.customers, months=args.months, seed=args.seed,
                         out=synth_dir, format="parquet")  # fmt: skip
    generate(config)
    t_synth = time.perf_counter() - t0
    t0 = time.perf_counter()
    for feed in FEEDS:
        folder = synth_dir / feed
        if folder.is_dir():
            for f in ingest.list_files(folder):
                ingest.ingest_path(sessions, settings, PARTNER, feed, f, alert=False)
    t_ingest = time.perf_counter() - t0
    result = run_refresh(settings, sessions, PARTNER, full=True)
    as_of = result.as_of

    tax = load_taxonomy()
    with db.transaction(sessions) as s:
        rows = [(u, c, ev) for u, c, _, _, _, ev in current_assignments(Db.of(s), PARTNER)]
    keys = [(u, tax.get(int(c)).key) for u, c, _ in rows if int(c) in tax]
    evidence = {(u, tax.get(int(c)).key): e for u, c, e in rows if int(c) in tax}

    got_prod = {(u, *k.split(":")[1:3]) for u, k in keys
                if k.startswith("competitive_product:") and k.count(":") == 2}  # fmt: skip
    got_bank = {(u, k.split(":", 1)[1]) for u, k in keys if k.startswith("competitive_bank:")}
    got_act = {(u, k.split(":", 1)[1]) for u, k in keys if k.startswith("competitive_activity:")}
    got_life = {(u, k.split(":", 1)[1]) for u, k in keys if k.startswith("life_event:")}

    held = pq.read_table(synth_dir / "truth" / "held_away.parquet").to_pylist()
    # a product counts as held when the customer still banks here at as_of
    active = {u for u, _ in keys}
    t_prod = {(h["ucic"], h["product"], h["institution_id"]) for h in held
              if h["product"] in PRODUCTS and h["ucic"] in active
              and _since(h["since"]) <= as_of}  # fmt: skip
    bank_ids = {k.split(":", 1)[1] for k in tax.by_key if k.startswith("competitive_bank:")}
    t_bank = {(u, i) for u, _, i in t_prod if i in bank_ids}
    t_act = {(h["ucic"], h["institution_id"]) for h in held
             if h["product"] in ACTIVITY and h["ucic"] in active}  # fmt: skip
    life = pq.read_table(synth_dir / "truth" / "life_events.parquet").to_pylist()
    start = as_of - timedelta(days=LIFE_WINDOW)
    t_life = {(e["ucic"], e["event"]) for e in life
              if start < _since(e["date"]) <= as_of and e["ucic"] in active}  # fmt: skip

    print(f"customers={args.customers} months={args.months} seed={args.seed} as_of={as_of}")
    print(f"synth {t_synth:.1f}s  ingest {t_ingest:.1f}s  refresh {result.duration_seconds:.1f}s "
          f"{result.timings}  assignments={result.assignments:,}")  # fmt: skip
    for name, got, truth in (
        ("held-away products (39668008)", got_prod, t_prod),
        ("held-away banks (8847985)", got_bank, t_bank),
        ("competitive activity", got_act, t_act),
    ):
        p, r, g, t = prf(got, truth)
        print(f"{name:32s} precision={p:.4f} recall={r:.4f} (assigned {g:,}, true {t:,})")
    by_product = Counter(p for _, p, _ in t_prod - got_prod)
    if by_product:
        print("  missed held-away by product:", dict(by_product.most_common()))
    wrong = Counter(p for _, p, _ in got_prod - t_prod)
    if wrong:
        print("  wrong held-away by product:", dict(wrong.most_common()))
    if args.show_misses:
        _show_misses(synth_dir, got_prod, t_prod, evidence, args.show_misses)
    for event in sorted({e for _, e in t_life} | {e for _, e in got_life}):
        got_e = {x for x in got_life if x[1] == event}
        t_e = {x for x in t_life if x[1] == event}
        p, r, g, t = prf(got_e, t_e)
        print(f"life event {event:21s} precision={p:.3f} recall={r:.3f} (assigned {g}, true {t})")
    engine.dispose()
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


def _show_misses(
    synth_dir: Path,
    got: set[tuple[str, ...]],
    truth: set[tuple[str, ...]],
    evidence: dict[tuple[str, str], str],
    limit: int,
) -> None:
    """Wrong pairs with the first evidence transaction's descriptor and its true payee; missed
    pairs with their payments' descriptors (how many the customer made in the data)."""
    import duckdb

    con = duckdb.connect()
    txns = {
        r[0]: r[1:]
        for r in con.execute(
            f"SELECT t.txn_id, t.ucic, t.posted_at, t.description, r.competitive_fi, r.fi_product"
            f" FROM read_parquet('{synth_dir}/transactions/*.parquet') t"
            f" JOIN read_parquet('{synth_dir}/truth/transactions_truth-*.parquet') r"
            f" USING (txn_id) WHERE r.competitive_fi IS NOT NULL OR t.channel = 'ach'"
        ).fetchall()
    }
    print(f"  wrong held-away pairs (first {limit}):")
    for u, product, inst in sorted(got - truth)[:limit]:
        ev = json.loads(evidence.get((u, f"competitive_product:{product}:{inst}"), "{}"))
        ids = ev.get("txn_ids") or []
        first = txns.get(ids[0]) if ids else None
        line = f"{first[2][:70]} (true: {first[3]} {first[4]})" if first else "?"
        print(f"    {u} {product:13s} {inst:32s} n={ev.get('count')} | {line}")
    by_pair: dict[tuple[str, str, str], list[tuple[object, str]]] = {}
    for u, day, desc, fi, product in txns.values():
        if fi:
            by_pair.setdefault((u, product, fi), []).append((day, desc))
    print(f"  missed held-away pairs (first {limit}):")
    for u, product, inst in sorted(truth - got)[:limit]:
        pays = sorted(by_pair.get((u, product, inst), []))
        line = f"{pays[-1][1][:70]} (last {pays[-1][0]})" if pays else "no payment in the data"
        print(f"    {u} {product:13s} {inst:32s} payments={len(pays)} | {line}")


def _since(value: object) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


if __name__ == "__main__":
    main()
