"""The Enricher's hard cases (issue 4 item 10) against a tiny hand-written directory."""

from __future__ import annotations

import pytest

from sightline.enrich.engine import FIELDS, Enricher
from tests.enrich.helpers import tiny_directory


@pytest.fixture(scope="module")
def enricher() -> Enricher:
    return Enricher(tiny_directory(), kli_codes={"starbucks": 8616301})


def test_fields_are_the_published_names() -> None:
    required = [
        "cleansed",
        "merchant_name",
        "sub_merchant",
        "city",
        "state",
        "category",
        "category_group",
        "pfc_primary",
        "pfc_detailed",
        "mcc_description",
        "merchant_kli_code",
        "competitive_fi",
        "fi_product",
        "transaction_kind",
        "match_type",
        "match_score",
    ]
    assert set(required) <= set(FIELDS)
    assert {"merchant_id", "competitive_fi_id"} <= set(FIELDS)


def test_card_purchase_with_card_words_store_number_city_state(enricher: Enricher) -> None:
    r = enricher.enrich(
        "PURCHASE AUTHORIZED ON 04/12 STARBUCKS STORE 05812 SEATTLE WA S583103040118954 CARD 1234",
        direction="debit",
    )
    assert (r.merchant_name, r.city, r.state) == ("Starbucks", "Seattle", "WA")
    assert (r.category_group, r.category) == ("Food & Dining", "Coffee Shops")
    assert (r.pfc_primary, r.pfc_detailed) == ("FOOD_AND_DRINK", "FOOD_AND_DRINK_COFFEE")
    assert r.transaction_kind == "card_purchase"
    assert r.match_type == "EXACT" and r.match_score == 1.0
    assert r.merchant_kli_code == 8616301
    assert r.competitive_fi is None


@pytest.mark.parametrize(
    "raw",
    [
        "DICKS SPORTING GOO",  # cut at 18
        "DICKS SPORTING GOODS 0123 PITTSBURGH PA"[:22],  # cut at 22
        "CHECKCARD 0412 DICKS SPORTING GO PITTSBURGH PA",
    ],
)
def test_truncated_names_still_match(enricher: Enricher, raw: str) -> None:
    r = enricher.enrich(raw, direction="debit")
    assert r.merchant_name == "Dick's Sporting Goods"
    assert r.match_type in ("EXACT", "SIMILAR")
    assert 0.8 <= r.match_score <= 1.0


def test_misspelt_name_is_similar(enricher: Enricher) -> None:
    r = enricher.enrich("STARBUKS STORE 1234", direction="debit")
    assert r.merchant_name == "Starbucks"
    assert r.match_type == "SIMILAR"
    assert 0 < r.match_score < 1


@pytest.mark.parametrize(
    "prefix", ["SQ *", "SQ*", "TST* ", "TST*", "PAYPAL *", "IN *", "SP *", "CLR*", "PP*", "FS *"]
)
def test_processor_prefixes_are_removed(enricher: Enricher, prefix: str) -> None:
    local = enricher.enrich(f"{prefix}PIRATES COVE MINI G 0423", direction="debit")
    assert local.merchant_name == "Pirates Cove Mini"  # "G": the start of a word the field cut
    assert local.match_type == "NONE"
    assert (local.category_group, local.category) == ("Entertainment", "Miniature Golf")
    brand = enricher.enrich(f"{prefix}NETFLIX 402-935-7733 CA", direction="debit")
    assert brand.merchant_name == "Netflix"
    assert brand.sub_merchant is None


@pytest.mark.parametrize(
    ("raw", "platform", "sub"),
    [
        ("DOORDASH*ZEEKS PIZZA 855-973-1040 CA", "DoorDash", "Zeeks Pizza"),
        ("DD *DOORDASH ZEEKS PIZZA", "DoorDash", "Zeeks Pizza"),
        ("DD *ZEEKS PIZZA", "DoorDash", "Zeeks Pizza"),
        ("GRUBHUB*JOES PIZZA", "Grubhub", "Joes Pizza"),
        ("UBER *EATS PENDING", "Uber Eats", None),
        ("ETSY.COM*HANDMADE BY ANNA", "Etsy", "Handmade by Anna"),
        ("AMZN Mktp US*2K4LR1AB2 Amzn.com/bill WA", "Amazon", None),
    ],
)
def test_delivery_and_marketplace_sub_merchants(
    enricher: Enricher, raw: str, platform: str, sub: str | None
) -> None:
    r = enricher.enrich(raw, direction="debit")
    assert (r.merchant_name, r.sub_merchant) == (platform, sub)


def test_payment_platform_resolves_to_the_merchant_paid(enricher: Enricher) -> None:
    r = enricher.enrich("GOOGLE *YOUTUBE PREMIUM g.co/helppay#", direction="debit")
    assert r.merchant_name == "YouTube"
    assert r.transaction_kind == "card_purchase"


