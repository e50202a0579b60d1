"""Descriptor keys (Python == DuckDB SQL), ACH parsing, city/state, kinds and the matcher."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sightline.enrich.kinds import recognise
from sightline.enrich.matcher import AliasIndex, match_form
from sightline.enrich.normalise import (
    descriptor_key,
    key_sql,
    parse,
    parse_ach,
    split_location,
    title_name,
)

SAMPLES = [
    "SQ *PIRATES COVE MINI G 0423",
    "PURCHASE AUTHORIZED ON 04/12 STARBUCKS STORE 05812 SEATTLE WA S583103040118954 CARD 1234",
    "ORIG CO NAME:CHASE CREDIT CRD ORIG ID:4760039224 DESC DATE:230412 CO ENTRY DESCR:AUTOPAY "
    "SEC:PPD TRACE#:021000021234567 EED:230412 IND ID:123456789 IND NAME:JANE DOE "
    "TRN: 1021234567TC",
    "WELLS FARGO HOME DES:MTG PAYMT ID:XXXXX12345 INDN:JOHN SMITH CO ID:XXXXX12345 PPD",
    "1-800-FLOWERS.COM 800-468-1141 NY",
    "7-ELEVEN 35412 DALLAS TX",
    "PHILLIPS 66 - 12345 TULSA OK",
    "AMZN Mktp US*2K4LR1AB2 Amzn.com/bill WA",
    "CHECKCARD 0412 MCDONALD'S F1234 BOSTON MA 24431063102600001234567",
    "McDonald's #4412 (617) 555-0134 $12.50 10:42 PM",
    "",
    "   ",
]


def test_key_removes_what_varies() -> None:
    assert descriptor_key("SQ *PIRATES COVE MINI G 0423") == "SQ *PIRATES COVE MINI G"
    assert descriptor_key("7-ELEVEN 35412 DALLAS TX") == "7-ELEVEN DALLAS TX"
    assert descriptor_key("PHILLIPS 66 - 12345 TULSA OK") == "PHILLIPS 66 - TULSA OK"
    # aliases go through the same function, so 1-800-FLOWERS still matches its alias
    assert descriptor_key("1-800-FLOWERS.COM 800-468-1141 NY") == "1- -FLOWERS.COM NY"
    assert descriptor_key("TARGET T-1234 AUSTIN TX") == "TARGET T AUSTIN TX"
    a = descriptor_key("STARBUCKS STORE 05812 SEATTLE WA 04/12 CARD 1234")
    b = descriptor_key("STARBUCKS STORE 00931 SEATTLE WA 05/02 CARD 9876")
    assert a == b


@pytest.mark.parametrize("raw", SAMPLES)
def test_key_sql_equals_python(raw: str) -> None:
    con = duckdb.connect()
    got = con.execute(f"SELECT {key_sql('d')} FROM (SELECT ? AS d)", [raw]).fetchone()
    assert got is not None
    assert got[0] == descriptor_key(raw)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                *("SQ", "*", "#", "12", "123", "4567", "X1234", "04/12", "TST*", "CA", "PAY"),
                *("-", ":", "800-555-1234", "A1B2C3", "DES:", "JOE'S", "$4.50", "10:42", " "),
                *("  ", "/", "."),
            ]
        ),
        max_size=12,
    )
)
def test_key_sql_equals_python_on_generated_text(parts: list[str]) -> None:
    raw = " ".join(parts)
    con = _con()
    got = con.execute(f"SELECT {key_sql('d')} FROM (SELECT ? AS d)", [raw]).fetchone()
    assert got is not None and got[0] == descriptor_key(raw)


_CONN: list[duckdb.DuckDBPyConnection] = []


def _con() -> duckdb.DuckDBPyConnection:
    if not _CONN:
        _CONN.append(duckdb.connect())
    return _CONN[0]


def test_ach_layouts() -> None:
    chase = parse_ach(descriptor_key(SAMPLES[2]))
    assert chase is not None
    assert (chase.company, chase.entry) == ("CHASE CREDIT CRD", "AUTOPAY")
    bofa = parse_ach(descriptor_key(SAMPLES[3]))
    assert bofa is not None
    assert (bofa.company, bofa.entry) == ("WELLS FARGO HOME", "MTG PAYMT")
    web = parse_ach(descriptor_key("CAPITAL ONE MOBILE PMT 230415 PPD ID: 9541719318"))
    assert web is not None and web.company == "CAPITAL ONE MOBILE PMT"
    assert parse_ach("STARBUCKS SEATTLE WA") is None
    # individual names never end up in the parsed parts
    parsed = parse(descriptor_key(SAMPLES[2]))
    assert "JANE" not in f"{parsed.text} {parsed.head} {parsed.tail} {parsed.ach}"


def test_city_and_state() -> None:
    assert split_location("JOES DINER SPRINGFIELD IL") == ("JOES DINER", "SPRINGFIELD", "IL")
    assert split_location("PIRATES COVE MINI G MYRTLE BEACH SC") == (
        "PIRATES COVE MINI G",
        "MYRTLE BEACH",
        "SC",
    )
    assert split_location("NETFLIX.COM CA") == ("NETFLIX.COM", None, "CA")
    assert split_location("STARBUCKS") == ("STARBUCKS", None, None)
    assert split_location("SHELL SERVICE STATION") == ("SHELL SERVICE STATION", None, None)
    assert split_location("TARGET ST LOUIS MO US") == ("TARGET", "ST LOUIS", "MO")


def test_card_words_and_processor_prefix() -> None:
    p = parse(descriptor_key(SAMPLES[1]))
    assert (p.text, p.city, p.state) == ("STARBUCKS STORE", "SEATTLE", "WA")
    assert p.lead_words == ("PURCHASE AUTHORIZED ON",)
    sq = parse(descriptor_key(SAMPLES[0]))
    assert (sq.head, sq.tail) == ("SQ", "PIRATES COVE MINI G")
    for raw in ("DEBIT CARD PURCHASE XXXXX1234 KROGER #123", "POS KROGER 123", "RECURRING KROGER"):
        assert parse(descriptor_key(raw)).text == "KROGER"


def test_title_name() -> None:
    assert title_name("JOES BBQ & GRILL") == "Joes BBQ & Grill"
    assert title_name("MCDONALDS OF THE VALLEY") == "McDonalds of the Valley"


@pytest.mark.parametrize(
    ("raw", "direction", "channel", "kind"),
    [
        ("STARBUCKS STORE 123", "debit", None, "card_purchase"),
        ("STARBUCKS STORE 123", "debit", "card", "card_purchase"),
        ("COMCAST DES:CABLE PMT ID:123 INDN:X CO ID:1 WEB", "debit", None, "ach_debit"),
        ("IRS TREAS 310 TAX REF", "credit", "ach", "ach_credit"),
        ("ACME INC DES:PAYROLL", "credit", None, "payroll"),
        ("VENMO CASHOUT", "credit", None, "p2p"),
        ("CASH APP*JOHN SMITH OAKLAND CA", "debit", None, "p2p"),
        ("PAYPAL INST XFER 1234", "debit", None, "p2p"),
        ("ONLINE TRANSFER FROM SAVINGS 1234", "credit", None, "transfer"),
        ("WIRE TYPE:INTL OUT", "debit", None, "transfer"),
        ("ATM WITHDRAWAL", "debit", None, "atm"),
        ("CHECK 1234", "debit", None, "check"),
        ("CHECKCARD 0412 SHELL OIL", "debit", None, "card_purchase"),
        ("DIVIDEND EARNED", "credit", None, "interest"),
        ("FOREIGN TRANSACTION FEE", "debit", None, "fee"),
        ("AMAZON.COM REFUND", "credit", None, "refund"),
        ("ANYTHING", "debit", "fee", "fee"),
    ],
)
def test_kinds(raw: str, direction: str, channel: str | None, kind: str) -> None:
    assert recognise(parse(descriptor_key(raw)), direction=direction, channel=channel) == kind


def test_alias_index_exact_prefix_fuzzy() -> None:
    index = AliasIndex(
        [("DICK'S SPORTING GOODS", "dicks"), ("TARGET", "target"), ("WAL-MART", "walmart")]
    )
    assert match_form("Dick's Sporting Goods #12") == "DICKS SPORTING GOODS 12"
    hit = index.best_exact("DICKS SPORTING GOODS 12")
    assert hit is not None and (hit.target, hit.how) == ("dicks", "exact")
    assert index.best_exact("TARGETED ADS") is None  # token boundaries
    assert index.best_exact("WALMART") is not None  # joined variant
    pre = index.prefix("DICKS SPORTING GO")
    assert pre is not None and (pre.target, pre.how) == ("dicks", "prefix")
    fz = index.fuzzy("DICKS SPORTNG GOODS")
    assert fz is not None and fz.target == "dicks" and fz.how == "fuzzy"
    assert index.fuzzy("ZZZZZZZZ") is None
