"""A small synthetic FI written straight into a lake, with the KLIs each customer should get."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.insights.lakefixtures import txn, write_feed

AS_OF = date(2026, 11, 20)
PARTNER = "acme"


def key_code(key: str) -> int:
    """A stable code per key (engines may meet keys in any order)."""
    return 1_000_000 + int(hashlib.sha256(key.encode()).hexdigest()[:7], 16)


def hash_lookup(key: str) -> int | None:
    if key.startswith("merchant:unknown"):
        return None  # a merchant the taxonomy does not know
    return key_code(key)


def d(days_ago: int) -> date:
    return AS_OF - timedelta(days=days_ago)


def build(lake: Path, partner: str = PARTNER) -> dict[str, set[str]]:
    """Write the FI; return the keys each customer must hold (a subset of what it gets)."""
    t: list[dict[str, Any]] = []
    n = iter(range(1, 10_000))

    def add(ucic: str, days_ago: int, amount: float, **kw: Any) -> None:
        t.append(txn(f"T{next(n):05d}", ucic, d(days_ago), amount, **kw))

    coffee = {
        "merchant_id": "starbucks",
        "category": "Coffee Shops",
        "category_group": "Food & Dining",
    }
    # c1: coffee drinker, recurring mortgage at wells-fargo, one-off chase auto payment,
    # new utility + moving spend + address change → new mover
    for day in (2, 6, 10, 15, 25, 40, 200):
        add("c1", day, 5.25, **coffee)
    for day in (5, 35, 65, 95, 125, 155, 185, 215, 245, 275, 305, 335):
        add(
            "c1",
            day,
            1850.0,
            transaction_kind="ach_debit",
            competitive_fi_id="wells-fargo",
            fi_product="mortgage",
            category="Mortgage Payment",
            category_group="Financial",
        )
    add(
        "c1",
        20,
        420.0,
        transaction_kind="ach_debit",
        competitive_fi_id="chase",
        fi_product="auto_loan",
        category="Auto Loan Payment",
        category_group="Financial",
    )
    add(
        "c1",
        30,
        95.0,
        transaction_kind="ach_debit",
        merchant_id="pacific-gas-and-electric",
        category="Electricity & Gas",
        category_group="Bills & Utilities",
    )
    add("c1", 28, 650.0, merchant_id="u-haul", category="Storage & Moving", category_group="Home")
    add(
        "c1",
        27,
        250.0,
        merchant_id="the-home-depot",
        category="Home Improvement",
        category_group="Home",
    )
    add("c1", 12, 3.0, merchant_id="unknown-shop", category="Gift Shops", category_group="Shopping")
    # c2: payroll from acme_corp until 70 days ago, then globex_inc → new job; pet owner
    for day in (340, 310, 280, 250, 220, 190, 160, 130, 100, 85, 70):
        add(
            "c2",
            day,
            2100.0,
            direction="credit",
            transaction_kind="payroll",
            merchant_id="acme_corp",
            category="Payroll",
            category_group="Income",
        )
    for day in (40, 26, 12):
        add(
            "c2",
            day,
            2500.0,
            direction="credit",
            transaction_kind="payroll",
            merchant_id="globex_inc",
            category="Payroll",
            category_group="Income",
        )
    for day in (10, 50, 90):
        add("c2", day, 60.0, merchant_id="petco", category="Pet Stores", category_group="Pets")
    add("c2", 300, 12.0, merchant_id="target", category="Superstores", category_group="Shopping")
    # c3: business customer buying office supplies; Venmo user (competitive activity)
    for day in (3, 33, 63):
        add(
            "c3",
            day,
            240.0,
            merchant_id="staples",
            category="Office Supplies",
            category_group="Shopping",
        )
    add(
        "c3",
        8,
        50.0,
        transaction_kind="p2p",
        competitive_fi_id="venmo",
        fi_product="p2p",
        merchant_id="venmo",
        category="P2P Payment",
        category_group="Transfers",
    )
    # c4: old activity only (before the windows) and a quote that must be escaped
    add("c4", 500, 10.0, merchant_id="target", category="Superstores", category_group="Shopping")
    t.append(
        txn(
            'T"9\\',
            "c4",
            d(4),
            15.0,
            merchant_id="target",
            category="Superstores",
            category_group="Shopping",
        )
    )
    write_feed(lake, "enriched_transactions", partner, t)

    write_feed(
        lake,
        "customers",
        partner,
        [
            _cust("c1", "I", 1980, date(2012, 5, 1), 85000),
            _cust("c2", "I", 1995, date(2024, 3, 1), 52000),
            _cust("c3", "B", None, date(2019, 1, 1), None),
            _cust("c4", "I", 1950, date(2026, 9, 1), 30000),
        ],
    )
    snapshot = [
        _acct("a1", "c1", "checking", 6000, date(2012, 5, 1)),
        _acct("a2", "c1", "mortgage", -250000, date(2015, 1, 1)),
        _acct("a3", "c2", "checking", 900, date(2024, 3, 1)),
        _acct("a4", "c3", "business_checking", 40000, date(2019, 1, 1)),
        _acct("a5", "c4", "savings", 300, date(2026, 9, 1)),
    ]
    write_feed(lake, "accounts", partner, [{**r, "as_of": d(0)} for r in snapshot])
    # 100 days ago c2 held much more: balance decline feeds churn risk
    before = [{**r, "as_of": d(100)} for r in snapshot]
    before[2] = {**before[2], "balance": 9000}
    write_feed(lake, "accounts", partner, before)

    write_feed(
        lake,
        "events",
        partner,
        [
            _event("e1", "c1", "address_changed", 20),
            _event("e2", "c4", "account_opened", 80),
            _event("e3", "c4", "account_funded", 79),
            _event("e4", "c4", "first_login", 78),
            _event("e5", "c4", "direct_deposit_setup", 70),
            _event("e6", "c4", "mobile_app_installed", 70),
        ],
    )
    tel = []
    for day in range(1, 25, 3):
        tel.append(_tel("c1", day, logins=1, bill_pay=1 if day < 10 else 0))
    tel.append(_tel("c3", 5, logins=2, rdc=1))
    write_feed(lake, "telemetry", partner, tel)

    return {
        "c1": {
            "merchant:starbucks",
            "category:food-dining/coffee-shops",
            "lifestyle:coffee_drinker",
            "competitive_product:mortgage:wells-fargo",
            "competitive_bank:wells-fargo",
            "fi_product:checking",
            "fi_product:mortgage",
            "segment:balance:3",
            "segment:income:3",
            "segment:tenure:4",
            "segment:age:3",
            "behaviour:bill_pay_user",
            "behaviour:digital_active",
            "life_event:new_mover",
        },
        "c2": {
            "behaviour:direct_deposit",
            "life_event:new_job",
            "lifestyle:pet_owner",
            "merchant:petco",
            "fi_product:checking",
            "segment:balance:1",
            "segment:tenure:2",
        },
        "c3": {
            "business_spend:merchant:staples",
            "business_spend:category:shopping/office-supplies",
            "competitive_activity:venmo",
            "behaviour:rdc_user",
            "fi_product:business_checking",
            "segment:balance:4",
        },
        "c4": {"merchant:target", "fi_product:savings", "segment:age:5", "segment:tenure:1"},
    }


#: keys a customer must NOT get (precision guards)
FORBIDDEN = {
    "c1": {
        "competitive_product:auto_loan:chase",
        "competitive_bank:chase",
        "merchant:unknown-shop",
    },
    "c2": {"merchant:acme_corp", "life_event:new_mover", "merchant:target"},
    "c4": {"life_event:new_mover"},
}


def _cust(
    ucic: str, kind: str, birth: int | None, since: date, income: float | None
) -> dict[str, Any]:
    return {
        "ucic": ucic,
        "ucic_type": kind,
        "birth_year": birth,
        "customer_since": since,
        "annual_income": income,
        "state": "CA",
        "as_of": d(0),
    }


def _acct(account: str, ucic: str, product: str, balance: float, opened: date) -> dict[str, Any]:
    return {
        "account_id": account,
        "ucic": ucic,
        "product": product,
        "balance": balance,
        "open_date": opened,
        "status": "open",
    }


def _event(event_id: str, ucic: str, kind: str, days_ago: int) -> dict[str, Any]:
    at = datetime.combine(d(days_ago), datetime.min.time(), tzinfo=UTC) + timedelta(hours=15)
    return {"event_id": event_id, "ucic": ucic, "type": kind, "occurred_at": at}


def _tel(ucic: str, days_ago: int, **counts: int) -> dict[str, Any]:
    base = {"logins": 0, "bill_pay": 0, "p2p": 0, "rdc": 0}
    return {"ucic": ucic, "date": d(days_ago), "channel": "mobile", **base, **counts}
