"""Derive the KLI tree from the merchant directory and the fixed branch definitions, and merge it
into the append-only registry.

Keys are stable strings (``merchant:starbucks``, ``competitive_product:mortgage:wells-fargo``);
codes are allocated to new keys only, in the order this module yields them, so running the build
twice changes nothing. The directory is passed in (``sightline taxonomy build`` loads it), which
keeps the run-time taxonomy free of any dependency on the enrichment package.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from sightline.ingest.schemas import PRODUCTS
from sightline.taxonomy.registry import BASE, FIXED_CODES, RegistryError, RegistryRow


class MerchantLike(Protocol):
    @property
    def merchant_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def category_group(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def mccs(self) -> tuple[str, ...]: ...
    @property
    def kind(self) -> str: ...


class InstitutionLike(Protocol):
    @property
    def institution_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def products(self) -> tuple[str, ...]: ...


class CategoryLike(Protocol):
    @property
    def category_group(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def mccs(self) -> tuple[str, ...]: ...


class DirectoryLike(Protocol):
    @property
    def merchants(self) -> Sequence[MerchantLike]: ...
    @property
    def institutions(self) -> Sequence[InstitutionLike]: ...
    @property
    def categories(self) -> Sequence[CategoryLike]: ...


@dataclass(frozen=True, slots=True)
class NodeSpec:
    key: str
    name: str
    description: str
    parent_key: str | None
    competitive: bool
    leaf: bool


# --- fixed vocabularies --------------------------------------------------------------------------

BRANCHES: tuple[tuple[str, str, str, bool], ...] = (
    (
        "consumer_spend",
        "Consumer Spend",
        "Where customers spend: merchants under categories.",
        False,
    ),
    (
        "competitive_fi_products",
        "Competitive FI Products",
        "Products customers hold at other institutions, by product type then institution.",
        True,
    ),
    (
        "competitive_banks",
        "Competitive Banks",
        "Institutions customers have a relationship with, one leaf per institution.",
        True,
    ),
    ("fi_products", "FI Products", "Products customers hold with this FI.", False),
    (
        "competitive_fi_activity",
        "Competitive FI Activity",
        "Use of P2P apps, fintechs, buy-now-pay-later, crypto, payday and earned-wage apps.",
        True,
    ),
    ("customer_behaviour", "Customer Behaviour", "Digital banking and service usage.", False),
    ("life_events", "Life Events", "Recent life events inferred from activity.", False),
    ("lifestyle", "Lifestyle / Spend Patterns", "Habits and interests seen in spending.", False),
    ("client_segmentation", "Client Segmentation", "Bands and segments of the customer.", False),
    ("predictive", "Predictive Indicators", "Model scores in bands.", False),
    ("business_spend", "Business Spend", "Spend of business customers.", False),
)

PRODUCT_NAMES = {
    "checking": "Checking Account",
    "savings": "Savings Account",
    "money_market": "Money Market Account",
    "cd": "Certificate of Deposit",
    "ira": "IRA",
    "brokerage": "Brokerage Account",
    "credit_card": "Credit Card",
    "mortgage": "Consumer Mortgage Loan",
    "heloc": "Home Equity Line of Credit",
    "auto_loan": "Auto Loan",
    "personal_loan": "Personal Loan",
    "student_loan": "Student Loan",
    "business_checking": "Business Checking Account",
    "business_savings": "Business Savings Account",
    "business_credit_card": "Business Credit Card",
    "business_loan": "Business Loan",
}

# Competitive FI Products: products held elsewhere; the rest of FI_PRODUCTS are "activity".
COMPETITIVE_PRODUCTS = {
    "mortgage": "Mortgage",
    "heloc": "Home Equity",
    "auto_loan": "Auto Loan",
    "credit_card": "Credit Card",
    "student_loan": "Student Loan",
    "personal_loan": "Personal Loan",
    "investment": "Investments",
    "insurance": "Insurance",
    "deposit": "Deposit Account",
}
ACTIVITY_GROUPS = {
    "p2p": "P2P Payment Apps",
    "fintech": "Fintech Apps",
    "bnpl": "Buy Now Pay Later",
    "crypto": "Crypto Exchanges",
    "payday": "Payday Lenders",
    "ewa": "Earned Wage Access",
}
# Institutions that are activity (apps), not banking relationships: no Competitive Banks leaf.
NON_BANK_TYPES = frozenset({"p2p", "bnpl", "crypto", "payday", "ewa"})
# Merchant kinds that are financial counterparties (covered by the institution branches).
NON_SPEND_KINDS = frozenset({"processor", "payroll", "p2p", "fintech", "bnpl", "crypto", "lender"})

BEHAVIOURS = {
    "bill_pay_user": "Bill Pay User",
    "heavy_bill_pay_user": "Heavy Bill Pay User",
    "p2p_user": "P2P User",
    "rdc_user": "Remote Deposit Capture User",
    "direct_deposit": "Direct Deposit",
    "payroll_direct_deposit": "Payroll Direct Deposit",
    "debit_card_user": "Debit Card User",
    "heavy_debit_card_user": "Heavy Debit Card User",
    "credit_card_user": "Credit Card User",
    "mobile_user": "Mobile Banking User",
    "web_user": "Online Banking User",
    "digital_active": "Digitally Active",
    "heavy_digital": "Heavy Digital User",
    "light_digital": "Light Digital User",
    "digitally_inactive": "Digitally Inactive",
    "estatements": "eStatements",
    "atm_user": "ATM User",
    "check_writer": "Check Writer",
    "wire_user": "Wire Transfer User",
    "overdraft_fees": "Pays Overdraft Fees",
    "recurring_transfers": "Recurring Internal Transfers",
    "card_activated": "Card Activated",
    "branch_user": "Branch User",
    "interest_earner": "Earns Interest",
    "dormant": "Dormant Customer",
}

LIFE_EVENTS = {
    "new_mover": "New Mover",
    "new_baby": "New Baby",
    "wedding": "Wedding",
    "new_vehicle": "New Vehicle",
    "college": "College",
    "retirement": "Retirement",
    "new_job": "New Job",
    "home_purchase": "Home Purchase",
    "job_loss": "Job Loss",
    "new_business": "New Business",
    "graduation": "Graduation",
    "divorce": "Divorce",
}

LIFESTYLES = {
    "coffee_drinker": "Coffee Drinker",
    "frequent_traveller": "Frequent Traveller",
    "international_traveller": "International Traveller",
    "cruise_traveller": "Cruise Traveller",
    "pet_owner": "Pet Owner",
    "gamer": "Gamer",
    "fitness_enthusiast": "Fitness Enthusiast",
    "foodie": "Dines Out Often",
    "fast_food": "Fast Food Regular",
    "meal_kit": "Meal Kit Subscriber",
    "grocery_delivery": "Grocery Delivery User",
    "food_delivery": "Food Delivery User",
    "online_shopper": "Online Shopper",
    "luxury_shopper": "Luxury Shopper",
    "bargain_shopper": "Bargain Shopper",
    "warehouse_club": "Warehouse Club Member",
    "streamer": "Streaming Subscriber",
    "music_streaming": "Music Streaming Subscriber",
    "home_improvement": "Home Improvement",
    "gardener": "Gardener",
    "outdoor_enthusiast": "Outdoor Enthusiast",
    "sports_fan": "Sports Fan",
    "concert_goer": "Concert Goer",
    "moviegoer": "Moviegoer",
    "book_reader": "Book Reader",
    "parent": "Parent",
    "student": "Student",
    "commuter": "Commuter",
    "rideshare_user": "Rideshare User",
    "ev_owner": "Electric Vehicle Owner",
    "car_enthusiast": "Car Enthusiast",
    "golfer": "Golfer",
    "crafter": "Arts and Crafts",
    "beauty": "Beauty and Personal Care",
    "fashion": "Fashion Shopper",
    "tech_enthusiast": "Tech Enthusiast",
    "wine_lover": "Wine Lover",
    "charitable_giver": "Charitable Giver",
    "gambler": "Gaming and Lottery",
    "health_conscious": "Health Conscious",
    "camper": "Camper",
    "boater": "Boater",
}

# Band edges: the same as the band rules in ``sightline/data/kli_rules.yaml`` (band n is
# [edges[n-2], edges[n-1]); band 1 is below the first edge). A test keeps them in step.
BANDS: dict[str, tuple[str, tuple[float, ...], str]] = {
    "balance": ("Balance", (1000, 5000, 25000, 100000), "${:,.0f}"),
    "income": ("Income", (35000, 60000, 100000, 200000), "${:,.0f}"),
    "tenure": ("Tenure", (1, 3, 10), "{:g} years"),
    "age": ("Age", (25, 35, 50, 65), "{:g}"),
}
SEGMENT_CHOICES: dict[str, tuple[str, dict[str, str]]] = {
    "customer_type": ("Customer Type", {"I": "Individual", "B": "Business"}),
    "life_stage": (
        "Life Stage",
        {
            "student": "Student",
            "young_adult": "Young Adult",
            "young_family": "Young Family",
            "established_family": "Established Family",
            "empty_nester": "Empty Nester",
            "retiree": "Retiree",
        },
    ),
    "relationship": ("Relationship", {"primary": "Primary FI", "secondary": "Secondary FI"}),
    "product_count": (
        "Products Held",
        {"1": "1 product", "2": "2 products", "3": "3 products", "4": "4+ products"},
    ),
}
LEVELS = {"low": "Low", "medium": "Medium", "high": "High"}
PREDICTIVE = {
    "activation": "Activation Score",
    "churn_risk": "Churn Risk",
    "credit_risk": "Credit Risk",
    "digital_adoption": "Digital Adoption Likelihood",
}

# MCCs whose categories matter to business customers (supplies, services, logistics, travel).
BUSINESS_MCCS = frozenset(
    {
        "4214", "4215", "4812", "4814", "4816", "4899", "4900", "5021", "5044", "5045", "5046",
        "5047", "5065", "5072", "5085", "5111", "5169", "5172", "5198", "5199", "5200", "5211",
        "5943", "7311", "7333", "7338", "7339", "7342", "7349", "7361", "7372", "7374", "7379",
        "7392", "7393", "7394", "7399", "8111", "8931", "8999", "4722", "4511", "7011", "5542",
        "4121", "7512", "5734",
    }
)  # fmt: skip


BUSINESS_GROUP = "Business Services"


def slug(text: str) -> str:
    """``Food & Dining`` → ``food-dining``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower().replace("&", " ")).strip("-")


