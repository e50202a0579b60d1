"""tools/build_merchant_directory.py: NSI filtering and mapping, merging, determinism."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "src" / "sightline" / "data"


def _load_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_merchant_directory", ROOT / "tools" / "build_merchant_directory.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


builder = _load_builder()


def item(name: str, include: list[str], tags: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "displayName": name,
        "id": name.lower().replace(" ", "") + "-000000",
        "locationSet": {"include": include},
        "tags": tags,
        **extra,
    }


def fake_nsi() -> dict[str, Any]:
    """A miniature NSI dump with one case per filtering/mapping rule."""
    brand = "brand:wikidata"
    return {
        "_meta": {"version": builder.NSI_VERSION},
        "wikidata": {
            "Q900001": {
                "label": "Zz Bean Co",
                "identities": {"website": "https://www.zzbean.example/menu"},
                "logos": {"wikidata": "https://commons.example/Zz Bean.svg"},
            }
        },
        "dissolved": {"zzgonebrand-000000": [{"date": "2020-01-01T00:00:00.000Z"}]},
        "nsi": {
            "brands/amenity/cafe": {
                "items": [
                    item("Zz Bean Co", ["us"], {brand: "Q900001", "amenity": "cafe"}),
                    item("Zz Mundo Cafe", ["001"], {brand: "Q900002"}, matchNames=["zz mundo"]),
                    item("Zz 珈琲", ["001"], {brand: "Q900003"}),
                    item("Zz Nur Deutsch", ["de"], {brand: "Q900004"}),
                    item("Zz Gone Brand", ["us"], {brand: "Q900007"}),
                ]
            },
            "brands/amenity/fast_food": {
                "items": [
                    item("Zz Pie Shack", ["us-ca.geojson"], {brand: "Q900005", "cuisine": "pizza"}),
                    item("Zz Burger Barn", ["us"], {brand: "Q900006", "cuisine": "burger"}),
                ]
            },
            "brands/shop/supermarket": {
                "items": [item("Zz Burger Barn", ["us"], {brand: "Q900006"})]
            },
            "brands/amenity/fuel": {
                "items": [item("Zz Burger Barn Gas", ["us"], {brand: "Q900006"})]
            },
            "brands/amenity/bank": {
                "items": [
                    item("Zz Prairie Bank", ["us-ks.geojson"], {brand: "Q900010"}),
                    item("Zz Teachers Credit Union", ["us"], {brand: "Q900011"}),
                    item("Zz Auslandsbank", ["de"], {brand: "Q900012"}),
                ]
            },
            "brands/amenity/atm": {"items": [item("Zz ATM Network", ["us"], {brand: "Q900013"})]},
            "brands/advertising/totem": {
                "items": [item("Zz Billboard", ["us"], {brand: "Q900014"})]
            },
            "operators/power/line": {
                "items": [
                    item(
                        "Zz Valley Electric Cooperative", ["us"], {"operator:wikidata": "Q900020"}
                    ),
                    item("Zz Widget Corporation", ["us"], {"operator:wikidata": "Q900021"}),
                ]
            },
            "operators/amenity/charging_station": {
                "items": [item("Zz State University", ["us"], {"operator:wikidata": "Q900022"})]
            },
        },
    }


@pytest.fixture(scope="module")
def built() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    merchants, institutions = builder.build(fake_nsi(), strict=False)
    return (
        {m["merchant_id"]: m for m in merchants},
        {i["institution_id"]: i for i in institutions},
    )


def test_location_filter(built: Any) -> None:
    merchants, institutions = built
    assert "zz-bean-co" in merchants
    assert "zz-mundo-cafe" in merchants  # world-wide, Latin name: plausible in the US
    assert not any(m.startswith("zz-nur") for m in merchants)
    assert not any("\u73c8" in m["name"] for m in merchants.values())
    assert "zz-prairie-bank" in institutions
    assert "zz-auslandsbank" not in institutions


def test_dissolved_brands_are_skipped(built: Any) -> None:
    merchants, _ = built
    assert "zz-gone-brand" not in merchants


def test_domain_and_logo_from_nsi_wikidata(built: Any) -> None:
    merchants, _ = built
    bean = merchants["zz-bean-co"]
    assert bean["domain"] == "zzbean.example"
    assert bean["logo_url"] == "https://commons.example/Zz%20Bean.svg"
    assert merchants["zz-pie-shack"]["logo_url"] is None


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://www.starbucks.com/", "starbucks.com"),
        ("http://homeloans.wellsfargo.com/x", "homeloans.wellsfargo.com"),
        ("https://example.com:8443", "example.com"),
        ("", None),
        ("localhost", None),
    ],
)
def test_website_domain(url: str, domain: str | None) -> None:
    assert builder.website_domain(url) == domain


def test_osm_tags_and_cuisine_map_to_categories(built: Any) -> None:
    merchants, _ = built
    assert merchants["zz-bean-co"]["category"] == "Coffee Shops"
    assert merchants["zz-pie-shack"]["category"] == "Pizza"
    assert merchants["zz-burger-barn"]["category"] == "Fast Food"  # fast_food outranks supermarket
    assert merchants["zz-burger-barn-gas"]["category"] == "Gas Stations"  # sub-brand stays apart
    assert merchants["zz-bean-co"]["mccs"][0] in {"5814", "5812"}
    assert "ZZ MUNDO" in merchants["zz-mundo-cafe"]["aliases"]


def test_skipped_paths_and_operators(built: Any) -> None:
    merchants, institutions = built
    assert "zz-billboard" not in merchants
    assert "zz-atm-network" not in institutions  # ATM networks are not banks
    utility = merchants["zz-valley-electric-cooperative"]
    assert (utility["category"], utility["kind"]) == ("Electricity & Gas", "utility")
    assert "zz-widget-corporation" not in merchants  # not a utility by name
    assert merchants["zz-state-university"]["category"] == "Tuition"


def test_institutions_from_nsi(built: Any) -> None:
    _, institutions = built
    bank = institutions["zz-prairie-bank"]
    assert bank["type"] == "bank" and "mortgage" in bank["products"]
    cu = institutions["zz-teachers-credit-union"]
    assert cu["type"] == "credit_union"
    assert "ZZ TEACHERS CU" in cu["aliases"]
    assert "ZZ TEACHERS CREDIT UNION AUTO LOAN" in cu["statement_names"]["auto_loan"]
    assert set(cu["statement_names"]) == set(cu["products"])


def test_curated_entries_are_included(built: Any) -> None:
    merchants, institutions = built
    assert merchants["netflix"]["kind"] == "subscription"
    assert "WELLS FARGO HOME MTG" in institutions["wells-fargo"]["statement_names"]["mortgage"]


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("McDonald's", "mcdonalds"),
        ("Disney+", "disney-plus"),
        ("H-E-B", "h-e-b"),
        ("Barnes & Noble", "barnes-and-noble"),
        ("Café Rio", "cafe-rio"),
    ],
)
def test_slugify(text: str, slug: str) -> None:
    assert builder.slugify(text) == slug


def test_alias_variants() -> None:
    variants = builder.alias_variants("Barnes & Noble")
    assert {"BARNES & NOBLE", "BARNES AND NOBLE", "BARNESNOBLE"} <= set(variants)
    assert builder.alias_variants("珈琲") == []
    assert builder.clean_aliases(["Cafe", "Zz Cafe", "KLARNA*"]) == ("ZZ CAFE", "KLARNA")
    assert builder.clean_aliases(["SQ *"], keep_prefixes=True) == ("SQ *",)


def test_output_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    builder.write_outputs(first, fake_nsi(), strict=False)
    builder.write_outputs(second, fake_nsi(), strict=False)
    for name in ("merchants.json", "institutions.json", "mcc.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
        json.loads((first / name).read_text("utf-8"))


@pytest.mark.slow
def test_rebuild_from_nsi_reproduces_committed_files(tmp_path: Path) -> None:
    """Fetch the pinned NSI with npm (or use $SIGHTLINE_NSI) and compare to the committed data."""
    source_env = os.environ.get("SIGHTLINE_NSI")
    if source_env:
        source = Path(source_env)
    else:
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed")
        try:
            source = builder.fetch_nsi(tmp_path, timeout=120)
        except Exception as exc:  # no registry access here
            pytest.skip(f"cannot fetch {builder.NSI_PACKAGE}: {exc}")
    out = tmp_path / "out"
    builder.write_outputs(out, builder.read_nsi(source))
    for name in ("merchants.json", "institutions.json", "mcc.json"):
        assert (out / name).read_bytes() == (DATA / name).read_bytes(), name


def test_strict_build_rejects_an_override_for_a_missing_brand() -> None:
    with pytest.raises(SystemExit, match=r"overrides\.yaml: no merchant"):
        builder.build(fake_nsi())


def test_cli_rejects_missing_or_invalid_nsi(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no such file or directory"):
        builder.main(["--nsi", str(tmp_path / "missing.tgz"), "--out", str(tmp_path)])
    bogus = tmp_path / "bogus.tgz"
    bogus.write_bytes(b"not a tarball")
    with pytest.raises(SystemExit, match="not a name-suggestion-index package"):
        builder.main(["--nsi", str(bogus), "--out", str(tmp_path)])
