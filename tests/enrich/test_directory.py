"""The packaged merchant/institution directory and the category taxonomy (issue 4 items 1-2)."""

from __future__ import annotations

import csv
import io
import re
import time
from collections import Counter
from importlib.resources import files

import pytest

from sightline.enrich import categories as taxonomy
from sightline.enrich.directory import (
    FI_PRODUCTS,
    INSTITUTION_TYPES,
    MERCHANT_KINDS,
    Directory,
    load_directory,
    load_pfc_reference,
)
from sightline.errors import NotFound

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MCC = re.compile(r"^[0-9]{4}$")


@pytest.fixture(scope="module")
def directory() -> Directory:
    return load_directory()


def iso18245_codes() -> set[str]:
    """Every MCC in every list shipped by the iso18245 package (ISO, Visa, Mastercard, ...)."""
    iso = pytest.importorskip("iso18245")
    del iso
    codes: set[str] = set()
    data = files("iso18245") / "data"
    for entry in data.iterdir():
        if not entry.name.endswith("_list.csv"):
            continue
        for row in list(csv.reader(io.StringIO(entry.read_text("utf-8"))))[1:]:
            if row and MCC.match(row[0]):
                codes.add(row[0])
    return codes


# ---- counts and shape --------------------------------------------------------------------------


def test_counts_meet_targets(directory: Directory) -> None:
    assert len(directory.merchants) >= 5000
    assert len(directory.institutions) >= 400
    assert all(i.products for i in directory.institutions)
    assert len(directory.categories) >= 150
    assert len(taxonomy.GROUPS) >= 20


def test_ids_are_unique_stable_slugs(directory: Directory) -> None:
    merchant_ids = [m.merchant_id for m in directory.merchants]
    institution_ids = [i.institution_id for i in directory.institutions]
    assert len(set(merchant_ids)) == len(merchant_ids)
    assert len(set(institution_ids)) == len(institution_ids)
    bad = [x for x in [*merchant_ids, *institution_ids] if not SLUG.match(x)]
    assert not bad, bad[:10]
    # Sorted on disk so that a rebuild diff shows real changes only.
    assert merchant_ids == sorted(merchant_ids)
    assert institution_ids == sorted(institution_ids)


def test_merchant_records_are_well_formed(directory: Directory) -> None:
    names = {(c.category_group, c.category) for c in directory.categories}
    for m in directory.merchants:
        assert m.name.strip() == m.name and m.name, m
        assert (m.category_group, m.category) in names, m
        assert m.kind in MERCHANT_KINDS, m
        assert m.mccs and all(MCC.match(code) for code in m.mccs), m
        assert all(code in directory.mcc for code in m.mccs), m
        assert m.aliases, m
        assert all(a == a.upper() and a.strip() == a and a.isascii() for a in m.aliases), m
        assert len(set(m.aliases)) == len(m.aliases), m
        assert m.wikidata is None or re.match(r"^Q[0-9]+$", m.wikidata), m
        assert m.source in {"nsi", "curated", "curated+nsi"}


def test_each_alias_names_one_merchant(directory: Directory) -> None:
    owners: dict[str, str] = {}
    for m in directory.merchants:
        for alias in m.aliases:
            assert alias not in owners, (alias, owners.get(alias), m.merchant_id)
            owners[alias] = m.merchant_id
    # A brand keeps its own name; its sub-brands keep theirs.
    assert owners["WALMART"] == "walmart"
    assert owners["COSTCO"] == "costco"
    assert owners["COSTCO PHARMACY"] == "costco-pharmacy"
    assert "WALMART DE MEXICO" not in owners


def test_each_alias_names_one_institution(directory: Directory) -> None:
    owners: dict[str, str] = {}
    for inst in directory.institutions:
        for alias in inst.aliases:
            assert alias not in owners, (alias, owners.get(alias), inst.institution_id)
            owners[alias] = inst.institution_id
    assert owners["NAVY FEDERAL"] == "navy-federal-credit-union"
    assert owners["FIDELITY"] == "fidelity"  # not "Fidelity Bank"
    assert "NAVY" not in owners  # a bare common word from a name stem


