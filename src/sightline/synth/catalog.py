"""The payee catalog: every counterparty a synthetic transaction can have, with its truth and the
pre-rendered statement strings it prints as.

An *entity* is one counterparty as the truth sees it (a directory merchant, a local business in a
city, a DoorDash sub-merchant, an institution's product, an employer, the FI's own fee...). Each
entity owns a small pool of statement strings; a transaction picks its entity and a pool variant by
index, so descriptors are assembled with ``take`` and joins, never per-row Python.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from sightline.synth import names
from sightline.synth.vec import mix, pick

FI_PRODUCTS = (
    "mortgage",
    "heloc",
    "auto_loan",
    "credit_card",
    "student_loan",
    "personal_loan",
    "investment",
    "insurance",
    "deposit",
    "p2p",
    "bnpl",
    "crypto",
    "payday",
    "ewa",
)


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
    def aliases(self) -> tuple[str, ...]: ...
    @property
    def kind(self) -> str: ...
    @property
    def domain(self) -> str | None: ...


class InstitutionLike(Protocol):
    @property
    def institution_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def products(self) -> tuple[str, ...]: ...
    @property
    def statement_names(self) -> Mapping[str, tuple[str, ...]]: ...


class CategoryLike(Protocol):
    @property
    def category_group(self) -> str: ...
    @property
    def category(self) -> str: ...


class DirectoryLike(Protocol):
    """What the generator needs of :class:`sightline.enrich.directory.Directory`."""

    @property
    def merchants(self) -> Sequence[MerchantLike]: ...
    @property
    def institutions(self) -> Sequence[InstitutionLike]: ...
    @property
    def categories(self) -> Sequence[CategoryLike]: ...


# Truth categories of the payees that are not merchants (the directory's taxonomy labels).
PRODUCT_CATEGORY = {
    "mortgage": ("Financial", "Mortgage Payment"),
    "heloc": ("Financial", "Home Equity Payment"),
    "auto_loan": ("Financial", "Auto Loan Payment"),
    "credit_card": ("Financial", "Credit Card Payment"),
    "student_loan": ("Financial", "Student Loan Payment"),
    "personal_loan": ("Financial", "Personal Loan Payment"),
    "investment": ("Financial", "Investment"),
    "insurance": ("Financial", "Insurance"),
    "deposit": ("Transfers", "Own-Account Transfer"),
    "p2p": ("Transfers", "P2P Payment"),
    "bnpl": ("Financial", "Buy Now Pay Later"),
    "crypto": ("Financial", "Crypto"),
    "payday": ("Financial", "Payday & Cash Advance"),
    "ewa": ("Financial", "Earned Wage Access"),
}
# How a payment to each product is described in the ACH entry-description field (10 chars).
PRODUCT_DESCR = {
    "mortgage": ("MTG PYMT", "MORTGAGE", "MTG PMT", "LOAN PMT"),
    "heloc": ("HELOC PMT", "LOAN PMT", "EQUITY PMT"),
    "auto_loan": ("AUTO PYMT", "AUTO LOAN", "LOAN PMT", "PAYMENT"),
    "credit_card": ("AUTOPAY", "ONLINE PMT", "EPAY", "PAYMENT", "CRCARDPMT"),
    "student_loan": ("STUDNTLOAN", "LOAN PMT", "PAYMENT"),
    "personal_loan": ("LOAN PMT", "PAYMENT", "AUTOPAY"),
    "investment": ("MONEYLINK", "ACH TRNSFR", "TRANSFER", "INVESTMENT"),
    "insurance": ("INS PREM", "PREMIUM", "AUTOPAY", "INSURANCE"),
    "deposit": ("EXT TRNSFR", "TRANSFER", "ACCTVERIFY"),
    "p2p": ("PAYMENT", "INST XFER"),
    "bnpl": ("PAY", "PAYMENT", "AUTOPAY"),
    "crypto": ("PURCHASE", "TRANSFER", "DEPOSIT"),
    "payday": ("LOAN PMT", "PAYMENT", "REPAY"),
    "ewa": ("REPAYMENT", "ADVANCE", "PAYBACK"),
}

_CLEAN = re.compile(r"[^A-Z0-9 &'.*#/+-]")
_SPACES = re.compile(r"\s+")


def statement_text(name: str) -> str:
    """A display name as a card network or ACH originator prints it: upper case, plain ASCII."""
    upper = name.upper().replace("É", "E").replace("’", "'")
    return _SPACES.sub(" ", _CLEAN.sub(" ", upper)).strip()


def squeeze(text: str) -> str:
    """Drop apostrophes, as many acquirers do (ROSA'S → ROSAS)."""
    return text.replace("'", "")


def ach_name(text: str, width: int = 16) -> str:
    """NACHA company names are 16 characters."""
    return text[:width].rstrip()


@dataclass
class Segment:
    """A spend category: the merchants that serve it and how customers spend there."""

    key: str
    group: str
    category: str
    chains: npt.NDArray[np.int64]  # entity ids, most popular first
    locals_by_city: npt.NDArray[np.int64]  # [city, j] entity ids (-1 = none)
    local_share: float
    median: float  # dollars
    sigma: float


@dataclass
class EntityTable:
    """Column arrays over all entities (index 0 is "no counterparty")."""

    name: pa.Array
    merchant_id: pa.Array
    group: pa.Array
    category: pa.Array
    mcc: pa.Array
    fi: pa.Array
    fi_product: pa.Array
    is_local: pa.Array
    sub_merchant: pa.Array
    pool: pa.Array  # statement strings
    pool_ref: npt.NDArray[np.bool_]  # the string is followed by a reference number
    pool_off: npt.NDArray[np.int64]
    pool_len: npt.NDArray[np.int64]
    physical: npt.NDArray[np.bool_]
    sec: npt.NDArray[np.int64]  # ACH SEC code index (PPD, WEB, CCD)
    company_id: pa.Array  # 10-digit ACH company id
    descr_pool: pa.Array  # ACH entry descriptions
    descr_off: npt.NDArray[np.int64]
    descr_len: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.pool_off)


