"""Accuracy of the Enricher against labelled descriptors (the benchmark and its test share this).

Merchant names compare case-, punctuation- and apostrophe-insensitively (``Joe's Diner`` ==
``JOES DINER``; ``&`` == ``and``) and without a trailing legal form (``Atlas Industries Inc`` ==
``Atlas Industries``); a row whose truth has no merchant (fees, ATM, checks, own
transfers) is right only when the Enricher gives none either. Competing-FI precision is over
the rows where the Enricher names an institution, recall over the rows whose truth names one;
both compare institution ids.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sightline.enrich.engine import Enricher, Enrichment

_WORD = re.compile(r"[^a-z0-9]+")


def same_name(a: str | None, b: str | None) -> bool:
    return _norm(a) == _norm(b)


def _norm(name: str | None) -> str:
    if not name:
        return ""
    text = name.lower().replace("'", "").replace("’", "").replace("&", " and ")
    text = _WORD.sub(" ", text).strip()
    return _LEGAL_FORM.sub("", text).strip()


_LEGAL_FORM = re.compile(r"\s+(?:inc|llc|corp|corporation|co|ltd|company)$")


@dataclass
class Scores:
    rows: int = 0
    merchant_ok: int = 0
    category_ok: int = 0
    kind_ok: int = 0
    fi_predicted: int = 0
    fi_true: int = 0
    fi_hits: int = 0
    product_ok: int = 0
    misses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def merchant_accuracy(self) -> float:
        return self.merchant_ok / self.rows if self.rows else 0.0

    @property
    def category_accuracy(self) -> float:
        return self.category_ok / self.rows if self.rows else 0.0

    @property
    def kind_accuracy(self) -> float:
        return self.kind_ok / self.rows if self.rows else 0.0

    @property
    def fi_precision(self) -> float:
        return self.fi_hits / self.fi_predicted if self.fi_predicted else 1.0

    @property
    def fi_recall(self) -> float:
        return self.fi_hits / self.fi_true if self.fi_true else 1.0

    @property
    def product_accuracy(self) -> float:
        return self.product_ok / self.fi_hits if self.fi_hits else 1.0

    def summary(self) -> dict[str, float | int]:
        return {
            "rows": self.rows,
            "merchant_accuracy": round(self.merchant_accuracy, 4),
            "category_accuracy": round(self.category_accuracy, 4),
            "kind_accuracy": round(self.kind_accuracy, 4),
            "competing_fi_precision": round(self.fi_precision, 4),
            "competing_fi_recall": round(self.fi_recall, 4),
            "fi_product_accuracy": round(self.product_accuracy, 4),
        }


def score(
    scores: Scores,
    got: Enrichment,
    truth: Mapping[str, str | None],
    *,
    description: str = "",
    keep_misses: int = 50,
) -> None:
    """Add one row: ``truth`` has merchant, category_group, category, kind, fi, product (the
    keys that are absent are not scored)."""
    scores.rows += 1
    problems = []
    if same_name(got.merchant_name, truth.get("merchant")):
        scores.merchant_ok += 1
    else:
        problems.append(f"merchant {got.merchant_name!r} != {truth.get('merchant')!r}")
    if "category" in truth:
        want = (truth.get("category_group") or None, truth.get("category") or None)
        if (got.category_group, got.category) == want:
            scores.category_ok += 1
        else:
            problems.append(f"category {got.category_group}/{got.category} != {want[0]}/{want[1]}")
    if "kind" in truth:
        if got.transaction_kind == truth.get("kind"):
            scores.kind_ok += 1
        else:
            problems.append(f"kind {got.transaction_kind} != {truth.get('kind')}")
    want_fi = truth.get("fi") or None
    if got.competitive_fi_id:
        scores.fi_predicted += 1
    if want_fi:
        scores.fi_true += 1
    if got.competitive_fi_id and got.competitive_fi_id == want_fi:
        scores.fi_hits += 1
        if got.fi_product == (truth.get("product") or None):
            scores.product_ok += 1
        else:
            problems.append(f"product {got.fi_product} != {truth.get('product')}")
    elif got.competitive_fi_id or want_fi:
        problems.append(f"fi {got.competitive_fi_id} != {want_fi}")
    if problems and len(scores.misses) < keep_misses:
        scores.misses.append({"description": description, "problems": problems})


def read_labelled(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def evaluate_labelled(
    enricher: Enricher, rows: Iterable[Mapping[str, str]], *, keep_misses: int = 50
) -> Scores:
    """Score the labelled set (``tests/data/labelled_descriptors.csv`` columns)."""
    scores = Scores()
    for row in rows:
        got = enricher.enrich(
            row["description"],
            direction=row.get("direction") or None,
            mcc=row.get("mcc") or None,
            channel=row.get("channel") or None,
        )
        score(scores, got, row, description=row["description"], keep_misses=keep_misses)
    return scores