def test_a_generated_statement_name_names_one_product(directory: Directory) -> None:
    """ROBINHOOD TRANSFER is not both deposit and crypto; a payday lender's LOAN is its payday
    loan (curated names may still be shared: the builder keeps what the lists say)."""
    by_id = {i.institution_id: i for i in directory.institutions}
    robinhood = by_id["robinhood"].statement_names
    assert "ROBINHOOD TRANSFER" in robinhood["deposit"]
    assert "ROBINHOOD TRANSFER" not in robinhood["crypto"]
    speedy = by_id["speedy-cash"].statement_names
    assert "SPEEDY CASH LOAN" in speedy["payday"]
    assert "SPEEDY CASH LOAN" not in speedy["personal_loan"]


def test_generic_words_are_not_aliases(directory: Directory) -> None:
    aliases = {a for m in directory.merchants for a in m.aliases}
    for word in ("CAFE", "MARKET", "BANK", "PIZZA", "STORE", "THE", "GAS", "PAYMENT"):
        assert word not in aliases, word


def test_institution_records_are_well_formed(directory: Directory) -> None:
    for inst in directory.institutions:
        assert inst.type in INSTITUTION_TYPES, inst
        assert set(inst.products) <= set(FI_PRODUCTS), inst
        assert list(inst.products) == [p for p in FI_PRODUCTS if p in inst.products], inst
        assert inst.aliases and all(a == a.upper() for a in inst.aliases), inst
        assert set(inst.statement_names) == set(inst.products), inst
        for product, stems in inst.statement_names.items():
            assert stems, (inst.institution_id, product)
            assert all(s == s.upper() and s.strip() == s for s in stems), inst


def test_banks_and_credit_unions_come_from_nsi(directory: Directory) -> None:
    types = Counter(i.type for i in directory.institutions)
    assert types["bank"] + types["credit_union"] >= 200
    assert types["credit_union"] >= 30
    sources = Counter(i.source for i in directory.institutions)
    assert sources["nsi"] + sources["curated+nsi"] >= 200
    # Every institution type the interface names is represented.
    for kind in ("card_issuer", "mortgage_servicer", "auto_lender", "student_loan_servicer"):
        assert types[kind] >= 10, kind
    for kind in ("brokerage", "insurer", "fintech", "p2p", "bnpl", "crypto", "payday", "ewa"):
        assert types[kind] >= 5, kind


def test_curated_kinds_are_present(directory: Directory) -> None:
    kinds = Counter(m.kind for m in directory.merchants)
    for kind in ("subscription", "online", "marketplace", "delivery", "processor", "p2p"):
        assert kinds[kind] >= 3, kind
    for kind in ("bnpl", "crypto", "utility", "telecom", "government", "payroll", "insurer"):
        assert kinds[kind] >= 3, kind


def test_lookups(directory: Directory) -> None:
    assert directory.merchant("starbucks").name == "Starbucks"
    assert directory.institution("wells-fargo").name == "Wells Fargo"
    with pytest.raises(NotFound, match="no-such-merchant"):
        directory.merchant("no-such-merchant")
    with pytest.raises(NotFound, match="no-such-bank"):
        directory.institution("no-such-bank")
    assert load_directory() is directory  # cached


# ---- categories -------------------------------------------------------------------------------


def test_every_category_maps_to_a_plaid_pfc_pair() -> None:
    reference = load_pfc_reference()
    assert len(reference) > 100
    for cat in taxonomy.CATEGORIES:
        assert (cat.pfc_primary, cat.pfc_detailed) in reference, cat


def test_packaged_pfc_reference_matches_the_shared_copy() -> None:
    shared = files("sightline.data").joinpath("plaid_pfc_v2.tsv").read_text("utf-8")
    rows = list(csv.DictReader(io.StringIO(shared), delimiter="\t"))
    assert {"primary", "detailed", "description"} <= set(rows[0])


