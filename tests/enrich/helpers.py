"""A tiny, hand-written directory so engine tests do not depend on the packaged data."""

from __future__ import annotations

from sightline.enrich import categories as taxonomy
from sightline.enrich.directory import Directory, Institution, MccInfo, Merchant


def merchant(
    merchant_id: str,
    name: str,
    group: str,
    category: str,
    aliases: tuple[str, ...] = (),
    *,
    kind: str = "brand",
    mccs: tuple[str, ...] = (),
) -> Merchant:
    return Merchant(
        merchant_id=merchant_id,
        name=name,
        category_group=group,
        category=category,
        mccs=mccs,
        aliases=(name.upper(), *aliases),
        kind=kind,
        domain=None,
        wikidata=None,
        logo_url=f"https://logo.example/{merchant_id}.png",
        source="curated",
    )


def institution(
    institution_id: str,
    name: str,
    type_: str,
    products: tuple[str, ...],
    aliases: tuple[str, ...] = (),
    statement_names: dict[str, tuple[str, ...]] | None = None,
) -> Institution:
    return Institution(
        institution_id=institution_id,
        name=name,
        type=type_,
        products=products,
        aliases=(name.upper(), *aliases),
        statement_names=statement_names or {},
        wikidata=None,
        source="curated",
    )


FOOD, SHOP, ENT = "Food & Dining", "Shopping", "Entertainment"

MERCHANTS = (
    merchant("starbucks", "Starbucks", FOOD, "Coffee Shops", ("STARBUCKS COFFEE",), mccs=("5814",)),
    merchant(
        "mcdonalds", "McDonald's", FOOD, "Fast Food", ("MCDONALDS", "MCDONALD"), mccs=("5814",)
    ),
    merchant("doordash", "DoorDash", FOOD, "Food Delivery", ("DOORDASH",), kind="delivery"),
    merchant(
        "uber-eats", "Uber Eats", FOOD, "Food Delivery", ("UBER EATS", "UBEREATS"), kind="delivery"
    ),
    merchant("grubhub", "Grubhub", FOOD, "Food Delivery", ("GRUBHUB",), kind="delivery"),
    merchant("uber", "Uber", "Auto & Transport", "Ride Share & Taxi", ("UBER", "UBER TRIP")),
    merchant(
        "amazon",
        "Amazon",
        SHOP,
        "Online Marketplaces",
        ("AMAZON", "AMZN MKTP", "AMZN MKTP US", "AMAZON.COM", "AMZN"),
        kind="marketplace",
        mccs=("5942",),
    ),
    merchant("etsy", "Etsy", SHOP, "Online Marketplaces", ("ETSY",), kind="marketplace"),
    merchant(
        "netflix",
        "Netflix",
        ENT,
        "Streaming Video",
        ("NETFLIX", "NETFLIX.COM"),
        kind="subscription",
    ),
    merchant(
        "youtube",
        "YouTube",
        ENT,
        "Streaming Video",
        ("YOUTUBE", "YOUTUBE PREMIUM"),
        kind="subscription",
    ),
    merchant("target", "Target", SHOP, "Superstores", ("TARGET",)),
    merchant("walmart", "Walmart", SHOP, "Superstores", ("WAL-MART", "WM SUPERCENTER")),
    merchant("dicks", "Dick's Sporting Goods", SHOP, "Sporting Goods", ("DICKS SPORTING GOODS",)),
    merchant("7-eleven", "7-Eleven", SHOP, "Convenience Stores", ("7-ELEVEN", "7 ELEVEN")),
    merchant("shell", "Shell", "Auto & Transport", "Gas Stations", ("SHELL", "SHELL OIL")),
    merchant("geico", "GEICO", "Financial", "Insurance", ("GEICO",), kind="insurer"),
    merchant("venmo", "Venmo", "Transfers", "P2P Payment", ("VENMO",), kind="p2p"),
    merchant("zelle", "Zelle", "Transfers", "P2P Payment", ("ZELLE",), kind="p2p"),
    merchant("paypal", "PayPal", "Financial", "Financial Services", ("PAYPAL",), kind="processor"),
    merchant("acme-corp", "Acme Corp", "Business Services", "Business Services", ("ACME CORP",)),
)

INSTITUTIONS = (
    institution(
        "chase",
        "Chase",
        "bank",
        ("mortgage", "heloc", "auto_loan", "credit_card", "deposit"),
        ("CHASE", "JPMORGAN CHASE"),
        {"credit_card": ("CHASE CREDIT CRD",), "mortgage": ("CHASE MORTGAGE",)},
    ),
    institution(
        "wells-fargo",
        "Wells Fargo",
        "bank",
        ("mortgage", "auto_loan", "credit_card", "deposit", "personal_loan"),
        ("WELLS FARGO", "WF"),
        {"mortgage": ("WELLS FARGO HOME MTG", "WELLS FARGO HOME")},
    ),
    institution(
        "capital-one",
        "Capital One",
        "bank",
        ("credit_card", "auto_loan", "deposit"),
        ("CAPITAL ONE",),
    ),
    institution(
        "amex", "American Express", "card_issuer", ("credit_card",), ("AMEX", "AMERICAN EXPRESS")
    ),
    institution("navient", "Navient", "student_loan_servicer", ("student_loan",), ("NAVIENT",)),
    institution("geico", "GEICO", "insurer", ("insurance",), ("GEICO",)),
    institution("venmo", "Venmo", "p2p", ("p2p",), ("VENMO",)),
    institution(
        "schwab", "Charles Schwab", "brokerage", ("investment",), ("SCHWAB", "CHARLES SCHWAB")
    ),
    institution("ally", "Ally", "bank", ("auto_loan", "deposit"), ("ALLY", "ALLY BANK")),
)


def tiny_directory() -> Directory:
    mcc: dict[str, MccInfo] = {}
    for code, description in (
        ("5814", "Fast Food Restaurants"),
        ("5812", "Eating Places, Restaurants"),
        ("5411", "Grocery Stores, Supermarkets"),
        ("5942", "Book Stores"),
        ("5541", "Service Stations"),
    ):
        cat = taxonomy.category_for_mcc(code)
        assert cat is not None
        mcc[code] = MccInfo(code, description, cat.category_group, cat.category)
    return Directory(
        merchants=MERCHANTS,
        institutions=INSTITUTIONS,
        categories=taxonomy.CATEGORIES,
        mcc=mcc,
        version="test",
    )