SEC_CODES = ("PPD", "WEB", "CCD")


@dataclass
class _Builder:
    rows: list[dict[str, object]] = field(default_factory=list)
    pool: list[str] = field(default_factory=list)
    descr: list[str] = field(default_factory=list)

    def add(
        self,
        *,
        name: str | None,
        group: str,
        category: str,
        strings: Sequence[str],
        merchant_id: str | None = None,
        mcc: str | None = None,
        fi: str | None = None,
        fi_product: str | None = None,
        is_local: bool = False,
        sub_merchant: str | None = None,
        physical: bool = False,
        sec: int = 0,
        descr: Sequence[str] = ("PAYMENT",),
    ) -> int:
        if not strings:
            raise ValueError(f"entity {name!r} has no statement strings")
        idx = len(self.rows)
        self.rows.append(
            {
                "name": name,
                "merchant_id": merchant_id,
                "group": group,
                "category": category,
                "mcc": mcc,
                "fi": fi,
                "fi_product": fi_product,
                "is_local": is_local,
                "sub_merchant": sub_merchant,
                "physical": physical,
                "sec": sec,
                "pool_off": len(self.pool),
                "pool_len": len(strings),
                "descr_off": len(self.descr),
                "descr_len": len(descr),
            }
        )
        self.pool.extend(strings)
        self.descr.extend(d[:10] for d in descr)
        return idx

    def freeze(self) -> EntityTable:
        def col(key: str, typ: pa.DataType = pa.string()) -> pa.Array:
            return pa.array([r[key] for r in self.rows], type=typ)

        def ints(key: str) -> npt.NDArray[np.int64]:
            return np.array([r[key] for r in self.rows], dtype=np.int64)

        n = len(self.rows)
        cid = 1_000_000_000 + pick(mix(np.arange(n), 77), 8_999_999_999)
        return EntityTable(
            name=col("name"),
            merchant_id=col("merchant_id"),
            group=col("group"),
            category=col("category"),
            mcc=col("mcc"),
            fi=col("fi"),
            fi_product=col("fi_product"),
            is_local=col("is_local", pa.bool_()),
            sub_merchant=col("sub_merchant"),
            pool=pa.array(self.pool, type=pa.string()),
            pool_ref=np.array([p.endswith("*") for p in self.pool], dtype=bool),
            pool_off=ints("pool_off"),
            pool_len=ints("pool_len"),
            physical=np.array([r["physical"] for r in self.rows], dtype=bool),
            sec=ints("sec"),
            company_id=pa.array([str(c) for c in cid], type=pa.string()),
            descr_pool=pa.array(self.descr, type=pa.string()),
            descr_off=ints("descr_off"),
            descr_len=ints("descr_len"),
        )