def test_categories_are_unique_and_keywords_uppercase() -> None:
    names = [(c.category_group, c.category) for c in taxonomy.CATEGORIES]
    assert len(set(names)) == len(names)
    for cat in taxonomy.CATEGORIES:
        assert all(k == k.upper() and k for k in cat.keywords), cat
        assert all(MCC.match(code) for code in cat.mccs), cat
        assert set(cat.owned_mccs) <= set(cat.mccs)


def test_each_mcc_is_owned_by_one_category() -> None:
    owners: dict[str, str] = {}
    for cat in taxonomy.CATEGORIES:
        for code in cat.owned_mccs:
            assert code not in owners, (code, owners.get(code), cat.category)
            owners[code] = cat.category


def test_card_categories_have_mccs() -> None:
    # Categories that only arise off the card networks (income, own-account transfers, checks,
    # loan payments, fees) may have none; every spend category has at least one.
    no_card = {
        taxonomy.INCOME,
        taxonomy.XFER,
        taxonomy.CHECKS,
        taxonomy.FEES,
        taxonomy.FIN,
        taxonomy.OTHER,
        taxonomy.CASH,
    }
    for cat in taxonomy.CATEGORIES:
        if cat.category_group not in no_card:
            assert cat.mccs, cat


def test_every_iso18245_mcc_maps_to_a_category(directory: Directory) -> None:
    codes = iso18245_codes()
    assert len(codes) > 900
    missing = sorted(c for c in codes if taxonomy.category_for_mcc(c) is None)
    assert not missing, missing
    assert codes <= set(directory.mcc)
    for code, info in directory.mcc.items():
        assert info.code == code and info.description
        cat = directory.category_for_mcc(code)
        assert cat is not None
        assert (cat.category_group, cat.category) == (info.category_group, info.category)


@pytest.mark.parametrize(
    ("mcc", "group", "category"),
    [
        ("5814", "Food & Dining", "Fast Food"),
        ("5812", "Food & Dining", "Restaurants"),
        ("5411", "Food & Dining", "Groceries"),
        ("5541", "Auto & Transport", "Gas Stations"),
        ("4121", "Auto & Transport", "Ride Share & Taxi"),
        ("7832", "Entertainment", "Movie Theaters"),
        ("7933", "Entertainment", "Bowling"),
        ("7996", "Entertainment", "Amusement Parks"),
        ("4511", "Travel", "Airlines"),
        ("3058", "Travel", "Airlines"),
        ("3390", "Travel", "Car Rental"),
        ("3710", "Travel", "Hotels"),
        ("6011", "Cash", "ATM Withdrawal"),
        ("9311", "Government & Taxes", "Taxes"),
        ("6300", "Financial", "Insurance"),
    ],
)
def test_mcc_examples(directory: Directory, mcc: str, group: str, category: str) -> None:
    cat = directory.category_for_mcc(mcc)
    assert cat is not None and (cat.category_group, cat.category) == (group, category)


def test_category_for_mcc_rejects_malformed_codes(directory: Directory) -> None:
    assert directory.category_for_mcc("") is None
    assert directory.category_for_mcc("ABCD") is None
    assert directory.category_for_mcc("12345") is None
    assert directory.category_for_mcc("0000") is None
    assert directory.category_for_mcc(" 5814 ") is not None


