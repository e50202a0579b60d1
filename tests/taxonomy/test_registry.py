"""The shipped taxonomy: fixed codes, branches, size, and the append-only registry."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from sightline.taxonomy import (
    FIXED_CODES,
    builder,
    code_for,
    load_taxonomy,
    merchant_kli_codes,
    registry,
)

REPO = Path(__file__).resolve().parents[2]
REGISTRY = "src/sightline/data/kli_registry.csv"

# Published codes pinned here as well as in the registry: existing clients rely on them.
PINNED = {
    8616194: "branch:consumer_spend",
    39668008: "branch:competitive_fi_products",
    8847985: "branch:competitive_banks",
    8616201: "fi_product:mortgage",
    100000001: "branch:fi_products",
}


def test_fixed_codes_keep_their_meaning() -> None:
    tree = load_taxonomy()
    for key, (code, name) in FIXED_CODES.items():
        kli = tree.get(code)
        assert (kli.key, kli.kli_name) == (key, name)
    for code, key in PINNED.items():
        assert tree.get(code).key == key
    assert tree.get(8616201).parent_kli_code == code_for("branch:fi_products")
    assert tree.get(8616194).kli_is_competitive == "N"
    for code in (39668008, 8847985):
        assert tree.get(code).kli_is_competitive == "Y"
        assert tree.get(code).parent_kli_code is None


def test_every_branch_and_at_least_3000_klis() -> None:
    tree = load_taxonomy()
    assert len(tree) >= 3000
    top = {tree.nodes[c].kli_name for c in tree.roots}
    assert top >= {
        "Consumer Spend",
        "Competitive FI Products",
        "Competitive Banks",
        "FI Products",
        "Competitive FI Activity",
        "Customer Behaviour",
        "Life Events",
        "Lifestyle / Spend Patterns",
        "Client Segmentation",
        "Predictive Indicators",
        "Business Spend",
    }
    # merchants are leaves under category nodes under category groups
    starbucks = tree.get(code_for("merchant:starbucks"))
    assert starbucks.kli_is_leaf == "Y"
    category, group, root = (tree.nodes[c] for c in tree.ancestors(starbucks.kli_code))
    assert category.key.startswith("category:") and category.kli_is_leaf == "N"
    assert group.key.startswith("category_group:") and root.kli_code == 8616194
    # product → institution leaves, one bank leaf per institution, all competitive
    mortgage_wf = tree.get(code_for("competitive_product:mortgage:wells-fargo"))
    assert tree.ancestors(mortgage_wf.kli_code) == (
        code_for("competitive_product:mortgage"),
        39668008,
    )
    assert tree.get(code_for("competitive_bank:wells-fargo")).parent_kli_code == 8847985
    for code in tree.descendants(39668008) + tree.descendants(8847985):
        assert tree.nodes[code].kli_is_competitive == "Y"
    for key in ("behaviour:bill_pay_user", "life_event:new_mover", "lifestyle:coffee_drinker",
                "segment:balance:3", "predictive:churn_risk:high", "segment:customer_type:B",
                "competitive_activity:venmo", "business_spend:business_services"):  # fmt: skip
        assert code_for(key) > 0
    assert all(k.kli_class == "PUBLIC" for k in tree)


def test_registry_matches_the_directory() -> None:
    """Run ``sightline taxonomy build`` after changing the directory: this fails until then."""
    from sightline.enrich.directory import load_directory

    rows = registry.read_registry()
    result = builder.merge(rows, builder.build_specs(load_directory()))
    assert [r.key for r in result.added] == []
    assert registry.check_append_only(rows, result.rows) == []
    assert result.rows == rows  # descriptions, parents and flags are current too


def _git_versions() -> list[str]:
    git = shutil.which("git")
    if git is None or not (REPO / ".git").exists():
        return []
    log = subprocess.run(
        [git, "log", "--format=%H", "--", REGISTRY], cwd=REPO, capture_output=True, text=True
    )
    versions = []
    for sha in log.stdout.split():
        shown = subprocess.run(
            [git, "show", f"{sha}:{REGISTRY}"], cwd=REPO, capture_output=True, text=True
        )
        if shown.returncode == 0:
            versions.append(shown.stdout)
    return versions


def test_registry_is_append_only_against_every_committed_version() -> None:
    versions = _git_versions()
    if not versions:
        pytest.skip("not a git checkout")
    now = registry.read_registry()
    for text in versions:
        old = registry.parse_registry(text)
        assert registry.check_append_only(old, now) == []


def test_merchant_codes_for_enrichment() -> None:
    codes = merchant_kli_codes()
    assert codes["starbucks"] == code_for("merchant:starbucks")
    tree = load_taxonomy()
    assert all(tree.nodes[c].key == f"merchant:{m}" for m, c in codes.items())


def test_packaged_rules_emit_only_known_keys() -> None:
    """The rules engineer's packaged rules name taxonomy keys; all of them must exist."""
    path = REPO / "src/sightline/data/kli_rules.yaml"
    if not path.is_file():
        pytest.skip("no packaged rules")
    tree = load_taxonomy()
    doc = yaml.safe_load(path.read_text())
    for rule in doc["rules"]:
        key = rule.get("key")
        if not key:
            continue
        if "{" in key and "{band}" not in key:
            prefix = key.split("{", 1)[0]
            assert any(k.startswith(prefix) for k in tree.by_key), f"{rule['id']}: {key}"
            continue
        if "{band}" in key and rule["kind"] == "band":
            keys = [key.format(band=n) for n in range(1, len(rule["edges"]) + 2)]
        elif "{band}" in key:
            keys = [key.format(band=b["name"]) for b in rule["bands"]]
        else:
            keys = [key]
        for k in keys:
            assert k in tree.by_key, f"rule {rule['id']} emits unknown key {k}"
        if rule["kind"] == "band":
            name = key.split(":")[1]
            assert tuple(rule["edges"]) == builder.BANDS[name][1], f"edges of {rule['id']}"
