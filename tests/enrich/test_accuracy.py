"""The labelled descriptor set (issue 4 item 8): targets asserted on the packaged directory."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from sightline.enrich.accuracy import Scores, evaluate_labelled, read_labelled, same_name
from sightline.enrich.engine import default_enricher
from sightline.enrich.kinds import KINDS

LABELLED = Path(__file__).resolve().parents[1] / "data" / "labelled_descriptors.csv"


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return read_labelled(LABELLED)


@pytest.fixture(scope="module")
def scores(rows: list[dict[str, str]]) -> Scores:
    return evaluate_labelled(default_enricher(), rows, keep_misses=1000)


def test_the_set_is_large_and_covers_every_kind(rows: list[dict[str, str]]) -> None:
    assert len(rows) >= 300
    kinds = Counter(r["kind"] for r in rows)
    assert set(kinds) == set(KINDS)
    local = [r for r in rows if r["merchant"] and r["kind"] == "card_purchase"]
    assert len(local) >= 150
    assert sum(1 for r in rows if r["fi"]) >= 60
    assert len({(r["description"], r["direction"]) for r in rows}) == len(rows)


def test_targets(scores: Scores) -> None:
    misses = "\n".join(f"{m['description']}: {m['problems']}" for m in scores.misses)
    assert scores.merchant_accuracy >= 0.95, misses
    assert scores.fi_precision >= 0.98, misses
    assert scores.fi_recall >= 0.95, misses
    assert scores.kind_accuracy >= 0.95, misses
    assert scores.category_accuracy >= 0.90, misses


def test_same_name_is_lenient_on_case_and_punctuation_only() -> None:
    assert same_name("Joe's Diner", "JOES DINER")
    assert same_name("Barnes & Noble", "Barnes and Noble")
    assert same_name(None, "")
    assert not same_name("Joes Diner", "Joes Dinner")
    assert not same_name("Starbucks", None)


def test_scores_count_what_they_claim(rows: list[dict[str, str]]) -> None:
    engine = default_enricher()
    sample = rows[:40]
    good = evaluate_labelled(engine, sample)
    assert good.rows == 40
    broken = [dict(r, merchant=(r["merchant"] + " X") if r["merchant"] else "X") for r in sample]
    assert evaluate_labelled(engine, broken).merchant_accuracy == 0.0