# (key, group, category, median $, sigma, local share, processor style)
SPEND_SEGMENTS: tuple[tuple[str, str, str, float, float, float], ...] = (
    ("groceries", "Food & Dining", "Groceries", 58.0, 0.7, 0.1),
    ("superstores", "Shopping", "Superstores", 64.0, 0.75, 0.0),
    ("coffee", "Food & Dining", "Coffee Shops", 6.4, 0.35, 0.35),
    ("fast_food", "Food & Dining", "Fast Food", 11.5, 0.45, 0.05),
    ("restaurants", "Food & Dining", "Restaurants", 46.0, 0.6, 0.6),
    ("pizza", "Food & Dining", "Pizza", 26.0, 0.45, 0.5),
    ("mexican", "Food & Dining", "Mexican", 19.0, 0.5, 0.8),
    ("asian", "Food & Dining", "Sushi & Asian", 31.0, 0.5, 0.7),
    ("bars", "Food & Dining", "Bars & Nightlife", 34.0, 0.6, 0.7),
    ("bakeries", "Food & Dining", "Bakeries & Desserts", 11.0, 0.5, 0.5),
    ("liquor", "Food & Dining", "Liquor Stores", 29.0, 0.6, 0.4),
    ("delivery", "Food & Dining", "Food Delivery", 33.0, 0.45, 0.0),
    ("gas", "Auto & Transport", "Gas Stations", 42.0, 0.35, 0.05),
    ("convenience", "Shopping", "Convenience Stores", 9.0, 0.6, 0.1),
    ("pharmacy", "Health", "Pharmacies", 22.0, 0.8, 0.05),
    ("online", "Shopping", "Online Marketplaces", 36.0, 0.9, 0.0),
    ("clothing", "Shopping", "Clothing", 56.0, 0.7, 0.15),
    ("department", "Shopping", "Department Stores", 72.0, 0.7, 0.0),
    ("discount", "Shopping", "Discount Stores", 14.0, 0.6, 0.0),
    ("home_improvement", "Home", "Home Improvement", 62.0, 0.9, 0.15),
    ("furniture", "Home", "Furniture & Decor", 160.0, 0.8, 0.1),
    ("electronics", "Shopping", "Electronics", 120.0, 1.0, 0.0),
    ("pet_stores", "Pets", "Pet Stores", 41.0, 0.6, 0.1),
    ("vet", "Pets", "Veterinary", 180.0, 0.6, 1.0),
    ("pet_services", "Pets", "Pet Services", 55.0, 0.4, 1.0),
    ("video_games", "Entertainment", "Video Games", 24.0, 0.7, 0.0),
    ("movies", "Entertainment", "Movie Theaters", 28.0, 0.4, 0.0),
    ("rideshare", "Auto & Transport", "Ride Share & Taxi", 21.0, 0.6, 0.0),
    ("airlines", "Travel", "Airlines", 320.0, 0.6, 0.0),
    ("hotels", "Travel", "Hotels", 240.0, 0.6, 0.0),
    ("car_rental", "Travel", "Car Rental", 180.0, 0.5, 0.0),
    ("hair", "Personal Care", "Hair & Beauty", 45.0, 0.5, 0.8),
    ("laundry", "Personal Care", "Laundry & Dry Cleaning", 22.0, 0.5, 0.9),
    ("gyms", "Sports & Fitness", "Gyms & Fitness", 30.0, 0.5, 0.4),
    ("baby", "Kids & Family", "Baby & Kids Clothing", 46.0, 0.6, 0.3),
    ("toys", "Kids & Family", "Toys", 32.0, 0.6, 0.0),
    ("childcare", "Kids & Family", "Childcare", 240.0, 0.3, 1.0),
    ("auto_service", "Auto & Transport", "Auto Service & Repair", 160.0, 0.8, 0.6),
    ("car_wash", "Auto & Transport", "Car Wash", 15.0, 0.3, 0.6),
    ("car_dealer", "Auto & Transport", "Car Dealers", 2500.0, 0.6, 0.9),
    ("parking", "Auto & Transport", "Parking", 12.0, 0.6, 0.0),
    ("books", "Shopping", "Books & News", 21.0, 0.5, 0.4),
    ("jewelry", "Shopping", "Jewelry & Accessories", 420.0, 1.0, 0.6),
    ("moving", "Home", "Storage & Moving", 850.0, 0.6, 0.6),
    ("home_services", "Home", "Home Services", 260.0, 0.7, 1.0),
    ("lawn", "Home", "Lawn & Garden", 70.0, 0.6, 0.6),
    ("florists", "Shopping", "Florists", 62.0, 0.5, 0.6),
    ("gifts", "Shopping", "Gift Shops", 30.0, 0.6, 0.6),
    ("mini_golf", "Entertainment", "Miniature Golf", 32.0, 0.4, 1.0),
    ("bowling", "Entertainment", "Bowling", 38.0, 0.4, 1.0),
    ("recreation", "Entertainment", "Recreation", 60.0, 0.8, 0.8),
    ("dentists", "Health", "Dentists", 160.0, 0.7, 1.0),
    ("doctors", "Health", "Doctors", 60.0, 0.7, 1.0),
    ("sporting", "Shopping", "Sporting Goods", 58.0, 0.7, 0.0),
    ("hobbies", "Shopping", "Hobbies & Crafts", 28.0, 0.6, 0.0),
    ("beauty", "Shopping", "Beauty Products", 31.0, 0.6, 0.0),
    ("office", "Shopping", "Office Supplies", 48.0, 0.8, 0.0),
    ("shipping", "Business Services", "Shipping & Postage", 26.0, 0.8, 0.0),
    ("secondhand", "Shopping", "Second-Hand & Pawn", 35.0, 0.7, 0.8),
    ("transit", "Auto & Transport", "Public Transit", 5.5, 0.5, 0.0),
    ("tuition", "Education", "Tuition", 2400.0, 0.4, 1.0),
)
SEGMENT_KEYS = tuple(s[0] for s in SPEND_SEGMENTS)
SEGMENT_INDEX = {k: i for i, k in enumerate(SEGMENT_KEYS)}