@pytest.mark.parametrize(
    ("raw", "fi", "product"),
    [
        ("CHASE CREDIT CRD AUTOPAY PPD ID: 4760039224", "Chase", "credit_card"),
        (
            "ORIG CO NAME:CHASE CREDIT CRD ORIG ID:4760039224 DESC DATE:230412 CO ENTRY "
            "DESCR:AUTOPAY SEC:PPD TRACE#:021000021234567 EED:230412 IND ID:123456789 "
            "IND NAME:JANE DOE TRN: 1021234567TC",
            "Chase",
            "credit_card",
        ),
        (
            "CAPITAL ONE DES:ONLINE PMT ID:XXXXX INDN:JOHN DOE CO ID:XXXXX WEB",
            "Capital One",
            "credit_card",
        ),
        (
            "CAPITAL ONE DES:AUTO CARPAY ID:XXXXX INDN:JOHN DOE CO ID:XXXXX PPD",
            "Capital One",
            "auto_loan",
        ),
        ("WELLS FARGO HOME MTG AUTO PAY 041223", "Wells Fargo", "mortgage"),
        ("CHASE MORTGAGE DES:MTG PYMT", "Chase", "mortgage"),
        ("AMEX EPAYMENT ACH PMT W1234", "American Express", "credit_card"),
        ("NAVIENT DES:ED LOAN ID:123456 INDN:JOHN DOE PPD", "Navient", "student_loan"),
        ("SCHWAB BROKERAGE DES:MONEYLINK ID:XXXX", "Charles Schwab", "investment"),
        ("ALLY BANK DES:TRANSFER ID:XXXX", "Ally", "deposit"),
    ],
)
def test_competing_institutions_and_products(
    enricher: Enricher, raw: str, fi: str, product: str
) -> None:
    r = enricher.enrich(raw, direction="debit")
    assert (r.competitive_fi, r.fi_product) == (fi, product), r
    assert r.competitive_fi_id is not None
    assert r.merchant_name == fi
    assert "JOHN" not in r.cleansed and "JANE" not in r.cleansed


def test_card_autopay_payment_versus_a_purchase(enricher: Enricher) -> None:
    payment = enricher.enrich("CHASE CREDIT CRD AUTOPAY", direction="debit")
    assert payment.transaction_kind == "ach_debit"
    assert (payment.competitive_fi, payment.fi_product) == ("Chase", "credit_card")
    assert payment.category == "Credit Card Payment"
    online = enricher.enrich("CAPITAL ONE ONLINE PMT 230415", direction="debit")
    assert (online.competitive_fi, online.fi_product) == ("Capital One", "credit_card")
    purchase = enricher.enrich("CHASE SAPPHIRE LOUNGE BOSTON MA", direction="debit", mcc="5812")
    assert purchase.transaction_kind == "card_purchase"
    assert purchase.competitive_fi is None


@pytest.mark.parametrize(
    "raw",
    [
        "ZELLE TO MCDONALD ROSS ON 04/12 REF # BACXYZ12345",
        "Zelle payment to McDonald Ross JPM99ABC1234",
        "ZELLE PAYMENT TO MCDONALD ROSS CONF# 1A2B3C4D",
    ],
)
def test_payee_containing_a_brand_is_p2p_not_the_brand(enricher: Enricher, raw: str) -> None:
    r = enricher.enrich(raw, direction="debit")
    assert r.transaction_kind == "p2p"
    assert r.merchant_name == "Zelle"
    assert r.merchant_id == "zelle"
    assert "MCDONALD" not in (r.cleansed or "").upper()
    assert r.sub_merchant is None


def test_p2p_platform_that_competes(enricher: Enricher) -> None:
    r = enricher.enrich("VENMO PAYMENT 1023456789 WEB ID: 3264681992", direction="debit")
    assert r.transaction_kind == "p2p"
    assert (r.competitive_fi, r.fi_product) == ("Venmo", "p2p")


@pytest.mark.parametrize(
    ("raw", "direction"),
    [
        ("AMAZON.COM REFUND", "credit"),
        ("PURCHASE RETURN AUTHORIZED ON 04/14 TARGET T-1234 AUSTIN TX", "credit"),
        ("REVERSAL STARBUCKS STORE 1234", "credit"),
        ("TARGET 00012345 AUSTIN TX", "credit"),
    ],
)
def test_refunds_and_reversals(enricher: Enricher, raw: str, direction: str) -> None:
    r = enricher.enrich(raw, direction=direction, trans_category="pos")
    assert r.transaction_kind == "refund"
    assert r.merchant_name in ("Amazon", "Target", "Starbucks")


def test_fee_reversal_is_a_refund_without_merchant(enricher: Enricher) -> None:
    r = enricher.enrich("OVERDRAFT FEE REVERSAL", direction="credit")
    assert r.transaction_kind == "refund"
    assert r.merchant_name is None


