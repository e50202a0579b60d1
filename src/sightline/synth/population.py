"""Customers, their accounts, held-away products, planted life events and onboarding funnels.

Everything is a column array over customers (or accounts, or held-away products); the transaction
engine reads these arrays month by month.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from sightline.ingest.schemas import PRODUCTS as FEED_PRODUCTS
from sightline.synth import names
from sightline.synth.catalog import Catalog
from sightline.synth.vec import cat, digits, luhn_complete, mix, pick, take, weighted_index

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]
NEVER = 1 << 30  # a day index that never comes

LIFE_EVENTS = (
    "new_mover",
    "new_baby",
    "wedding",
    "new_vehicle",
    "college",
    "retirement",
    "new_job",
)
TRAITS = (
    "coffee_drinker",
    "foodie",
    "traveller",
    "pet_owner",
    "gamer",
    "parent",
    "fitness",
    "online_shopper",
    "car_owner",
    "homeowner",
    "student",
)
FUNNEL_STAGES = (
    "application_started",
    "application_submitted",
    "application_approved",
    "application_declined",
    "kyc_passed",
    "kyc_failed",
    "account_opened",
    "account_funded",
    "first_login",
    "card_activated",
    "first_card_purchase",
    "direct_deposit_setup",
)
FUND_METHODS = ("ach", "card", "check", "cash")
FUND_WEIGHTS = (0.55, 0.25, 0.12, 0.08)
# Product: (typical monthly payment $, spread) for held-away payments.
HELD_AWAY_PAYMENT = {
    "mortgage": (1750.0, 0.35),
    "heloc": (310.0, 0.4),
    "auto_loan": (520.0, 0.3),
    "credit_card": (640.0, 0.8),
    "student_loan": (310.0, 0.35),
    "personal_loan": (330.0, 0.35),
    "investment": (450.0, 0.6),
    "insurance": (165.0, 0.35),
    "deposit": (400.0, 0.7),
    "p2p": (60.0, 0.8),
    "bnpl": (85.0, 0.5),
    "crypto": (150.0, 0.8),
    "payday": (260.0, 0.3),
    "ewa": (120.0, 0.4),
}

ACCOUNT_PRODUCTS = FEED_PRODUCTS
PRODUCT_INDEX = {p: i for i, p in enumerate(ACCOUNT_PRODUCTS)}
PRODUCT_CODES = {
    "checking": ("CHK-BASIC", "CHK-REWARDS", "CHK-STUDENT"),
    "savings": ("SAV-STD", "SAV-HIYIELD"),
    "money_market": ("MM-TIER",),
    "cd": ("CD-12M", "CD-24M", "CD-6M"),
    "ira": ("IRA-TRAD", "IRA-ROTH"),
    "brokerage": ("INV-SELF",),
    "credit_card": ("CC-CASHBACK", "CC-TRAVEL", "CC-PLATINUM"),
    "mortgage": ("MTG-30F", "MTG-15F", "MTG-ARM"),
    "heloc": ("HELOC-VAR",),
    "auto_loan": ("AUTO-NEW", "AUTO-USED"),
    "personal_loan": ("PL-UNSEC",),
    "student_loan": ("SL-REFI",),
    "business_checking": ("BCHK-SMALL", "BCHK-ANALYSIS"),
    "business_savings": ("BSAV-STD",),
    "business_credit_card": ("BCC-REWARDS",),
    "business_loan": ("BLOC-VAR", "BTERM-5Y"),
}
CARD_PRODUCTS = ("checking", "credit_card", "business_checking", "business_credit_card")
LOAN_PRODUCTS = ("mortgage", "heloc", "auto_loan", "personal_loan", "student_loan", "business_loan")


@dataclass(frozen=True)
class Window:
    start: date
    end: date

    @classmethod
    def ending(cls, end: date, months: int) -> Window:
        y, m = end.year, end.month - (months - 1)
        while m <= 0:
            y, m = y - 1, m + 12
        return cls(date(y, m, 1), end)

    @property
    def n_days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def epoch_day(self) -> int:
        """Days from 1970-01-01 to the first day (for date32 columns)."""
        return (self.start - date(1970, 1, 1)).days

    def day(self, d: date) -> int:
        return (d - self.start).days

    def date(self, day: int) -> date:
        return self.start + timedelta(days=int(day))

    def months(self) -> list[tuple[int, int, int, int]]:
        """(year, month, first day index, last day index) of each month in the window."""
        out = []
        y, m = self.start.year, self.start.month
        while (y, m) <= (self.end.year, self.end.month):
            first = self.day(date(y, m, 1))
            last = min(self.day(date(y, m, calendar.monthrange(y, m)[1])), self.n_days - 1)
            out.append((y, m, first, last))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out

    def snapshot_days(self) -> list[int]:
        """Month ends inside the window, plus the last day."""
        days = [last for _y, _m, _f, last in self.months()]
        if days[-1] != self.n_days - 1:
            days.append(self.n_days - 1)
        return days


@dataclass
class Funnel:
    """One row per applicant; each stage's day index (NEVER if not reached) and second of day."""

    cust: I64  # customer index, or -1 for an applicant who never became a customer
    ucic: pa.Array
    stage_day: dict[str, I64]
    stage_sec: dict[str, I64]
    channel: I64  # 0 web, 1 mobile, 2 branch


