"""The labelled descriptor set (issue 4 item 8): targets asserted on the packaged directory."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from sightline.enrich.accuracy import (
    Scores,
    evaluate_labelled,
    read_labelled,
    same_name,
    truncated_name,
)
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


@pytest.mark.parametrize(
    ("predicted", "truth", "line", "expected"),
    [
        # the field (prefix + name) is 22 or 25 characters and cut inside a word
        ("Main St Espresso", "Main St Espresso Bar", "SQ *MAIN ST ESPRESSO B", True),
        ("Zeeks Pizza Twin", "Zeeks Pizza Twin Oaks", "SQ *ZEEKS PIZZA TWIN O BALTIMORE MD", True),
        # the cut fell on the space after a word (22 - 1)
        ("Southpoint Coffee", "Southpoint Coffee Roasters", "SQ *SOUTHPOINT COFFEE 3285 OR", True),
        # apostrophe dropped after the 25-character cut
        ("Jessicas Family", "Jessica's Family Restaurant", "JESSICAS FAMILY RESTAURA TX", True),
        # ACH company name cut at 16, the cut word completed as the truth spells it
        (
            "Meridian Insurance",
            "Meridian Insurance Agency",
            "MERIDIAN INSURAN DES:SALARY ID:1",
            True,
        ),
        # shorter than what the line shows: a visible word dropped
        ("Zeeks Pizza", "Zeeks Pizza Twin Oaks", "SQ *ZEEKS PIZZA TWIN O BALTIMORE MD", False),
        ("Zeeks", "Zeeks Pizza Lakeside", "SQ *ZEEKS PIZZA LAKESI 6815", False),
        # longer than the line: guessed words
        (
            "Meridian Insurance Agency",
            "Meridian Insurance Agency LLC",
            "MERIDIAN INSURAN PPD",
            False,
        ),
        # the fragment kept is not a complete word
        ("The Willow Creek B", "The Willow Creek Bean", "SQ *THE WILLOW CREEK B AUSTIN TX", False),
        # the full name is in the line: nothing was cut
        (
            "Zeeks Pizza",
            "Zeeks Pizza Lighthouse",
            "ZEEKS PIZZA LIGHTHOUSE    INDIANAPOLIS IN",
            False,
        ),
        # cut, but not at a network width
        ("Willow Creek", "Willow Creek Grill", "WILLOW CREEK GR AUSTIN TX", False),
    ],
)
def test_truncation_aware_name(predicted: str, truth: str, line: str, expected: bool) -> None:
    assert truncated_name(predicted, truth, line) is expected
