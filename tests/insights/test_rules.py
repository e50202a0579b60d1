"""Rules are validated data: the packaged file loads, bad rules fail naming the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from sightline.insights.rules import (
    CompetitiveProductRule,
    RuleError,
    load_rules,
    parse_rules,
    slugify,
)

THRESHOLD = {"window_days": 90, "min_count": 2}


def test_packaged_rules_cover_every_kind() -> None:
    rules = load_rules()
    kinds = {r.kind for r in rules.rules}
    assert kinds == {
        "merchant_activity",
        "category_spend",
        "competitive_product",
        "competitive_activity",
        "txn_pattern",
        "product_holding",
        "service_usage",
        "band",
        "life_event",
        "score",
    }
    held = [r for r in rules.rules if isinstance(r, CompetitiveProductRule)]
    # recurrence keeps held-away precision high
    assert all(r.threshold.min_count >= 2 and r.threshold.min_span_days > 0 for r in held)
    assert 90 in rules.txn_windows()
    assert rules.lookback_days() >= 365


def test_packaged_keys_exist_in_the_taxonomy() -> None:
    from sightline.taxonomy import load_taxonomy

    tax = load_taxonomy()
    fixed = [
        (rule, key)
        for rule, key in load_rules().all_keys()
        if "{" not in key or key.startswith(("segment:", "predictive:"))
    ]
    missing = []
    for rule, key in fixed:
        if "{band}" in key:
            probes = [key.replace("{band}", b) for b in ("1", "low")]
            if not any(tax.by_key.get(p) for p in probes):
                missing.append((rule, key))
        elif key not in tax.by_key:
            missing.append((rule, key))
    assert missing == []


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {"id": "x", "kind": "merchant_activity", "threshold": {"window_days": 0}},
            "threshold.window_days",
        ),
        (
            {"id": "x", "kind": "merchant_activity", "threshold": THRESHOLD, "key": "m:{nope}"},
            "unknown field(s) nope",
        ),
        ({"id": "Bad Id", "kind": "band", "attribute": "age", "edges": [1], "key": "k"}, "id"),
        ({"id": "x", "kind": "band", "attribute": "age", "edges": [5, 1], "key": "k"}, "ascending"),
        ({"id": "x", "kind": "telepathy"}, "kind"),
        (
            {"id": "x", "kind": "txn_pattern", "filter": {}, "threshold": THRESHOLD, "key": "k"},
            "empty filter",
        ),
        (
            {
                "id": "x",
                "kind": "competitive_product",
                "threshold": {"window_days": 30, "min_span_days": 30},
            },
            "min_span_days",
        ),
        ({"id": "x", "kind": "life_event", "key": "k"}, "needs all_of or any_of"),
        (
            {
                "id": "x",
                "kind": "score",
                "weights": {"astrology": 1},
                "bands": [{"name": "low", "min_score": 0}],
                "key": "p:{band}",
            },
            "weights",
        ),
    ],
)
def test_invalid_rules_name_the_problem(rule: dict[str, object], message: str) -> None:
    with pytest.raises(RuleError) as info:
        parse_rules({"rules": [rule]})
    assert message in str(info.value)
    assert all(m.startswith("Field ") for m in info.value.messages)


def test_duplicate_ids_and_bad_files(tmp_path: Path) -> None:
    rule = {"id": "a", "kind": "band", "attribute": "age", "edges": [1], "key": "k"}
    with pytest.raises(RuleError, match="duplicate rule id"):
        parse_rules({"rules": [rule, rule]})
    with pytest.raises(RuleError, match="does not exist"):
        load_rules(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [\n", encoding="utf-8")
    with pytest.raises(RuleError, match="not valid YAML"):
        load_rules(bad)
    bad.write_text("42\n", encoding="utf-8")
    with pytest.raises(RuleError, match="mapping"):
        load_rules(bad)


def test_slugs_match_the_taxonomy() -> None:
    assert slugify("Food & Dining") == "food-dining"
    assert slugify("Baby & Kids Clothing") == "baby-kids-clothing"
    assert slugify("Own-Account Transfer") == "own-account-transfer"