@dataclass
class HeldAway:
    cust: I64
    product: list[str]
    entity: I64
    since: I64  # day index (may be negative: before the window)
    pay_day: I64  # day of month, 1..28
    cents: I64


@dataclass
class Accounts:
    owner: I64
    product: I64
    account_id: pa.Array
    account_number: pa.Array
    card_number: pa.Array
    product_code: pa.Array
    branch: pa.Array
    open_day: I64  # day index, negative before the window
    close_day: I64  # NEVER if open
    base_cents: I64
    limit_cents: I64  # 0 if none
    dormant: B
    joint_acct: I64  # accounts with a secondary holder ...
    joint_holder: I64  # ... and that holder (customer index)


@dataclass
class Population:
    window: Window
    n: int
    ucic: pa.Array
    member_id: pa.Array
    is_business: B
    age: I64
    birth_day: I64
    first: I64
    last: I64
    business_name: pa.Array
    city0: I64
    city1: I64
    move_day: I64
    zip_suffix: I64
    street: pa.Array
    income_cents: I64
    since_day: I64
    traits: dict[str, B]
    activity: F64
    start_day: I64
    card_day: I64
    payroll_day: I64
    stop_day: I64  # first day with no more activity (account closed), NEVER if active
    digital: B
    digital_day: I64
    mobile_pref: F64
    employer0: I64
    employer1: I64
    job_day: I64
    retire_day: I64
    retired: B
    pay_freq: I64  # 0 biweekly, 1 semi-monthly, 2 monthly
    pay_anchor: I64
    life: dict[str, I64]  # event → day index (NEVER if none)
    held: HeldAway
    accounts: Accounts
    checking: I64  # account index of each customer's main checking
    savings: I64  # -1 if none
    credit_card: I64  # -1 if none
    own_loans: I64  # -1 or an account index of a loan at this FI
    funnel: Funnel
    display_name: pa.Array  # "JOHN DOE" / business name, upper case, for ACH IND NAME
    short_name: pa.Array  # "JOHN D" for Cash App
    first_check: I64
    fund_cents: I64  # the opening deposit of a new customer (whole dollars)
    fund_method: I64  # index into FUND_METHODS
    fund_ent: I64  # the other bank an ACH opening deposit comes from (-1 if none)


def _age_years(rng: np.random.Generator, n: int) -> I64:
    ages = rng.normal(46, 17, n)
    return np.clip(ages, 18, 93).astype(np.int64)