@pytest.mark.parametrize(
    ("raw", "category"),
    [
        ("FOREIGN TRANSACTION FEE", "Foreign Transaction Fees"),
        ("INTL TRANSACTION FEE 04/12", "Foreign Transaction Fees"),
        ("OVERDRAFT ITEM FEE", "Overdraft & NSF Fees"),
        ("MONTHLY SERVICE FEE", "Bank Fees"),
        ("NON-NETWORK ATM FEE", "ATM Fees"),
    ],
)
def test_fees_have_no_merchant(enricher: Enricher, raw: str, category: str) -> None:
    r = enricher.enrich(raw, direction="debit")
    assert r.transaction_kind == "fee"
    assert r.merchant_name is None and r.merchant_id is None
    assert r.category == category


@pytest.mark.parametrize(
    ("raw", "kind", "category"),
    [
        ("ATM WITHDRAWAL 123 MAIN ST BOSTON MA", "atm", "ATM Withdrawal"),
        ("NON-CHASE ATM WITHDRAW 04/12 SEATTLE WA", "atm", "ATM Withdrawal"),
        ("CHECK 1043", "check", "Check Payment"),
        ("CHECK # 0000001043", "check", "Check Payment"),
        ("SHARE DRAFT 1201", "check", "Check Payment"),
        ("ONLINE TRANSFER TO SAV XXXXXX1234 REF #IB0XYZ", "transfer", "Savings Transfer"),
        (
            "ONLINE BANKING TRANSFER TO CHK 1234 CONFIRMATION# 123456",
            "transfer",
            "Own-Account Transfer",
        ),
        ("INTERNET TRANSFER FROM SHARE 01", "transfer", "Own-Account Transfer"),
    ],
)
def test_atm_checks_and_own_transfers_have_no_merchant(
    enricher: Enricher, raw: str, kind: str, category: str
) -> None:
    r = enricher.enrich(raw, direction="debit")
    assert r.transaction_kind == kind
    assert r.merchant_name is None
    assert r.category == category
    assert r.competitive_fi is None


def test_mobile_check_deposit(enricher: Enricher) -> None:
    r = enricher.enrich("MOBILE CHECK DEPOSIT", direction="credit")
    assert (r.transaction_kind, r.category) == ("check", "Check Deposit")


@pytest.mark.parametrize(
    ("raw", "employer"),
    [
        ("ACME CORP DES:PAYROLL ID:XXXXX INDN:JANE DOE CO ID:XXXXX PPD", "Acme Corp"),
        ("ACME CORP PAYROLL PPD ID: 1234567890", "Acme Corp"),
        (
            "ORIG CO NAME:BLUE RIVER DENTAL ORIG ID:123 CO ENTRY DESCR:DIR DEP SEC:PPD",
            "Blue River Dental",
        ),
        ("GUSTO DES:PAY 123456 ID:XXXX INDN:JANE DOE CO ID:XXXX PPD", "Gusto"),
    ],
)
def test_payroll_names_the_employer(enricher: Enricher, raw: str, employer: str) -> None:
    r = enricher.enrich(raw, direction="credit")
    assert r.transaction_kind == "payroll"
    assert r.merchant_name == employer
    assert r.category == "Payroll"
    assert "JANE" not in r.cleansed.upper()


def test_interest(enricher: Enricher) -> None:
    r = enricher.enrich("INTEREST PAID", direction="credit")
    assert (r.transaction_kind, r.category, r.merchant_name) == ("interest", "Interest", None)


def test_local_business_gets_a_clean_name(enricher: Enricher) -> None:
    r = enricher.enrich("TST* JOES DINER - SPRINGFIELD SPRINGFIELD IL", direction="debit")
    assert (r.merchant_name, r.city, r.state) == ("Joes Diner", "Springfield", "IL")
    assert r.category == "Restaurants"
    assert r.match_type == "NONE" and r.match_score == 0.0
    r = enricher.enrich("POS DEBIT 0412 BLUE MOON LAUNDROMAT LLC 5551234567 AUSTIN TX")
    assert r.merchant_name == "Blue Moon Laundromat"


def test_mcc_categorises_an_unknown_merchant(enricher: Enricher) -> None:
    r = enricher.enrich("SQ *ROSALINDAS 0423 TUCSON AZ", direction="debit", mcc="5812")
    assert r.category == "Restaurants"
    assert r.mcc_description == "Eating Places, Restaurants"


def test_results_are_memoised(enricher: Enricher) -> None:
    a = enricher.enrich("STARBUCKS STORE 1234 SEATTLE WA", direction="debit")
    b = enricher.enrich("STARBUCKS STORE 9876 SEATTLE WA", direction="debit")
    assert a is b
    c = enricher.enrich("STARBUCKS STORE 9876 SEATTLE WA", direction="credit")
    assert c is not a
