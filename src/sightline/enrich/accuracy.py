"""Accuracy of the Enricher against labelled descriptors (the benchmark and its test share this).

Merchant names compare case-, punctuation- and apostrophe-insensitively (``Joe's Diner`` ==
``JOES DINER``; ``&`` == ``and``) and without a trailing legal form (``Atlas Industries Inc`` ==
``Atlas Industries``); a row whose truth has no merchant (fees, ATM, checks, own
transfers) is right only when the Enricher gives none either. Competing-FI precision is over
the rows where the Enricher names an institution, recall over the rows whose truth names one;
both compare institution ids.

Truncation-aware merchant accuracy (reported next to the strict one, never instead of it): card
networks print the merchant field at a fixed width (22 or 25 characters with the processor
prefix, ``SQ *MAIN ST ESPRESSO B``) and NACHA the company name at 16, so the end of a long local
name is simply not in the line. A miss counts as right in the truncation-aware figure only when
(1) the line shows the true name cut at one of those widths (the processor prefix plus the
visible part is exactly 16, 22 or 25 characters, or one less when the cut fell on a space), and
(2) the prediction equals the visible part up to its last complete word (``Main St Espresso``)
or that part with the cut word completed as the truth spells it (``MERIDIAN INSURAN`` →
``Meridian Insurance`` for "Meridian Insurance Agency") - a word prefix of the truth that reaches
no further than the line does. Every other difference stays a miss.
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

# The widths at which networks cut the merchant / company field (card 22 or 25, ACH 16).
FIELD_WIDTHS = (16, 22, 25)
_PREFIX = re.compile(r"(?:^|\s)((?:[A-Z0-9]{1,4} ?\* ?)?)$")  # "SQ *", "TST* " before the name
_STATEMENT_CLEAN = re.compile(r"[^A-Z0-9&]+")


def _statement(text: str) -> str:
    """Upper case, apostrophes dropped, other punctuation as single spaces."""
    upper = text.upper().replace("'", "").replace("’", "")
    return _STATEMENT_CLEAN.sub(" ", upper).strip()


def truth_words_apostrophes(truth: str, visible: int) -> int:
    """Apostrophes in the part of ``truth`` whose statement form is ``visible`` characters."""
    count = 0
    seen = 0
    for ch in _SPACES.sub(" ", truth.upper().replace("’", "'")).strip():
        if seen >= visible:
            break
        if ch == "'":
            count += 1
        else:
            seen += 1
    return count


_SPACES = re.compile(r"\s+")


def truncated_name(predicted: str | None, truth: str | None, description: str) -> bool:
    """Whether ``predicted`` is exactly what can be read of ``truth`` in a line that shows it cut
    at a network field width (see the module docstring); False when the full name is there."""
    if not predicted or not truth or same_name(predicted, truth):
        return False
    want = _statement(truth)
    got = _statement(predicted)
    if not want.startswith(got + " "):
        return False  # not a word prefix of the truth
    raw = " ".join(description.upper().replace("’", "'").split())
    line = raw.replace("'", "")
    # raw_end[i]: index in ``raw`` just past line[i - 1] (widths count the dropped apostrophes).
    raw_end = [0]
    for i, ch in enumerate(raw):
        if ch != "'":
            raw_end.append(i + 1)
    first = want.split(" ", 1)[0]
    at = line.find(first)
    while at >= 0:
        # The visible part: the longest prefix of the true name the line shows from here.
        n = 0
        while n < len(want) and at + n < len(line) and line[at + n] == want[n]:
            n += 1
        if n and want[n - 1] == " ":
            n -= 1  # the space after a complete word is not part of the name
        cut = n < len(want) and (at + n == len(line) or line[at + n] == " ")
        if not cut:
            at = line.find(first, at + 1)
            continue
        if want[n] == " ":
            complete = want[:n]  # the field ended right after a word
        else:
            complete = want[:n].rsplit(" ", 1)[0] if " " in want[:n] else ""
        # ... or that part with the cut word completed as the truth spells it (INSURAN -> Insurance)
        completed = want[: n + len(want[n:].split(" ", 1)[0])] if want[n] != " " else complete
        head = _PREFIX.search(line[:at])
        if got in (complete, completed) and head is not None:
            width = len(head.group(1)) + raw_end[at + n] - raw_end[at]
            # an acquirer that drops apostrophes does so after the cut (JESSICAS FAMILY RESTAURA)
            dropped = truth_words_apostrophes(truth, n) if width == len(head.group(1)) + n else 0
            if any(
                w in FIELD_WIDTHS or (want[n] == " " and w + 1 in FIELD_WIDTHS)
                for w in {width, width + dropped}
            ):
                return True
        at = line.find(first, at + 1)
    return False


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
    merchant_truncated_ok: int = 0  # misses that are the visible part of a truncated name
    misses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def merchant_accuracy(self) -> float:
        return self.merchant_ok / self.rows if self.rows else 0.0

    @property
    def merchant_accuracy_truncation_aware(self) -> float:
        ok = self.merchant_ok + self.merchant_truncated_ok
        return ok / self.rows if self.rows else 0.0

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
            "merchant_accuracy_truncation_aware": round(self.merchant_accuracy_truncation_aware, 4),
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
    elif truncated_name(got.merchant_name, truth.get("merchant"), description):
        scores.merchant_truncated_ok += 1  # right in the truncation-aware figure only
        problems.append(f"merchant {got.merchant_name!r} != {truth.get('merchant')!r} (truncated)")
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