def build_population(
    n: int, window: Window, catalog: Catalog, rng: np.random.Generator
) -> Population:
    nd = window.n_days
    months_f = max(nd / 365.0, 0.25)
    idx = np.arange(n, dtype=np.int64)
    ucic = cat("C", digits(idx + 1, 9))
    member_id = cat("M", digits(10_000_000 + rng.permutation(n).astype(np.int64) * 7 + 3, 9))
    is_b = rng.random(n) < 0.08
    age = _age_years(rng, n)
    age[is_b] = 0
    birth = (window.day(window.end) - age * 365 - rng.integers(0, 365, n) - (age // 4)).astype(
        np.int64
    )
    first = rng.integers(0, len(names.FIRST_NAMES), n)
    last = rng.integers(0, len(names.LAST_NAMES), n)
    n_cities = len(catalog.cities)
    city_w = 1.0 / np.sqrt(np.arange(1, n_cities + 1))
    city0 = weighted_index(rng.random(n), city_w)
    zip_suffix = rng.integers(1, 99, n)
    street = cat(
        pc.cast(pa.array(rng.integers(100, 9900, n)), pa.string()),
        " ",
        take(names.STREET_NAMES, rng.integers(0, len(names.STREET_NAMES), n)),
        " ",
        take(names.STREET_SUFFIXES, rng.integers(0, len(names.STREET_SUFFIXES), n)),
    )
    apt = rng.random(n) < 0.22
    street = pc.if_else(
        pa.array(apt),
        cat(street, " Apt ", pc.cast(pa.array(rng.integers(1, 40, n)), pa.string())),
        street,
    )
    biz_name = cat(
        take(names.LAST_NAMES, last),
        " ",
        take(names.BUSINESS_NOUNS, rng.integers(0, len(names.BUSINESS_NOUNS), n)),
        take((" LLC", " Inc", "", " Co"), rng.integers(0, 4, n)),
    )
    business_name = pc.if_else(pa.array(is_b), biz_name, pa.nulls(n, pa.string()))

    income = np.exp(rng.normal(np.log(64_000), 0.55, n))
    income = np.where(age >= 67, income * 0.55, income)
    income = np.where(age < 23, income * 0.45, income)
    income = np.where(is_b, np.exp(rng.normal(np.log(480_000), 0.9, n)), income)
    income_cents = (np.clip(income, 9_000, 5_000_000) * 100).astype(np.int64)

    # Traits drive spend; they are the lifestyle truth.
    u = lambda: rng.random(n)  # noqa: E731
    young = age < 40
    ind = ~is_b
    traits = {
        "coffee_drinker": ind & (u() < 0.35),
        "foodie": ind & (u() < 0.3),
        "traveller": ind & (u() < 0.08 + 0.12 * (income_cents > 9_000_000)),
        "pet_owner": ind & (u() < 0.32),
        "gamer": ind & (u() < np.where(young, 0.3, 0.07)),
        "parent": ind & (u() < np.where((age >= 27) & (age <= 52), 0.5, 0.08)),
        "fitness": ind & (u() < 0.22),
        "online_shopper": ind & (u() < 0.55),
        "car_owner": (u() < 0.88) | is_b,
        "homeowner": ind & (age >= 28) & (u() < 0.58),
        "student": ind & (age <= 24) & (u() < 0.5),
    }
    activity = np.exp(rng.normal(0.0, 0.35, n))
    activity = np.where(u() < 0.1, activity * 0.35, activity)  # secondary-bank customers

    # New customers joined inside the window through the funnel; the rest were already here.
    p_new = min(0.3, 0.025 * nd / 30.4) if nd > 10 else 0.0
    is_new = u() < p_new
    since_day = -rng.integers(60, 25 * 365, n).astype(np.int64)
    funnel, opened_day, stage = _funnels(n, is_new, ucic, window, rng)
    since_day = np.where(is_new, opened_day, since_day)
    start_day = np.where(is_new, stage["account_funded"], 0)
    card_day = np.where(is_new, stage["first_card_purchase"], 0)
    payroll_day = np.where(is_new, stage["direct_deposit_setup"], 0)
    digital_p = np.where(is_b, 0.85, np.where(age < 40, 0.85, np.where(age < 65, 0.7, 0.45)))
    digital = np.where(is_new, stage["first_login"] < NEVER, u() < digital_p)
    digital_day = np.where(is_new, stage["first_login"], 0)
    mobile_pref = np.clip(rng.beta(2, 2, n) + np.where(young, 0.25, -0.15), 0.02, 0.98)

    # Employment, pay schedule and the planted life events.
    retired = ind & (age >= 67) & (u() < 0.85)
    employed = ind & ~retired & (age >= 18) & (u() < np.where(age < 23, 0.55, 0.88))
    emp = catalog.employers
    employer0 = np.where(employed, emp[pick(mix(idx, 11, 3), len(emp))], -1)
    employer1 = employer0.copy()
    pay_freq = weighted_index(u(), (0.55, 0.3, 0.15))
    pay_anchor = rng.integers(0, 14, n)

    # Closing the main checking ends the relationship (about 1% a year).
    stop_day = np.full(n, NEVER, dtype=np.int64)
    closes = ~is_new & (u() < 0.012 * months_f) & (nd > 40)
    close_at = rng.integers(nd // 2, max(nd - 5, nd // 2 + 1), n)
    stop_day = np.where(closes, close_at, stop_day)
    # Life events are planted on customers who use their card and stay to the end.
    plantable = (stop_day >= NEVER) & (card_day < NEVER)

    def plant(p_year: float, eligible: B) -> I64:
        hit = eligible & plantable & (u() < min(0.9, p_year * months_f))
        lo, hi = (7, nd - 7) if nd > 21 else (0, nd)
        return np.where(hit, rng.integers(lo, max(hi, lo + 1), n), NEVER).astype(np.int64)

    life = {
        "new_mover": plant(0.12, ind),
        "new_baby": plant(0.06, ind & (age >= 22) & (age <= 42)),
        "wedding": plant(0.05, ind & (age >= 22) & (age <= 45)),
        "new_vehicle": plant(0.09, traits["car_owner"] & ind),
        "college": plant(0.3, ind & (age >= 17) & (age <= 21)),
        "retirement": plant(0.35, employed & (age >= 60) & (age <= 68)),
        "new_job": plant(0.12, employed & (age < 60)),
    }
    # New customers' life events happen after they start using the account.
    for key, days in life.items():
        life[key] = np.where(is_new & (days < start_day + 14), NEVER, days)
    job_day = life["new_job"]
    has_job_change = job_day < NEVER
    employer1 = np.where(has_job_change, emp[pick(mix(idx, 12, 5), len(emp))], employer1)
    same = has_job_change & (employer1 == employer0)
    employer1 = np.where(same, emp[(np.searchsorted(emp, employer0) + 1) % len(emp)], employer1)
    retire_day = life["retirement"]
    move_day = life["new_mover"]
    city1 = np.where(
        move_day < NEVER, (city0 + 1 + rng.integers(0, n_cities - 1, n)) % n_cities, city0
    )
    traits["homeowner"] = traits["homeowner"] | ((move_day < NEVER) & (u() < 0.4))
    traits["parent"] = traits["parent"] | (life["new_baby"] < NEVER)

    display = pc.utf8_upper(
        pc.if_else(
            pa.array(is_b),
            business_name,
            cat(take(names.FIRST_NAMES, first), " ", take(names.LAST_NAMES, last)),
        )
    )
    short = pc.utf8_upper(
        cat(
            take(names.FIRST_NAMES, first),
            " ",
            pc.utf8_slice_codeunits(take(names.LAST_NAMES, last), 0, 1),
        )
    )

    accounts, checking, savings, credit, own_loans = _accounts(
        n, is_b, is_new, income_cents, since_day, opened_day, traits, age, window, rng
    )
    owned_close = stop_day[accounts.owner]
    accounts.close_day = np.minimum(accounts.close_day, owned_close)
    # Opening deposits; an ACH deposit comes from an account the customer holds at another bank.
    fund_cents = (np.exp(rng.normal(np.log(400), 1.0, n)) // 1 * 100).astype(np.int64) + 2500
    fund_method = weighted_index(rng.random(n), FUND_WEIGHTS)
    fund_ent = np.full(n, -1, dtype=np.int64)
    banks = catalog.institutions.get("deposit")
    if banks is not None and len(banks):
        ach_new = is_new & (fund_method == 0) & (start_day < NEVER)
        fund_ent[ach_new] = banks[pick(mix(idx[ach_new], 95), len(banks))]
    held = _held_away(
        n, is_b, age, income_cents, traits, life, own_loans, accounts, catalog, window, rng
    )
    funders = np.flatnonzero(fund_ent >= 0)
    held = HeldAway(
        cust=np.concatenate([held.cust, funders]),
        product=held.product + ["deposit"] * len(funders),
        entity=np.concatenate([held.entity, fund_ent[funders]]),
        since=np.concatenate(
            [held.since, start_day[funders] - rng.integers(60, 3000, len(funders))]
        ),
        pay_day=np.concatenate([held.pay_day, rng.integers(1, 29, len(funders))]),
        cents=np.concatenate([held.cents, (fund_cents[funders] * 0.5).astype(np.int64)]),
    )
    held = _ensure_payment_dates(held, window, start_day, stop_day)
    return Population(
        window=window,
        n=n,
        ucic=ucic,
        member_id=member_id,
        is_business=is_b,
        age=age,
        birth_day=birth,
        first=first,
        last=last,
        business_name=business_name,
        city0=city0,
        city1=city1,
        move_day=move_day,
        zip_suffix=zip_suffix,
        street=street,
        income_cents=income_cents,
        since_day=since_day,
        traits=traits,
        activity=activity,
        start_day=start_day,
        card_day=card_day,
        payroll_day=payroll_day,
        stop_day=stop_day,
        digital=digital,
        digital_day=digital_day,
        mobile_pref=mobile_pref,
        employer0=employer0,
        employer1=employer1,
        job_day=job_day,
        retire_day=retire_day,
        retired=retired,
        pay_freq=pay_freq,
        pay_anchor=pay_anchor,
        life=life,
        held=held,
        accounts=accounts,
        checking=checking,
        savings=savings,
        credit_card=credit,
        own_loans=own_loans,
        funnel=funnel,
        display_name=display,
        short_name=short,
        first_check=rng.integers(1001, 4800, n),
        fund_cents=fund_cents,
        fund_method=fund_method,
        fund_ent=fund_ent,
    )


def _funnels(
    n: int, is_new: B, ucic: pa.Array, window: Window, rng: np.random.Generator
) -> tuple[Funnel, I64, dict[str, I64]]:
    """Funnels of new customers (all reach account_opened) and of applicants who dropped out."""
    nd = window.n_days
    new_idx = np.flatnonzero(is_new)
    n_drop = round(len(new_idx) * 0.45)
    k = len(new_idx) + n_drop
    cust = np.concatenate([new_idx, np.full(n_drop, -1, dtype=np.int64)])
    drop_ucic = cat("C", digits(n + 1 + np.arange(n_drop, dtype=np.int64), 9))
    f_ucic = pa.concat_arrays([take(ucic, new_idx), drop_ucic]) if k else pa.array([], pa.string())
    become = cust >= 0
    # Times are in seconds from the window start; a stage is reached only if it happens by the end.
    t = {s: np.full(k, -1, dtype=np.int64) for s in FUNNEL_STAGES}
    latest = max(nd - 3, 1)
    t0 = rng.integers(0, latest, k) * 86400 + rng.integers(7 * 3600, 22 * 3600, k)
    t["application_started"] = t0
    submitted = become | (rng.random(k) < 0.7)
    t1 = t0 + rng.integers(300, 3600, k)
    t["application_submitted"] = np.where(submitted, t1, -1)
    approved = submitted & (become | (rng.random(k) < 0.72))
    t2 = t1 + rng.integers(60, 6 * 3600, k)
    t["application_approved"] = np.where(approved, t2, -1)
    t["application_declined"] = np.where(submitted & ~approved, t2, -1)
    kyc = approved & (become | (rng.random(k) < 0.88))
    t3 = t2 + rng.integers(60, 3600, k)
    t["kyc_passed"] = np.where(kyc, t3, -1)
    t["kyc_failed"] = np.where(approved & ~kyc, t3, -1)
    t4 = t3 + rng.integers(60, 3600, k)
    t["account_opened"] = np.where(become, t4, -1)

    def step(prev: I64, p: float, lo: int, hi: int) -> I64:
        ok = (prev >= 0) & (rng.random(k) < p)
        return np.where(ok, prev + rng.integers(lo, hi, k), -1)

    t["account_funded"] = step(t["account_opened"], 0.86, 600, 6 * 86400)
    t["first_login"] = step(t["account_funded"], 0.86, 300, 4 * 86400)
    t["card_activated"] = step(t["account_funded"], 0.8, 3 * 86400, 9 * 86400)
    t["first_card_purchase"] = step(t["card_activated"], 0.88, 3600, 6 * 86400)
    t["direct_deposit_setup"] = step(t["account_funded"], 0.45, 2 * 86400, 25 * 86400)
    end_sec = nd * 86400
    stage_day: dict[str, I64] = {}
    stage_sec: dict[str, I64] = {}
    for s in FUNNEL_STAGES:
        ts = np.where(t[s] >= end_sec, -1, t[s])
        stage_day[s] = np.where(ts >= 0, ts // 86400, NEVER)
        stage_sec[s] = np.where(ts >= 0, ts % 86400, 0)
    funnel = Funnel(
        cust=cust,
        ucic=f_ucic,
        stage_day=stage_day,
        stage_sec=stage_sec,
        channel=weighted_index(rng.random(k), (0.45, 0.45, 0.1)),
    )
    per_cust = {s: np.full(n, NEVER, dtype=np.int64) for s in FUNNEL_STAGES}
    for s in FUNNEL_STAGES:
        per_cust[s][new_idx] = stage_day[s][: len(new_idx)]
    opened = per_cust["account_opened"]
    return funnel, opened, per_cust


def _accounts(
    n: int,
    is_b: B,
    is_new: B,
    income_cents: I64,
    since_day: I64,
    opened_day: I64,
    traits: dict[str, B],
    age: I64,
    window: Window,
    rng: np.random.Generator,
) -> tuple[Accounts, I64, I64, I64, I64]:
    ind = ~is_b
    u = lambda: rng.random(n)  # noqa: E731
    old = ~is_new
    own_mortgage = traits["homeowner"] & old & (u() < 0.18)
    wants = {
        "checking": ind,
        "savings": ind & (u() < np.where(is_new, 0.4, 0.58)),
        "money_market": ind & old & (u() < 0.06),
        "cd": ind & old & (u() < 0.07 + 0.1 * (age > 60)),
        "ira": ind & old & (u() < 0.06),
        "brokerage": ind & old & (u() < 0.03),
        "credit_card": ind & old & (u() < 0.32),
        "mortgage": own_mortgage,
        "heloc": traits["homeowner"] & old & (u() < 0.04),
        "auto_loan": ind & old & traits["car_owner"] & (u() < 0.09),
        "personal_loan": ind & old & (u() < 0.04),
        "student_loan": ind & old & (age < 35) & (u() < 0.04),
        "business_checking": is_b,
        "business_savings": is_b & (u() < 0.4),
        "business_credit_card": is_b & old & (u() < 0.35),
        "business_loan": is_b & old & (u() < 0.15),
    }
    owners_l, prods_l = [], []
    for p, mask in wants.items():
        who = np.flatnonzero(mask)
        owners_l.append(who)
        prods_l.append(np.full(len(who), PRODUCT_INDEX[p], dtype=np.int64))
    owner = np.concatenate(owners_l)
    product = np.concatenate(prods_l)
    order = np.lexsort((product, owner))
    owner, product = owner[order], product[order]
    a = len(owner)
    aidx = np.arange(a, dtype=np.int64)
    account_id = cat("A", digits(1_000_000_000 + aidx * 13 + 7, 10))
    account_number = digits(rng.integers(10**9, 10**12, a), 12)
    pname = np.array(ACCOUNT_PRODUCTS, dtype=object)[product]
    is_card = np.isin(pname, CARD_PRODUCTS)
    bin6 = np.where(np.isin(pname, ("credit_card", "business_credit_card")), 517805, 431940)
    body = bin6 * 10**9 + rng.integers(0, 10**9, a)
    pan = luhn_complete(body.astype(np.int64), 16)
    card_number = pc.if_else(pa.array(is_card), pan, pa.nulls(a, pa.string()))
    codes = []
    pick_code = rng.integers(0, 6, a)
    for p, c in zip(pname, pick_code, strict=True):
        options = PRODUCT_CODES[str(p)]
        codes.append(options[int(c) % len(options)])
    product_code = pa.array(codes, pa.string())
    branch = cat("BR", digits(rng.integers(1, 25, a), 3))
    main = np.isin(pname, ("checking", "business_checking"))
    # Main accounts open with the relationship; others some time later (before the window).
    span = np.maximum(-since_day[owner], 1)
    later = since_day[owner] + (rng.random(a) * span * 0.8).astype(np.int64)
    open_day = np.where(main, since_day[owner], later)
    new_owner = is_new[owner]
    open_day = np.where(new_owner, opened_day[owner], open_day)
    close_day = np.full(a, NEVER, dtype=np.int64)
    nd = window.n_days
    closing = ~main & ~new_owner & (rng.random(a) < 0.02 * max(nd / 365.0, 0.25)) & (nd > 20)
    close_day = np.where(closing, rng.integers(1, max(nd - 1, 2), a), close_day)
    inc = income_cents[owner].astype(np.float64)
    lg = lambda mu, s: np.exp(rng.normal(mu, s, a))  # noqa: E731
    base = {
        "checking": inc / 12 * lg(-0.4, 0.8),
        "savings": inc * lg(-1.3, 1.1),
        "money_market": inc * lg(-0.3, 0.8),
        "cd": 100 * lg(np.log(22_000), 0.7),
        "ira": 100 * lg(np.log(60_000), 1.0),
        "brokerage": 100 * lg(np.log(45_000), 1.1),
        "credit_card": 100 * lg(np.log(1_900), 1.0),
        "mortgage": 100 * lg(np.log(230_000), 0.5),
        "heloc": 100 * lg(np.log(28_000), 0.7),
        "auto_loan": 100 * lg(np.log(21_000), 0.5),
        "personal_loan": 100 * lg(np.log(9_000), 0.6),
        "student_loan": 100 * lg(np.log(24_000), 0.6),
        "business_checking": inc / 12 * lg(-0.2, 0.8),
        "business_savings": inc * lg(-1.5, 1.0),
        "business_credit_card": 100 * lg(np.log(6_500), 0.9),
        "business_loan": 100 * lg(np.log(85_000), 0.8),
    }
    base_cents = np.zeros(a, dtype=np.int64)
    for p, values in base.items():
        mask = pname == p
        base_cents[mask] = values[mask].astype(np.int64)
    limit = np.zeros(a, dtype=np.int64)
    limits = {
        "credit_card": (np.log(8_000), 0.6),
        "business_credit_card": (np.log(25_000), 0.6),
        "heloc": (np.log(60_000), 0.5),
    }
    for p, (mu, s) in limits.items():
        mask = pname == p
        limit[mask] = (np.round(lg(mu, s)[mask] / 500) * 500 * 100).astype(np.int64)
    base_cents = np.where(
        limit > 0, np.minimum(base_cents, (limit * 0.9).astype(np.int64)), base_cents
    )
    dormant = np.isin(pname, ("savings", "money_market")) & (rng.random(a) < 0.04)

    def first_of(prod: tuple[str, ...]) -> I64:
        out = np.full(n, -1, dtype=np.int64)
        mask = np.isin(pname, prod)
        # owner is sorted; take the first account of the products per owner
        rows = np.flatnonzero(mask)[::-1]
        out[owner[rows]] = rows
        return out

    checking = first_of(("checking", "business_checking"))
    savings = first_of(("savings", "business_savings"))
    credit = first_of(("credit_card", "business_credit_card"))
    loans = first_of(LOAN_PRODUCTS)
    # Joint accounts: some individuals share their checking with another individual.
    singles = np.flatnonzero(ind & old & (age >= 25))
    chosen = singles[rng.random(len(singles)) < 0.16]
    half = len(chosen) // 2
    prim, sec = chosen[:half], chosen[half : 2 * half]
    joint_acct = checking[prim]
    accounts = Accounts(
        owner=owner,
        product=product,
        account_id=account_id,
        account_number=account_number,
        card_number=card_number,
        product_code=product_code,
        branch=branch,
        open_day=open_day.astype(np.int64),
        close_day=close_day,
        base_cents=base_cents,
        limit_cents=limit,
        dormant=dormant,
        joint_acct=joint_acct,
        joint_holder=sec,
    )
    return accounts, checking, savings, credit, loans


def _held_away(
    n: int,
    is_b: B,
    age: I64,
    income_cents: I64,
    traits: dict[str, B],
    life: dict[str, I64],
    own_loans: I64,
    accounts: Accounts,
    catalog: Catalog,
    window: Window,
    rng: np.random.Generator,
) -> HeldAway:
    ind = ~is_b
    u = lambda: rng.random(n)  # noqa: E731
    rich = income_cents > 8_000_000
    poor = income_cents < 3_500_000
    has_fi_mortgage = np.zeros(n, dtype=bool)
    mort = accounts.owner[accounts.product == PRODUCT_INDEX["mortgage"]]
    has_fi_mortgage[mort] = True
    probs: dict[str, B] = {
        "mortgage": traits["homeowner"] & ~has_fi_mortgage & (u() < 0.72),
        "heloc": traits["homeowner"] & (u() < 0.06),
        "auto_loan": traits["car_owner"] & ind & (u() < 0.33),
        "credit_card": (ind & (u() < 0.55)) | (is_b & (u() < 0.3)),
        "student_loan": ind & (age >= 22) & (age <= 40) & (u() < 0.25),
        "personal_loan": ind & (u() < 0.07),
        "investment": ind & (u() < np.where(rich, 0.35, 0.08)),
        "insurance": traits["car_owner"] & (u() < 0.72),
        "deposit": ind & (u() < 0.1),
        "bnpl": ind & (age < 50) & (u() < 0.12),
        "crypto": ind & (age < 45) & (u() < 0.08),
        "payday": ind & poor & (u() < 0.06),
        "ewa": ind & poor & (u() < 0.1),
    }
    cust_l: list[I64] = []
    prod_l: list[str] = []
    ent_l: list[I64] = []
    since_l: list[I64] = []
    nd = window.n_days
    for product, mask in probs.items():
        ents = catalog.institutions.get(product)
        if ents is None or len(ents) == 0:
            continue
        who = np.flatnonzero(mask)
        w = 1.0 / np.power(np.arange(1, len(ents) + 1), 0.9)
        ent = ents[weighted_index(rng.random(len(who)), w)]
        since = -rng.integers(30, 8 * 365, len(who))
        # Some started inside the window (they show up mid-way).
        fresh = rng.random(len(who)) < 0.08
        since = np.where(fresh & (nd > 45), rng.integers(0, max(nd - 40, 1), len(who)), since)
        cust_l.append(who)
        prod_l.extend([product] * len(who))
        ent_l.append(ent)
        since_l.append(since)
    # P2P apps: several per customer.
    for app, (sent, _recv) in sorted(catalog.p2p_apps.items()):
        p = {"zelle": 0.42, "venmo": 0.33, "cashapp": 0.16, "paypal": 0.24}.get(app, 0.1)
        p_arr = np.where(age < 40, p * 1.4, p * 0.7)
        who = np.flatnonzero(ind & (u() < p_arr))
        cust_l.append(who)
        prod_l.extend(["p2p"] * len(who))
        ent_l.append(np.full(len(who), sent, dtype=np.int64))
        since_l.append(-rng.integers(30, 5 * 365, len(who)))
    # A new vehicle comes with a new auto loan, from the event date.
    car = np.flatnonzero(life["new_vehicle"] < NEVER)
    ents = catalog.institutions.get("auto_loan")
    if ents is not None and len(ents) and len(car):
        cust_l.append(car)
        prod_l.extend(["auto_loan"] * len(car))
        ent_l.append(ents[rng.integers(0, len(ents), len(car))])
        since_l.append(life["new_vehicle"][car])
    cust = np.concatenate(cust_l) if cust_l else np.zeros(0, np.int64)
    ent = np.concatenate(ent_l) if ent_l else np.zeros(0, np.int64)
    since = np.concatenate(since_l) if since_l else np.zeros(0, np.int64)
    h = len(cust)
    pay_day = rng.integers(1, 29, h)
    spend_scale = np.clip(income_cents[cust] / 6_400_000, 0.4, 3.0) ** 0.5
    med = np.array([HELD_AWAY_PAYMENT[p][0] for p in prod_l])
    sig = np.array([HELD_AWAY_PAYMENT[p][1] for p in prod_l])
    cents = (med * np.exp(rng.normal(0, sig, h)) * spend_scale * 100).astype(np.int64)
    return HeldAway(
        cust=cust, product=prod_l, entity=ent, since=since, pay_day=pay_day, cents=cents
    )


def held_payment_days(held: HeldAway, window: Window) -> list[tuple[I64, I64]]:
    """Per month of the window: (rows paying that month, day index of the payment)."""
    out = []
    for _y, _m, first, last in window.months():
        day = first + held.pay_day - 1
        ok = (day <= last) & (day >= held.since)
        rows = np.flatnonzero(ok)
        out.append((rows, day[rows]))
    return out


def _ensure_payment_dates(
    held: HeldAway, window: Window, start_day: I64, stop_day: I64
) -> HeldAway:
    """Every held-away product shows at least one payment while the customer banks here: drop
    products of customers who never use their account, and move the pay day of the others."""
    until = np.minimum(stop_day[held.cust] - 1, window.n_days - 1)
    since = np.maximum(held.since, start_day[held.cust])
    keep = since <= until
    idx = np.flatnonzero(keep)
    held = HeldAway(
        cust=held.cust[idx],
        product=[held.product[i] for i in idx],
        entity=held.entity[idx],
        since=held.since[idx],
        pay_day=held.pay_day[idx],
        cents=held.cents[idx],
    )
    since, until = since[idx], until[idx]
    paid = np.zeros(len(held.cust), dtype=bool)
    for rows, days in held_payment_days(held, window):
        ok = (days >= since[rows]) & (days <= until[rows])
        paid[rows[ok]] = True
    fix = ~paid
    if fix.any():
        x = np.minimum(np.maximum(since, 0) + 3, until)
        dom = np.array([window.date(int(v)).day for v in x[fix]], dtype=np.int64)
        held.pay_day[fix] = dom
        held.since[fix] = np.minimum(held.since[fix], x[fix])
    return held
