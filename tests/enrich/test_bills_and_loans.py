"""City utilities, landlords and loan payments whose 16-character ACH company name hides the
product (issue 4 items 3 and 10; the held-away products of issue 5 item 8 rest on them)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sightline.enrich.engine import Enricher, default_enricher, split_glued
from sightline.enrich.municipal import municipal_utility
from tests.enrich.helpers import institution, tiny_directory


def ach(company: str, entry: str) -> str:
    """The Chase layout: the company name cut to the 16-character NACHA field."""
    return (
        f"ORIG CO NAME:{company[:16].rstrip()} ORIG ID:1234567890 DESC DATE:260731 CO ENTRY "
        f"DESCR:{entry} SEC:PPD TRACE#:021000021234567 EED:260731 IND ID:123 IND NAME:JANE DOE "
        "TRN: 1021234567TC"
    )


@pytest.fixture(scope="module")
def enricher() -> Enricher:
    d = tiny_directory()
    extra = (
        institution(
            "rockland-trust",
            "Rockland Trust",
            "bank",
            ("mortgage", "auto_loan", "credit_card", "personal_loan", "deposit"),
            ("ROCKLAND TRUST",),
            {
                "auto_loan": ("ROCKLAND TRUST AUTO", "ROCKLAND TRUST AUTO LOAN"),
                "deposit": ("ROCKLAND TRUST ACCT TRANSFER",),
                "personal_loan": ("ROCKLAND TRUST LN PMT", "ROCKLAND TRUST LOAN"),
                "credit_card": ("ROCKLAND TRUST CARD",),
                "mortgage": ("ROCKLAND TRUST MORTGAGE",),
            },
        ),
        institution(
            "bank-of-america",
            "Bank of America",
            "bank",
            ("mortgage", "heloc", "auto_loan", "credit_card", "deposit"),
            ("BANK OF AMERICA",),
            {
                "mortgage": ("BANK OF AMERICA MORTGAGE",),
                "auto_loan": ("BANK OF AMERICA AUTO",),
                "credit_card": ("BANK OF AMERICA CARD",),
            },
        ),
        institution(
            "northwestern-mutual",
            "Northwestern Mutual",
            "brokerage",
            ("investment", "insurance"),
            ("NORTHWESTERN MUTUAL",),
        ),
    )
    return Enricher(replace(d, institutions=(*d.institutions, *extra)))


@pytest.mark.parametrize(
    ("company", "name", "explicit"),
    [
        ("CITY OF AUSTIN U", "City of Austin Utilities", True),
        ("COA UTILITIES TX", "City of Austin Utilities", True),
        ("CITY OF INDIANAP", "City of Indianapolis Utilities", False),  # cut in the city name
        ("CITY OF SAN ANTO UTILITIES", "City of San Antonio Utilities", True),  # company + entry
        ("CITY OF SPRINGFIELD UTILITY", "City of Springfield Utility", True),
        ("KANSAS CIT WATER", "City of Kansas City Utilities", False),
        ("TUCSON WATER", "City of Tucson Utilities", False),
    ],
)
def test_city_utilities(company: str, name: str, explicit: bool) -> None:
    found = municipal_utility(company)
    assert found is not None
    assert (found.name, found.explicit) == (name, explicit)


@pytest.mark.parametrize(
    "company",
    [
        "CITY OF TULSA",  # complete (13 characters) with no utility word: the city itself
        "CITY OF CHICAGO PARKING",  # a parking ticket, not a utility
        "CITY OF DENVER TAX",
        "BLUE WATER",  # a business, not a city's water department
        "CITY OF NOWHEREVILLE U",
    ],
)
def test_not_city_utilities(company: str) -> None:
    assert municipal_utility(company) is None


def test_city_utility_lines(enricher: Enricher) -> None:
    for line in (
        "CITY OF AUSTIN U WEB PMT",
        ach("COA UTILITIES TX", "WEB PMT"),
        "CITY OF HOUSTON  DES:UTILITIES ID:12345678901 INDN:JANE DOE CO ID:4013283762 WEB",
    ):
        r = enricher.enrich(line, direction="debit", channel="ach")
        assert r.transaction_kind == "ach_debit", line
        assert r.merchant_name in ("City of Austin Utilities", "City of Houston Utilities"), line
        assert (r.category_group, r.category) == ("Bills & Utilities", "Water"), line


def test_landlords(enricher: Enricher) -> None:
    r = enricher.enrich("PINE RIDGE APTS RENT PYMT", direction="debit", channel="ach")
    assert (r.merchant_name, r.category) == ("Pine Ridge Apartments", "Rent")
    r = enricher.enrich(ach("IRONWOOD PROP MGMT", "RENT"), direction="debit", channel="ach")
    assert (r.merchant_name, r.category) == ("Ironwood Property Management", "Rent")
    r = enricher.enrich("MAPLE PROP MGMT WEB PMT", direction="debit", channel="ach")
    assert (r.merchant_name, r.category) == ("Maple Property Management", "Rent")


@pytest.mark.parametrize(
    ("company", "entry", "fi", "product"),
    [
        # the product word was cut off the company name: the statement names it starts decide
        ("ROCKLAND TRUST AUTO", "AUTO PYMT", "rockland-trust", "auto_loan"),
        ("ROCKLAND TRUST LN PMT", "AUTOPAY", "rockland-trust", "personal_loan"),
        ("ROCKLAND TRUST ACCT TRANSFER", "EXT TRNSFR", "rockland-trust", "deposit"),
        # a loan payment at a bank without personal loans is a loan, never its credit card
        ("BANK OF AMERICA AUTO", "LOAN PMT", "bank-of-america", "auto_loan"),
        ("BANK OF AMERICA MORTGAGE", "MTG PMT", "bank-of-america", "mortgage"),
        ("BANK OF AMERICA CARD", "ONLINE PMT", "bank-of-america", "credit_card"),
        # an institution's own name cut at 16 characters
        ("NORTHWESTERN MUTUAL", "PREMIUM", "northwestern-mutual", "insurance"),
    ],
)
def test_loan_payments_with_cut_company_names(
    enricher: Enricher, company: str, entry: str, fi: str, product: str
) -> None:
    r = enricher.enrich(ach(company, entry), direction="debit", channel="ach")
    assert (r.competitive_fi_id, r.fi_product) == (fi, product)


def test_loan_words_in_the_bank_of_america_layout(enricher: Enricher) -> None:
    line = "CAPITAL ONE DES:LOAN PMT ID:12345678901 INDN:JANE DOE CO ID:9279744380 PPD"
    r = enricher.enrich(line, direction="debit", channel="ach")
    assert (r.competitive_fi_id, r.fi_product) == ("capital-one", "auto_loan")
    line = "CAPITAL ONE DES:CRCARDPMT ID:12345678901 INDN:JANE DOE CO ID:9279744380 PPD"
    r = enricher.enrich(line, direction="debit", channel="ach")
    assert (r.competitive_fi_id, r.fi_product) == ("capital-one", "credit_card")


@pytest.mark.parametrize(
    ("token", "words"),
    [
        ("PIONEERFOODSINC", ["PIONEER", "FOODS", "INC"]),
        ("BEACONHEALTHSYST", ["BEACON", "HEALTH", "SYSTEM"]),  # cut word completed
        ("LIBERTYHOSPITALI", ["LIBERTY", "HOSPITALITY"]),  # not HOSPITAL + I
        ("ATLASINDUSTRIESG", ["ATLAS", "INDUSTRIES"]),  # a one-letter fragment dropped
        ("BLUEWATERREALTYC", ["BLUEWATER", "REALTY"]),  # WATER is no company word
        ("STERLINGLABSGROU", ["STERLING", "LABS", "GROUP"]),
    ],
)
def test_split_glued_company_names(token: str, words: list[str]) -> None:
    assert split_glued(token) == words


def test_unsplittable_names_stay_whole() -> None:
    assert split_glued("SHORTNAME") is None
    assert split_glued("XQZPTLMWRKVNB") is None


def test_glued_employer_on_a_payroll_line(enricher: Enricher) -> None:
    line = "BEACONHEALTHSYST DES:PAYROLL ID:12345678901 INDN:JANE DOE CO ID:6751597824 PPD"
    r = enricher.enrich(line, direction="credit", channel="ach")
    assert (r.transaction_kind, r.merchant_name) == ("payroll", "Beacon Health System")


@pytest.mark.parametrize(
    ("line", "name"),
    [
        # a bank's one-word name inside a utility's: the rest of the name is no city here
        ("MICHIGAN PUBLIC POWER  WEB PMT WEB ID: 1467420911", "Michigan Public Power Agency"),
        (ach("REPUBLIC WIRELESS", "PAYMENT"), "Republic Wireless"),  # a phone company
    ],
)
def test_a_bank_name_inside_another_business_is_no_institution(line: str, name: str) -> None:
    r = default_enricher().enrich(line, direction="debit", channel="ach")
    assert r.competitive_fi is None
    assert r.merchant_name == name


@pytest.mark.parametrize(
    ("line", "mcc", "name"),
    [
        # the merchant's own web address is no other name, whatever the MCC's category group
        ("FUBOTV                    FUBO.TV MA", "4899", "fuboTV"),
        ("TUBI TUBITV.COM NY", "4899", "Tubi"),
        ("RECURRING PAYMENT FUBOTV FUBO.TV MA", "4899", "fuboTV"),  # RECURRING PAYMENT opens it
    ],
)
def test_subscription_with_its_domain(line: str, mcc: str, name: str) -> None:
    r = default_enricher().enrich(line, direction="debit", mcc=mcc, channel="card")
    assert r.merchant_name == name


@pytest.mark.parametrize(
    ("line", "kind", "product"),
    [
        ("VENMO CRD PMT ONLINE PMT WEB ID: 1232392354", "ach_debit", "credit_card"),  # its card
        (
            "CASH APP BROKERAGE DES:INVESTMENT ID:83188044933 INDN:J DOE CO ID:1 WEB",
            "ach_debit",
            "investment",
        ),
        ("VENMO PAYMENT 1448749574 WEB ID: 3264681992", "p2p", "p2p"),
        ("PAYPAL TRANSFER TRANSFER WEB ID: 2493614666", "p2p", "p2p"),  # P2P's own name too
    ],
)
def test_an_apps_other_products(line: str, kind: str, product: str) -> None:
    r = default_enricher().enrich(line, direction="debit", channel="ach")
    assert (r.transaction_kind, r.fi_product) == (kind, product)


def test_a_utility_entry_makes_a_city_its_utility() -> None:
    found = municipal_utility("CITY OF DETROIT", entry="UTILITIES")
    assert found is not None and found.name == "City of Detroit Utilities" and found.explicit
    found = municipal_utility("CITY OF TULSA", entry="UTILITIES")
    assert found is not None and found.name == "City of Tulsa Utilities"
    assert municipal_utility("CITY OF TULSA", entry="TAX PMT") is None


def test_employer_cut_word_completes_to_a_company_word(enricher: Enricher) -> None:
    line = "EVERGREEN PACKAG DES:PAYROLL ID:92064036494 INDN:SEAN COOPER CO ID:473 PPD"
    r = enricher.enrich(line, direction="credit", channel="ach")
    assert (r.transaction_kind, r.merchant_name) == ("payroll", "Evergreen Packaging")
    r = enricher.enrich("RIVERBEND ELECTR PAYROLL PPD ID: 2668236491", direction="credit")
    assert r.merchant_name == "Riverbend Electric"