def _branch(key: str) -> str:
    return f"branch:{key}"


def build_specs(directory: DirectoryLike) -> Iterator[NodeSpec]:
    """Every node of the shipped taxonomy, parents before children, in a deterministic order."""
    for key, name, description, competitive in BRANCHES:
        yield NodeSpec(_branch(key), name, description, None, competitive, False)
    yield from _consumer_spend(directory)
    yield from _competitive(directory)
    yield from _fi_products()
    yield from _simple("customer_behaviour", "behaviour", BEHAVIOURS, "Customers who are: {}.")
    yield from _simple("life_events", "life_event", LIFE_EVENTS, "Customers with a recent {}.")
    yield from _simple("lifestyle", "lifestyle", LIFESTYLES, "Spend pattern: {}.")
    yield from _segments()
    yield from _predictive()
    yield from _business_spend(directory)


def _categories(directory: DirectoryLike) -> list[CategoryLike]:
    return sorted(directory.categories, key=lambda c: (c.category_group, c.category))


def _consumer_spend(directory: DirectoryLike) -> Iterator[NodeSpec]:
    root = _branch("consumer_spend")
    seen_groups: set[str] = set()
    for cat in _categories(directory):
        group = slug(cat.category_group)
        if group not in seen_groups:
            seen_groups.add(group)
            yield NodeSpec(
                f"category_group:{group}",
                cat.category_group,
                f"Spend in {cat.category_group}.",
                root,
                False,
                False,
            )
        yield NodeSpec(
            f"category:{group}/{slug(cat.category)}",
            cat.category,
            f"Spend in {cat.category_group} / {cat.category}.",
            f"category_group:{group}",
            False,
            False,
        )
    for m in sorted(directory.merchants, key=lambda m: m.merchant_id):
        if m.kind in NON_SPEND_KINDS:
            continue
        yield NodeSpec(
            f"merchant:{m.merchant_id}",
            m.name,
            f"Customers who shop at {m.name} ({m.category_group} / {m.category}).",
            f"category:{slug(m.category_group)}/{slug(m.category)}",
            False,
            True,
        )