# ---- famous cases -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("merchant_id", "group", "category", "kind"),
    [
        ("starbucks", "Food & Dining", "Coffee Shops", "brand"),
        ("mcdonalds", "Food & Dining", "Fast Food", "brand"),
        ("walmart", "Shopping", "Superstores", "brand"),
        ("target", "Shopping", "Superstores", "brand"),
        ("costco", "Shopping", "Superstores", "brand"),
        ("shell", "Auto & Transport", "Gas Stations", "brand"),
        ("kroger", "Food & Dining", "Groceries", "brand"),
        ("netflix", "Entertainment", "Streaming Video", "subscription"),
        ("spotify", "Entertainment", "Music & Audio", "subscription"),
        ("amazon", "Shopping", "Online Marketplaces", "marketplace"),
        ("doordash", "Food & Dining", "Food Delivery", "delivery"),
        ("uber", "Auto & Transport", "Ride Share & Taxi", "online"),
        ("venmo", "Transfers", "P2P Payment", "p2p"),
        ("zelle", "Transfers", "P2P Payment", "p2p"),
        ("cash-app", "Transfers", "P2P Payment", "p2p"),
        ("affirm", "Financial", "Buy Now Pay Later", "bnpl"),
        ("coinbase", "Financial", "Crypto", "crypto"),
        ("irs", "Government & Taxes", "Taxes", "government"),
        ("adp", "Income", "Payroll", "payroll"),
    ],
)
def test_famous_merchants(
    directory: Directory, merchant_id: str, group: str, category: str, kind: str
) -> None:
    m = directory.merchant(merchant_id)
    assert (m.category_group, m.category, m.kind) == (group, category, kind)


def test_starbucks_aliases(directory: Directory) -> None:
    aliases = directory.merchant("starbucks").aliases
    assert aliases[0] == "STARBUCKS"
    assert {"STARBUCKS COFFEE", "SBUX"} <= set(aliases)


@pytest.mark.parametrize(
    ("institution_id", "type_", "products"),
    [
        ("wells-fargo", "bank", {"mortgage", "credit_card", "auto_loan"}),
        ("chase", "bank", {"mortgage", "credit_card", "auto_loan", "deposit"}),
        ("bank-of-america", "bank", {"mortgage", "credit_card"}),
        ("navient", "student_loan_servicer", {"student_loan"}),
        ("nelnet", "student_loan_servicer", {"student_loan"}),
        ("mohela", "student_loan_servicer", {"student_loan"}),
        ("rocket-mortgage", "mortgage_servicer", {"mortgage"}),
        ("ally", "bank", {"auto_loan"}),
        ("venmo", "p2p", {"p2p"}),
        ("zelle", "p2p", {"p2p"}),
        ("cash-app", "p2p", {"p2p"}),
        ("affirm", "bnpl", {"bnpl"}),
        ("coinbase", "crypto", {"crypto"}),
        ("navy-federal-credit-union", "credit_union", {"auto_loan", "mortgage"}),
        ("state-farm", "insurer", {"insurance"}),
        ("fidelity", "brokerage", {"investment"}),
        ("earnin", "ewa", {"ewa"}),
        ("advance-america", "payday", {"payday"}),
    ],
)
def test_famous_institutions(
    directory: Directory, institution_id: str, type_: str, products: set[str]
) -> None:
    inst = directory.institution(institution_id)
    assert inst.type == type_
    assert products <= set(inst.products)


def test_wells_fargo_statement_names(directory: Directory) -> None:
    wf = directory.institution("wells-fargo")
    assert "WELLS FARGO HOME MTG" in wf.statement_names["mortgage"]
    assert "WF CRD SRVCS" in wf.statement_names["credit_card"]
    assert "WF DEALER SVCS" in wf.statement_names["auto_loan"]
    assert {"WELLS FARGO", "WF"} <= set(wf.aliases)


def test_generated_statement_names_for_nsi_credit_unions(directory: Directory) -> None:
    cus = [i for i in directory.institutions if i.type == "credit_union" and i.source == "nsi"]
    assert cus
    for cu in cus:
        assert "auto_loan" in cu.products
        stems = cu.statement_names["auto_loan"]
        assert any(s.startswith(cu.aliases[0]) for s in stems), cu


# ---- speed -------------------------------------------------------------------------------------


def test_load_is_fast() -> None:
    load_directory.cache_clear()
    start = time.perf_counter()
    fresh = load_directory()
    elapsed = time.perf_counter() - start
    assert len(fresh.merchants) >= 5000
    # The budget is 0.5 s; CI machines vary, so allow a margin before failing.
    assert elapsed < 1.0, elapsed
