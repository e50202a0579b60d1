"""The builder appends new keys only; codes never change meaning or disappear."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from sightline.errors import BadRequest
from sightline.taxonomy import builder, registry
from sightline.taxonomy.loader import Kli, Taxonomy
from sightline.taxonomy.queries import KliFilter, children_of


@dataclass(frozen=True)
class M:
    merchant_id: str
    name: str
    category_group: str
    category: str
    mccs: tuple[str, ...] = ()
    kind: str = "brand"


@dataclass(frozen=True)
class I:  # noqa: E742
    institution_id: str
    name: str
    type: str
    products: tuple[str, ...]


@dataclass(frozen=True)
class C:
    category_group: str
    category: str
    mccs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dir:
    merchants: tuple[M, ...]
    institutions: tuple[I, ...]
    categories: tuple[C, ...]


def small() -> Dir:
    return Dir(
        merchants=(
            M("bean-co", "Bean Co", "Food & Dining", "Coffee Shops"),
            M("paper-inc", "Paper Inc", "Business Services", "Office Supplies", ("5111",)),
            M("zap", "Zap", "Financial", "P2P Payment", kind="p2p"),
        ),
        institutions=(
            I("big-bank", "Big Bank", "bank", ("mortgage", "credit_card", "deposit")),
            I("zap", "Zap", "p2p", ("p2p",)),
        ),
        categories=(
            C("Food & Dining", "Coffee Shops", ("5814",)),
            C("Business Services", "Office Supplies", ("5111",)),
            C("Financial", "P2P Payment"),
        ),
    )


def test_build_allocates_fixed_then_sequential_codes() -> None:
    result = builder.merge([], builder.build_specs(small()))
    by_key = {r.key: r for r in result.rows}
    for key, (code, name) in registry.FIXED_CODES.items():
        assert (by_key[key].kli_code, by_key[key].kli_name) == (code, name)
    others = [r.kli_code for r in result.rows if r.key not in registry.FIXED_CODES]
    assert others == list(range(registry.BASE, registry.BASE + len(others)))
    assert (
        by_key["merchant:bean-co"].parent_kli_code
        == by_key["category:food-dining/coffee-shops"].kli_code
    )
    assert "merchant:zap" not in by_key  # a P2P app is competitive activity, not spend
    assert (
        by_key["competitive_activity:zap"].parent_kli_code
        == by_key["competitive_activity_type:p2p"].kli_code
    )
    assert "competitive_bank:zap" not in by_key
    assert by_key["competitive_product:mortgage:big-bank"].kli_is_competitive == "Y"
    assert "competitive_product:p2p:zap" not in by_key
    assert by_key["business_spend:merchant:paper-inc"].kli_is_leaf == "Y"
    # category nodes are never leaves, even without merchants
    assert by_key["category:financial/p2p-payment"].kli_is_leaf == "N"
    # parents come before children in the file
    seen: set[int] = set()
    for row in result.rows:
        if row.key not in registry.FIXED_CODES:
            assert row.parent_kli_code is None or row.parent_kli_code in seen
        seen.add(row.kli_code)
    # a second build over the same input changes nothing
    again = builder.merge(result.rows, builder.build_specs(small()))
    assert again.added == [] and again.rows == result.rows


def test_new_keys_append_renames_keep_meaning_removals_stay() -> None:
    first = builder.merge([], builder.build_specs(small())).rows
    top = max(r.kli_code for r in first)
    d = small()
    changed = replace(
        d,
        merchants=(
            replace(d.merchants[0], name="Bean Company"),  # renamed in the directory
            M("tea-time", "Tea Time", "Food & Dining", "Coffee Shops"),  # new
        ),  # paper-inc removed
    )
    result = builder.merge(first, builder.build_specs(changed))
    by_key = {r.key: r for r in result.rows}
    assert [r.key for r in result.added] == ["merchant:tea-time"]
    assert by_key["merchant:tea-time"].kli_code == top + 1
    assert by_key["merchant:bean-co"].kli_name == "Bean Co"
    assert "merchant:paper-inc" in by_key and "merchant:paper-inc" in {r.key for r in result.kept}
    assert registry.check_append_only(first, result.rows) == []
    assert registry.render_registry(result.rows).startswith(
        registry.render_registry(first).split("\n", 1)[0]
    )


def test_check_append_only_and_parse_errors() -> None:
    rows = builder.merge([], builder.build_specs(small())).rows
    renamed = [replace(r, kli_name="Other") if r.key == "merchant:bean-co" else r for r in rows]
    assert "changed meaning" in registry.check_append_only(rows, renamed)[0]
    assert "disappeared" in registry.check_append_only(rows, rows[:-1])[0]
    moved = [replace(r, kli_code=1) if r.kli_code == 8616194 else r for r in rows]
    assert any("fixed kli_code 8616194" in p for p in registry.check_append_only([], moved))
    text = registry.render_registry(rows)
    assert registry.parse_registry(text) == rows
    with pytest.raises(registry.RegistryError, match="header"):
        registry.parse_registry("code,key\n1,a\n")
    lines = text.splitlines()
    with pytest.raises(registry.RegistryError, match="duplicate"):
        registry.parse_registry("\n".join([*lines, lines[1]]) + "\n")


def _tree() -> Taxonomy:
    rows = builder.merge([], builder.build_specs(small())).rows
    return Taxonomy.from_klis(Kli.from_row(r) for r in rows)


def test_children_filters_apply_at_any_depth() -> None:
    tree = _tree()
    spend = 8616194
    direct = children_of(tree, spend, KliFilter())
    assert all(tree.nodes[c].parent_kli_code == spend for c in direct)
    leaves = children_of(tree, spend, KliFilter.parse("PUBLIC", "N", "Y"))
    assert {tree.nodes[c].key for c in leaves} == {"merchant:bean-co", "merchant:paper-inc"}
    banks = children_of(tree, 8847985, KliFilter.parse(None, "y", "y"))
    assert {tree.nodes[c].key for c in banks} == {"competitive_bank:big-bank"}
    assert children_of(tree, spend, KliFilter.parse("PRIVATE")) == []
    private = Kli(1_900_000_000, "p:1", "Mine", "", spend, "PRIVATE", "N", "Y")
    overlaid = tree.overlay([private])
    assert children_of(overlaid, spend, KliFilter.parse("PRIVATE")) == [private.kli_code]
    assert private.kli_code not in tree.nodes  # the shared tree is untouched
    with pytest.raises(BadRequest) as err:
        KliFilter.parse("public", "maybe", "no")
    assert [m.split()[1] for m in err.value.messages] == ["kli_is_competitive", "kli_is_leaf"]


def test_band_labels() -> None:
    assert builder.band_labels((1000, 5000), "${:,.0f}") == [
        "under $1,000",
        "$1,000 to $5,000",
        "$5,000 and over",
    ]