def _competitive(directory: DirectoryLike) -> Iterator[NodeSpec]:
    institutions = sorted(directory.institutions, key=lambda i: i.institution_id)
    products_root = _branch("competitive_fi_products")
    for product, label in COMPETITIVE_PRODUCTS.items():
        yield NodeSpec(
            f"competitive_product:{product}",
            f"Competitive {label}",
            f"Customers with a {label.lower()} at another institution.",
            products_root,
            True,
            False,
        )
    for inst in institutions:
        for product in inst.products:
            if product in COMPETITIVE_PRODUCTS:
                label = COMPETITIVE_PRODUCTS[product]
                yield NodeSpec(
                    f"competitive_product:{product}:{inst.institution_id}",
                    f"{label} — {inst.name}",
                    f"Customers with a {label.lower()} at {inst.name}.",
                    f"competitive_product:{product}",
                    True,
                    True,
                )
    banks_root = _branch("competitive_banks")
    for inst in institutions:
        if inst.type not in NON_BANK_TYPES:
            yield NodeSpec(
                f"competitive_bank:{inst.institution_id}",
                inst.name,
                f"Customers with a relationship with {inst.name} ({inst.type.replace('_', ' ')}).",
                banks_root,
                True,
                True,
            )
    activity_root = _branch("competitive_fi_activity")
    for group, label in ACTIVITY_GROUPS.items():
        yield NodeSpec(
            f"competitive_activity_type:{group}",
            label,
            f"Customers using {label.lower()}.",
            activity_root,
            True,
            False,
        )
    for inst in institutions:
        kind = activity_group(inst)
        if kind is not None:
            yield NodeSpec(
                f"competitive_activity:{inst.institution_id}",
                inst.name,
                f"Customers using {inst.name} ({ACTIVITY_GROUPS[kind]}).",
                f"competitive_activity_type:{kind}",
                True,
                True,
            )