# Directory merchant kinds that customers pay with a card at a till or online.
_CARD_KINDS = {"brand", "online", "subscription", "marketplace", "delivery", "travel",
               "healthcare", "education", "telecom", "charity"}  # fmt: skip
_ONLINE_KINDS = {"online", "subscription", "marketplace", "delivery"}
_STORE_STYLES = (" #{n4}", " {n4}", " #{n5}", " STORE {n5}", " {n8}", " T{n4}", " F{n5}", "")
_ONLINE_STATES = ("CA", "WA", "NY", "TX", "DE", "NV", "MA", "IL")

UTILITY_KINDS = ("Electricity & Gas", "Water", "Internet & Cable", "Mobile Phone")
SUBSCRIPTION_PRICES = (5.99, 6.99, 9.99, 10.99, 11.99, 12.99, 14.99, 15.49, 17.99, 22.99)


@dataclass
class Catalog:
    entities: EntityTable
    segments: list[Segment]
    cities: tuple[tuple[str, str, str, str], ...]
    city_pool: pa.Array  # [city*2 + padded] → " AUSTIN TX" / " AUSTIN        TX"; then abroad
    subscriptions: npt.NDArray[np.int64]  # entity ids
    subscription_cents: npt.NDArray[np.int64]
    gyms_subscription: npt.NDArray[np.int64]
    utilities: dict[str, npt.NDArray[np.int64]]  # utility kind → entity ids
    water_by_city: npt.NDArray[np.int64]
    rent_by_city: npt.NDArray[np.int64]
    employers: npt.NDArray[np.int64]
    payroll_processors: npt.NDArray[np.int64]
    ssa: int
    pensions: npt.NDArray[np.int64]
    institutions: dict[str, npt.NDArray[np.int64]]  # product → entity ids, popular first
    institution_ids: dict[int, str]
    p2p_apps: dict[str, tuple[int, int]]  # zelle/venmo/cashapp/paypal → (sent, received) entity
    merchant_payouts: npt.NDArray[np.int64]  # Square/Stripe/Shopify deposits to businesses
    tax: int
    generic: dict[str, int]  # fee/interest/atm/transfer/check entities
    paypal_of: dict[int, int]  # online chain entity → its PAYPAL * entity
    shopify: npt.NDArray[np.int64]
    directory_categories: frozenset[tuple[str, str]]
    n_locals: int
    n_directory_merchants: int


def _local_name(pattern: str, rng: np.random.Generator) -> str:
    return pattern.format(
        p=names.FIRST_NAMES[int(rng.integers(len(names.FIRST_NAMES)))],
        s=names.PLACE_WORDS[int(rng.integers(len(names.PLACE_WORDS)))],
    )


def _truncate(text: str, width: int, pad: bool) -> str:
    cut = text[:width]
    return cut.ljust(width) if pad else cut.rstrip()


def _card_variants(base: str, store_style: str, rng: np.random.Generator) -> list[str]:
    """Four printed forms: widths 22, 22, 22, 25; odd variants are space-padded fixed width."""
    out = []
    for v, width in enumerate((22, 22, 22, 25)):
        n = int(rng.integers(1, 99999))
        store = store_style.format(n4=f"{n % 10000:04d}", n5=f"{n:05d}", n8=f"{n:08d}")
        out.append(_truncate(base + store, width, pad=v % 2 == 1))
    return out


def build_catalog(directory: DirectoryLike, seed: int) -> Catalog:
    rng = np.random.default_rng([seed, 101])
    b = _Builder()
    b.add(name=None, group="Uncategorized", category="Uncategorized", strings=("",))
    dir_cats = frozenset((c.category_group, c.category) for c in directory.categories)
    cities = names.CITIES

    def category_ok(group: str, category: str, mcc: str) -> tuple[str, str]:
        if not dir_cats or (group, category) in dir_cats:
            return group, category
        for c in directory.categories:  # pragma: no cover - only if the taxonomy drifts
            if mcc in getattr(c, "mccs", ()):
                return c.category_group, c.category
        return group, category  # pragma: no cover

    # Directory merchants in a popularity order: notable brands first.
    merchants = sorted(
        directory.merchants, key=lambda m: (_notability(m), hash_text(m.merchant_id))
    )
    by_cat: dict[tuple[str, str], list[int]] = {}
    online_chains: list[int] = []
    subs: list[int] = []
    delivery_platforms: list[MerchantLike] = []
    utilities: dict[str, list[int]] = {k: [] for k in UTILITY_KINDS}
    merchant_entity: dict[str, int] = {}
    for m in merchants:
        if m.kind not in _CARD_KINDS and m.kind not in ("utility",):
            continue
        text = statement_text(m.name)
        if not text:
            continue
        mcc = m.mccs[0] if m.mccs else None
        online = m.kind in _ONLINE_KINDS
        if m.kind == "delivery":
            delivery_platforms.append(m)
        if online:
            h = int(rng.integers(1 << 30))
            domain = (m.domain or "").upper()
            loc = (
                f" {domain}"
                if domain and h % 3 == 0
                else f" 8{h % 100:02d}-{h % 997:03d}-{h % 9973:04d}"
            ) + f" {_ONLINE_STATES[h % len(_ONLINE_STATES)]}"
            alias = [a for a in m.aliases if a and len(a) >= 3][:2] or [text]
            strings = [
                _truncate(text, 22, False) + loc,
                _truncate(statement_text(alias[-1]), 22, False) + loc,
                _truncate(text + "*", 13, False),  # followed by a reference number
                _truncate(text, 25, True) + loc,
            ]
        else:
            style = _STORE_STYLES[int(rng.integers(len(_STORE_STYLES)))]
            strings = _card_variants(text, style, rng)
        ent = b.add(
            name=m.name,
            merchant_id=m.merchant_id,
            group=m.category_group,
            category=m.category,
            mcc=mcc,
            strings=strings,
            physical=not online,
            sec=1,
            descr=("PAYMENT", "AUTOPAY", "BILL PAY", "WEB PMT"),
        )
        merchant_entity[m.merchant_id] = ent
        if m.kind == "utility" or m.category in UTILITY_KINDS:
            if m.category in utilities:
                utilities[m.category].append(ent)
            if m.kind == "utility":
                continue
        by_cat.setdefault((m.category_group, m.category), []).append(ent)
        if online:
            online_chains.append(ent)
        if m.kind == "subscription" or m.category in (
            "Streaming Video",
            "Music & Audio",
            "Subscriptions & Software",
        ):
            subs.append(ent)
    n_dir = len(merchant_entity)

    # PayPal-processed twins of online merchants: same merchant, different printed form.
    paypal_of: dict[int, int] = {}
    for ent in online_chains[: max(8, len(online_chains) // 4)]:
        row = b.rows[ent]
        text = squeeze(statement_text(str(row["name"]))).replace(" ", "")
        paypal_of[ent] = b.add(
            name=str(row["name"]),
            merchant_id=str(row["merchant_id"]),
            group=str(row["group"]),
            category=str(row["category"]),
            mcc=row["mcc"],  # type: ignore[arg-type]
            strings=(
                _truncate("PAYPAL *" + text, 22, False) + " 402-935-7733 CA",
                _truncate("PAYPAL *" + text, 25, True) + " 4029357733 CA",
            ),
        )

    # Local businesses: several per category per city, with a card processor of their own. A
    # local name that opens with a directory chain's whole name (ZEEKS PIZZA TWIN OAKS) is that
    # chain's branch: the line shows the chain, so the truth names it.
    chain_names = {
        statement_text(m.name): m
        for m in merchants
        if m.kind in _CARD_KINDS and " " in m.name and m.kind not in _ONLINE_KINDS
    }
    locals_by: dict[tuple[str, str], list[list[int]]] = {}
    n_locals = 0
    for group, category, mcc, patterns in names.LOCAL_TEMPLATES:
        g, c = category_ok(group, category, mcc)
        per_city: list[list[int]] = []
        for _city in cities:
            ents: list[int] = []
            count = 2 + int(rng.integers(0, 3))
            seen: set[str] = set()
            for _ in range(count):
                disp = _local_name(patterns[int(rng.integers(len(patterns)))], rng)
                if disp in seen:
                    continue
                seen.add(disp)
                text = squeeze(statement_text(disp)) if rng.random() < 0.7 else statement_text(disp)
                proc = _processor(category, rng)
                n4 = f"{int(rng.integers(1, 9999)):04d}"
                local_forms = [
                    _truncate(proc + text, 22, False),
                    _truncate(proc + text, 22, False) + " " + n4,
                    _truncate(text, 25, True),
                    _truncate(proc + text, 25, False),
                ]
                words = statement_text(disp).split(" ")
                chain = next(
                    (
                        chain_names[" ".join(words[:n])]
                        for n in (3, 2)
                        if " ".join(words[:n]) in chain_names
                    ),
                    None,
                )
                ents.append(
                    b.add(
                        name=chain.name if chain else disp,
                        merchant_id=chain.merchant_id if chain else None,
                        group=g,
                        category=c,
                        mcc=mcc,
                        is_local=chain is None,
                        strings=local_forms,
                        physical=True,
                    )
                )
                n_locals += 1
            per_city.append(ents)
        locals_by[(g, c)] = per_city

    # Delivery platforms; DoorDash and Grubhub also print the restaurant (a sub-merchant in the
    # restaurant's city).
    delivery: list[int] = []
    delivery_by_city: list[list[int]] = [[] for _ in cities]
    restaurant_cats = [
        ("Food & Dining", c) for c in ("Pizza", "Mexican", "Restaurants", "Sushi & Asian")
    ]
    for m in delivery_platforms:
        delivery.append(merchant_entity[m.merchant_id])
        text = statement_text(m.name).replace(" ", "")
        if "DOORDASH" not in text and "GRUBHUB" not in text:
            continue
        doordash = "DOORDASH" in text
        stem, where = (
            ("DOORDASH*", " WWW.DOORDASH. CA") if doordash else ("GRUBHUB*", " GRUBHUB.COM NY")
        )
        mcc = m.mccs[0] if m.mccs else "5812"
        for cat_key in restaurant_cats:
            for ci, ents in enumerate(locals_by.get(cat_key, [])):
                for ent in ents[:2]:
                    sub = str(b.rows[ent]["name"])
                    st = squeeze(statement_text(sub))
                    forms = [_truncate(stem + st, 22, False) + where]
                    if doordash:
                        forms.append(
                            _truncate("DD *DOORDASH " + st.replace(" ", ""), 22, False)
                            + " 855-973-1040 CA"
                        )
                        forms.append(_truncate("DD *" + st, 22, False) + " SAN FRANCISCOCA")
                    delivery_by_city[ci].append(
                        b.add(
                            name=m.name,
                            merchant_id=m.merchant_id,
                            group=m.category_group,
                            category=m.category,
                            mcc=mcc,
                            sub_merchant=sub,
                            strings=forms,
                        )
                    )

    # Shopify stores (online, in no directory).
    shopify = []
    for w in names.ONLINE_SHOP_WORDS:
        noun = names.ONLINE_SHOP_NOUNS[int(rng.integers(len(names.ONLINE_SHOP_NOUNS)))]
        disp = f"{w} {noun}"
        text = squeeze(statement_text(disp))
        shopify.append(
            b.add(
                name=disp,
                group="Shopping",
                category="Clothing" if noun in ("Apparel", "Knits", "Outfitters") else "Gift Shops",
                mcc="5699" if noun in ("Apparel", "Knits", "Outfitters") else "5947",
                is_local=True,
                strings=(
                    _truncate("SP * " + text, 22, False) + " HTTPSSHOP.CO CA",
                    _truncate("SP *" + text.replace(" ", ""), 22, False) + " OTTAWA ON",
                    _truncate("SP * " + text, 25, False),
                ),
            )
        )

    segments: list[Segment] = []
    for key, group, category, median, sigma, local_share in SPEND_SEGMENTS:
        chains = list(by_cat.get((group, category), []))
        per_city = locals_by.get((group, category), [])
        if key == "delivery":
            chains, per_city, local_share = delivery, delivery_by_city, 0.5
        width = max((len(x) for x in per_city), default=0)
        grid = np.full((len(cities), max(width, 1)), -1, dtype=np.int64)
        for ci, ents in enumerate(per_city):
            grid[ci, : len(ents)] = ents
        if key in ("clothing", "gifts"):
            chains = chains + shopify[: len(shopify) // 2 if key == "clothing" else len(shopify)]
        if not chains and width == 0:
            continue
        segments.append(
            Segment(
                key=key,
                group=group,
                category=category,
                chains=np.array(chains, dtype=np.int64),
                locals_by_city=grid,
                local_share=local_share if chains else 1.0,
                median=median,
                sigma=sigma,
            )
        )

    # Subscriptions with fixed prices.
    sub_ents = np.array(subs, dtype=np.int64)
    sub_cents = np.array(
        [round(SUBSCRIPTION_PRICES[i % len(SUBSCRIPTION_PRICES)] * 100) for i in range(len(subs))],
        dtype=np.int64,
    )
    gyms = np.array(by_cat.get(("Sports & Fitness", "Gyms & Fitness"), []), dtype=np.int64)

    # Utilities: directory utilities plus a municipal water utility per city. "COA UTILITIES"
    # is the City of Austin's acronym: printed for Austin only (it named every city's utility,
    # a line no other city's bill shows).
    water = []
    rent = []
    for ci, (city, state, _z, _a) in enumerate(cities):
        up = city.upper()
        utility_strings = [f"CITY OF {up} UTIL"[:16], f"{up[:10]} WATER"[:16]]
        if city == "Austin":
            utility_strings.append(f"COA UTILITIES {state}")
        water.append(
            b.add(
                name=f"City of {city} Utilities",
                group="Bills & Utilities",
                category="Water",
                mcc="4900",
                is_local=True,
                strings=tuple(utility_strings),
                sec=1,
                descr=("UTILITIES", "WEB PMT", "BILL PMT"),
            )
        )
        # The landlord the line names: an apartment complex billing its own rent, or (every
        # other city) a property manager collecting it - then the manager is the counterparty.
        apt = names.PLACE_WORDS[(ci * 7) % len(names.PLACE_WORDS)]
        managed = ci % 2 == 1
        rent.append(
            b.add(
                name=f"{apt} Property Management" if managed else f"{apt} Apartments",
                group="Bills & Utilities",
                category="Rent",
                mcc="6513",
                is_local=True,
                strings=(
                    ach_name(squeeze(statement_text(apt)) + " PROP MGMT")
                    if managed
                    else ach_name(statement_text(f"{apt} Apts")),
                ),
                sec=1,
                descr=("RENT", "RENT PYMT", "WEB PMT"),
            )
        )

    # Employers: generated companies plus a few directory brands (payroll names the employer).
    employers = []
    for i in range(240):
        w = names.EMPLOYER_WORDS[i % len(names.EMPLOYER_WORDS)]
        noun = names.EMPLOYER_NOUNS[
            (i * 7 + i // len(names.EMPLOYER_WORDS)) % len(names.EMPLOYER_NOUNS)
        ]
        suf = names.EMPLOYER_SUFFIXES[i % len(names.EMPLOYER_SUFFIXES)]
        if noun.endswith(f" {suf}"):
            suf = ""  # Redwood Dental Group, not "Redwood Dental Group Group"
        disp = f"{w} {noun} {suf}".strip()
        text = statement_text(disp)
        employers.append(
            b.add(
                name=disp,
                group="Income",
                category="Payroll",
                strings=(
                    ach_name(text),
                    ach_name(text.replace(" ", "")),
                    ach_name(f"{w.upper()} PAYROLL"),
                ),
                sec=0,
                descr=("PAYROLL", "DIR DEP", "PAYROLL", "SALARY"),
            )
        )
    for ents in list(by_cat.values())[:12]:
        for ent in ents[:2]:
            row = b.rows[ent]
            text = statement_text(str(row["name"]))
            employers.append(
                b.add(
                    name=str(row["name"]),
                    group="Income",
                    category="Payroll",
                    strings=(ach_name(text), ach_name(text + " PAYROLL")),
                    sec=0,
                    descr=("PAYROLL", "DIR DEP"),
                )
            )
    processors = []
    for disp, stems in (
        ("ADP", ("ADP PAYROLL", "ADP")),
        ("Paychex", ("PAYCHEX", "PAYCHEX INC")),
        ("Gusto", ("GUSTO",)),
    ):
        processors.append(
            b.add(
                name=disp,
                group="Income",
                category="Payroll",
                strings=stems,
                sec=0,
                descr=("PAYROLL", "PAY", "DIR DEP"),
            )
        )
    ssa = b.add(
        name="Social Security Administration",
        group="Income",
        category="Government Benefits",
        strings=("SSA TREAS 310", "SSA  TREAS 310", "US TREASURY 310"),
        sec=0,
        descr=("XXSOC SEC", "SOC SEC"),
    )
    pensions = [
        b.add(
            name=disp,
            group="Income",
            category="Retirement Income",
            strings=stems,
            sec=0,
            descr=("PENSION", "ANNUITY", "RETIREMENT"),
        )
        for disp, stems in (
            ("State Teachers Retirement System", ("STRS PENSION", "TEACHERS RETIRE")),
            ("Public Employees Retirement System", ("PERS RETIREMENT", "PERS BENEFITS")),
            ("Union Pension Trust", ("UNION PENSION TR",)),
        )
    ]

    # Institutions: one entity per (institution, product), popular institutions first.
    institutions: dict[str, list[int]] = {p: [] for p in FI_PRODUCTS}
    institution_ids: dict[int, str] = {}
    p2p_apps: dict[str, tuple[int, int]] = {}
    ranked = sorted(
        directory.institutions,
        key=lambda i: (
            "curated" not in str(getattr(i, "source", "")),
            _notability(i),
            hash_text(i.institution_id),
        ),
    )
    for inst in ranked:
        for product in inst.products:
            if product not in institutions:
                continue
            inst_stems: tuple[str, ...] = tuple(
                statement_text(s) for s in inst.statement_names.get(product, ()) if s
            ) or (statement_text(inst.name),)
            group, category = PRODUCT_CATEGORY[product]
            ent = b.add(
                name=inst.name,
                group=group,
                category=category,
                fi=inst.institution_id,
                fi_product=product,
                strings=inst_stems,
                sec=1 if product in ("credit_card", "investment", "bnpl", "crypto") else 0,
                descr=PRODUCT_DESCR[product],
            )
            institutions[product].append(ent)
            institution_ids[ent] = inst.institution_id
            if product == "p2p":
                app = _p2p_key(inst.name)
                if app and app not in p2p_apps:
                    recv = b.add(
                        name=inst.name,
                        group="Transfers",
                        category="P2P Received",
                        fi=inst.institution_id,
                        fi_product="p2p",
                        strings=inst_stems,
                        sec=1,
                        descr=("CASHOUT", "TRANSFER"),
                    )
                    p2p_apps[app] = (ent, recv)

    payouts = [
        b.add(name=disp, group="Income", category="Other Income", strings=stems, sec=2, descr=descr)
        for disp, stems, descr in (
            ("Square", ("SQUARE INC",), ("SQ260101", "DEPOSIT")),
            ("Stripe Payouts", ("STRIPE",), ("TRANSFER", "PAYOUT")),  # the directory's name
            ("Shopify", ("SHOPIFY",), ("PAYOUT", "TRANSFER")),
        )
    ]
    tax = b.add(
        name="IRS",
        group="Government & Taxes",
        category="Taxes",
        strings=("IRS USATAXPYMT", "IRS"),
        sec=2,
        descr=("USATAXPYMT", "TAX PAYMT"),
    )

    generic: dict[str, int] = {}
    for key, group, category, mcc in (
        ("atm", "Cash", "ATM Withdrawal", "6011"),
        ("fee_service", "Fees", "Bank Fees", None),
        ("fee_overdraft", "Fees", "Overdraft & NSF Fees", None),
        ("fee_foreign", "Fees", "Foreign Transaction Fees", None),
        ("fee_atm", "Fees", "ATM Fees", None),
        ("interest", "Income", "Interest", None),
        ("transfer_own", "Transfers", "Own-Account Transfer", None),
        ("transfer_savings", "Transfers", "Savings Transfer", None),
        ("check_payment", "Checks", "Check Payment", None),
        ("check_deposit", "Checks", "Check Deposit", None),
        ("cash_deposit", "Cash", "Cash Deposit", None),
        ("refund", "Income", "Refunds", None),
    ):
        generic[key] = b.add(name=None, group=group, category=category, mcc=mcc, strings=("",))

    table = b.freeze()
    city_strings: list[str] = []
    for city, state, _z, _a in cities:
        up = city.upper()
        city_strings.append(f" {up[:13]} {state}")
        city_strings.append(f" {up[:13].ljust(13)} {state}")
    # Foreign places follow the US cities in the pool (indices len(cities) ...).
    for city, country in names.FOREIGN_CITIES:
        up = city.upper()
        city_strings.append(f" {up[:13]} {country}")
        city_strings.append(f" {up[:13].ljust(13)} {country}")
    util = {k: np.array(v, dtype=np.int64) for k, v in utilities.items()}
    return Catalog(
        entities=table,
        segments=segments,
        cities=cities,
        city_pool=pa.array(city_strings, type=pa.string()),
        subscriptions=sub_ents,
        subscription_cents=sub_cents,
        gyms_subscription=gyms,
        utilities=util,
        water_by_city=np.array(water, dtype=np.int64),
        rent_by_city=np.array(rent, dtype=np.int64),
        employers=np.array(employers, dtype=np.int64),
        payroll_processors=np.array(processors, dtype=np.int64),
        ssa=ssa,
        pensions=np.array(pensions, dtype=np.int64),
        institutions={k: np.array(v, dtype=np.int64) for k, v in institutions.items()},
        institution_ids=institution_ids,
        p2p_apps=p2p_apps,
        merchant_payouts=np.array(payouts, dtype=np.int64),
        tax=tax,
        generic=generic,
        paypal_of=paypal_of,
        shopify=np.array(shopify, dtype=np.int64),
        directory_categories=dir_cats,
        n_locals=n_locals,
        n_directory_merchants=n_dir,
    )


def _p2p_key(name: str) -> str | None:
    text = name.upper().replace(" ", "")
    for key in ("ZELLE", "VENMO", "CASHAPP", "PAYPAL"):
        if key in text:
            return key.lower()
    if "SQUARECASH" in text or "BLOCK" in text:
        return "cashapp"
    return None


def _processor(category: str, rng: np.random.Generator) -> str:
    """The card processor a local business uses, by trade: restaurants on Toast or Square..."""
    u = rng.random()
    if category in ("Restaurants", "Pizza", "Mexican", "Sushi & Asian", "Bars & Nightlife"):
        return "TST* " if u < 0.35 else "SQ *" if u < 0.7 else ""
    if category in ("Coffee Shops", "Bakeries & Desserts", "Gift Shops", "Florists"):
        return "SQ *" if u < 0.55 else "TST* " if u < 0.65 else ""
    if category in ("Home Services", "Lawn & Garden", "Storage & Moving", "Pet Services"):
        return "IN *" if u < 0.5 else "SQ *" if u < 0.7 else ""
    if category in ("Car Dealers", "Doctors", "Dentists", "Veterinary", "Childcare", "Tuition"):
        return "" if u < 0.9 else "SQ *"
    return "SQ *" if u < 0.4 else ""


def _notability(item: object) -> int:
    """Rank by Wikidata id: low Q-numbers are the long-established, widely known names."""
    qid = getattr(item, "wikidata", None)
    if isinstance(qid, str) and qid[1:].isdigit():
        return int(qid[1:])
    return 1 << 40


def hash_text(text: str) -> int:
    """A stable (process-independent) 62-bit hash of a string."""
    h = 1469598103934665603
    for ch in text.encode("utf-8"):
        h = ((h ^ ch) * 1099511628211) & ((1 << 62) - 1)
    return h


__all__ = ["Catalog", "DirectoryLike", "build_catalog", "statement_text"]