def activity_group(inst: InstitutionLike) -> str | None:
    """The Competitive FI Activity group of an institution (its first app-like product, else
    ``fintech`` for fintechs), or ``None`` when it is not an activity."""
    for product in inst.products:
        if product in ACTIVITY_GROUPS:
            return product
    if inst.type in ACTIVITY_GROUPS:
        return inst.type
    return None


def _fi_products() -> Iterator[NodeSpec]:
    for product in PRODUCTS:
        name = PRODUCT_NAMES.get(product, product.replace("_", " ").title())
        yield NodeSpec(
            f"fi_product:{product}",
            name,
            f"Customers who hold a {name.lower()} with this FI.",
            _branch("fi_products"),
            False,
            True,
        )


def _simple(branch: str, prefix: str, items: dict[str, str], template: str) -> Iterator[NodeSpec]:
    for key, name in items.items():
        yield NodeSpec(
            f"{prefix}:{key}", name, template.format(name.lower()), _branch(branch), False, True
        )


def band_labels(edges: Sequence[float], fmt: str) -> list[str]:
    """``[1000, 5000]`` → ``["under $1,000", "$1,000 to $5,000", "$5,000 and over"]``."""
    labels = [f"under {fmt.format(edges[0])}"]
    labels += [f"{fmt.format(a)} to {fmt.format(b)}" for a, b in itertools.pairwise(edges)]
    labels.append(f"{fmt.format(edges[-1])} and over")
    return labels


def _segments() -> Iterator[NodeSpec]:
    root = _branch("client_segmentation")
    for key, (name, edges, fmt) in BANDS.items():
        yield NodeSpec(
            f"segment:{key}", f"{name} Band", f"Customers by {name.lower()}.", root, False, False
        )
        for number, label in enumerate(band_labels(edges, fmt), start=1):
            yield NodeSpec(
                f"segment:{key}:{number}",
                f"{name} Band {number}: {label}",
                f"{name} {label}.",
                f"segment:{key}",
                False,
                True,
            )
    for key, (name, choices) in SEGMENT_CHOICES.items():
        yield NodeSpec(f"segment:{key}", name, f"Customers by {name.lower()}.", root, False, False)
        for value, label in choices.items():
            yield NodeSpec(
                f"segment:{key}:{value}",
                f"{name}: {label}",
                f"{name} is {label.lower()}.",
                f"segment:{key}",
                False,
                True,
            )


def _predictive() -> Iterator[NodeSpec]:
    root = _branch("predictive")
    for key, name in PREDICTIVE.items():
        yield NodeSpec(f"predictive:{key}", name, f"{name} in bands.", root, False, False)
        for level, label in LEVELS.items():
            yield NodeSpec(
                f"predictive:{key}:{level}",
                f"{name}: {label}",
                f"{name} is {label.lower()}.",
                f"predictive:{key}",
                False,
                True,
            )
    yield NodeSpec(
        "predictive:propensity", "Product Propensity", "Propensity to open a product.", root,
        False, False,
    )  # fmt: skip
    for product in PRODUCTS:
        name = PRODUCT_NAMES.get(product, product)
        yield NodeSpec(
            f"predictive:propensity:{product}",
            f"{name} Propensity",
            f"Propensity to open a {name.lower()}.",
            "predictive:propensity",
            False,
            False,
        )
        for level, label in LEVELS.items():
            yield NodeSpec(
                f"predictive:propensity:{product}:{level}",
                f"{name} Propensity: {label}",
                f"Propensity to open a {name.lower()} is {label.lower()}.",
                f"predictive:propensity:{product}",
                False,
                True,
            )


def _business_spend(directory: DirectoryLike) -> Iterator[NodeSpec]:
    """Business Spend: category groups that matter to businesses (``business_spend:<group>``),
    their business-relevant categories and the merchants in them."""
    root = _branch("business_spend")
    chosen: dict[tuple[str, str], str] = {}
    groups: dict[str, list[CategoryLike]] = {}
    for cat in _categories(directory):
        if cat.category_group == BUSINESS_GROUP or BUSINESS_MCCS.intersection(cat.mccs):
            groups.setdefault(cat.category_group, []).append(cat)
    for group, cats in groups.items():
        group_key = f"business_spend:{slug(group).replace('-', '_')}"
        yield NodeSpec(
            group_key, f"Business {group}", f"Business spend in {group}.", root, False, False
        )
        for cat in cats:
            key = f"business_spend:category:{slug(group)}/{slug(cat.category)}"
            chosen[(group, cat.category)] = key
            yield NodeSpec(
                key,
                f"Business {cat.category}",
                f"Business spend in {group} / {cat.category}.",
                group_key,
                False,
                False,
            )
    for m in sorted(directory.merchants, key=lambda m: m.merchant_id):
        parent = chosen.get((m.category_group, m.category))
        if parent is not None and m.kind not in NON_SPEND_KINDS:
            yield NodeSpec(
                f"business_spend:merchant:{m.merchant_id}",
                f"Business — {m.name}",
                f"Business customers who spend at {m.name}.",
                parent,
                False,
                True,
            )


@dataclass(frozen=True)
class BuildResult:
    rows: list[RegistryRow]
    added: list[RegistryRow]
    kept: list[RegistryRow]
    """Registry rows the build no longer produces: kept as they were (codes never disappear)."""


def merge(existing: Sequence[RegistryRow], specs: Iterable[NodeSpec]) -> BuildResult:
    """The registry after a build: existing rows keep code, key and name; new keys are appended."""
    by_key = {r.key: r for r in existing}
    code_of = {r.key: r.kli_code for r in existing}
    next_code = max([BASE - 1, *(r.kli_code for r in existing if r.kli_code >= BASE)]) + 1
    specs = list(specs)
    spec_keys: set[str] = set()
    for spec in specs:
        if spec.key in spec_keys:
            raise RegistryError(f"the builder produced the key {spec.key!r} twice")
        spec_keys.add(spec.key)
        if spec.key in code_of:
            continue
        if spec.key in FIXED_CODES:
            code_of[spec.key] = FIXED_CODES[spec.key][0]
        else:
            code_of[spec.key] = next_code
            next_code += 1
    updated: dict[str, RegistryRow] = {}
    added: list[RegistryRow] = []
    for spec in specs:
        if spec.parent_key is not None and spec.parent_key not in code_of:
            raise RegistryError(f"{spec.key}: parent {spec.parent_key!r} is not a node")
        old = by_key.get(spec.key)
        row = RegistryRow(
            kli_code=code_of[spec.key],
            key=spec.key,
            kli_name=old.kli_name if old else spec.name,
            kli_description=spec.description,
            parent_kli_code=None if spec.parent_key is None else code_of[spec.parent_key],
            kli_is_competitive="Y" if spec.competitive else "N",
            kli_is_leaf="Y" if spec.leaf else "N",
        )
        if old is None:
            added.append(row)
        else:
            updated[spec.key] = row
    rows = [updated.get(r.key, r) for r in existing]
    fixed_first = sorted((r for r in added if r.key in FIXED_CODES), key=lambda r: r.kli_code)
    rows.extend(fixed_first)
    rows.extend(r for r in added if r.key not in FIXED_CODES)
    kept = [r for r in existing if r.key not in spec_keys]
    return BuildResult(rows=rows, added=added, kept=kept)
