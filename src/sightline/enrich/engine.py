"""The :class:`Enricher`: one descriptor (plus direction, MCC, channel) → an :class:`Enrichment`.

normalise → recognise the kind → match the merchant (exact, prefix, fuzzy) → resolve processors
and marketplaces → categorise (merchant, else MCC, else keywords) → detect a competing
institution and the product. Everything is in memory; results are memoised per distinct
(key, direction, MCC, trans_category, channel) in a bounded LRU.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from functools import cache, lru_cache
from typing import Any

from sightline.enrich.directory import Directory, Institution, Merchant, load_directory
from sightline.enrich.kinds import (
    NO_MERCHANT_KINDS,
    PAYROLL_PROCESSORS,
    is_bank_fee,
    p2p_platform,
    payroll_words,
    recognise,
)
from sightline.enrich.matcher import AliasIndex, Hit, match_form
from sightline.enrich.normalise import (
    Parsed,
    descriptor_key,
    parse,
    title_name,
    without_refund_words,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Enrichment:
    cleansed: str
    merchant_id: str | None
    merchant_name: str | None
    sub_merchant: str | None
    city: str | None
    state: str | None
    category: str | None
    category_group: str | None
    pfc_primary: str | None
    pfc_detailed: str | None
    mcc: str | None
    mcc_description: str | None
    merchant_kli_code: int | None
    competitive_fi: str | None
    competitive_fi_id: str | None
    fi_product: str | None
    transaction_kind: str
    match_type: str
    match_score: float
    logo_url: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


FIELDS: tuple[str, ...] = tuple(
    f.name for f in fields(Enrichment) if f.name not in ("mcc", "logo_url")
)
"""The enrichment columns, in output order (the CLI and the lake stage write these). ``mcc`` (the
input's code or the merchant's typical one) and ``logo_url`` stay in the API answer only."""

# Processor prefixes: the merchant is what follows the ``*``.
PROCESSORS = frozenset(
    [
        "SQ",
        "SQU",
        "SQUARE",
        "TST",
        "TOAST",
        "SP",
        "SHOPIFY",
        "IN",
        "INTUIT",
        "PP",
        "PAYPAL",
        "CLR",
        "CLOVER",
        "SQSP",
        "FS",
        "FASTSPRING",
        "2CO",
        "BT",
        "BRAINTREE",
        "PY",
        "WPY",
        "WEPAY",
        "ABC",
        "CKE",
        "PAR",
        "LS",
        "LIGHTSPEED",
        "SPO",
        "SPOTON",
        "STRIPE",
        "PADDLE",
        "PADDLE",
        "NET",
        "WL",
        "GOOGLE",
        "APPLE",
        "APPLE",
        "COM",
        "BILL",
        "PAYPAL",
        "INST",
        "PMT",
        "PAYMENTUS",
        "SAGE",
        "HEARTLAND",
        "ELAVON",
        "CHK",
        "GLOBAL",
        "PAYPAL",
        "EBAY",
        "PAYPAL",
        "ETSY",
        "POYNT",
        "SUMUP",
        "ZETTLE",
        "IZ",
        "HPS",
        "EVO",
        "WORLDPAY",
        "AUTHNET",
    ]
) | frozenset({"APPLE COM BILL", "PADDLE NET", "GOOGLE PAY", "PAYPAL INST"})
# Platform codes: the merchant is the platform and what follows the ``*`` is the sub-merchant.
PLATFORMS: dict[str, str] = {
    "DD": "DOORDASH",
    "DOORDASH": "DOORDASH",
    "DOORDASH DASHPASS": "DOORDASH",
    "GRUBHUB": "GRUBHUB",
    "GH": "GRUBHUB",
    "UBER EATS": "UBER EATS",
    "UBEREATS": "UBER EATS",
    "UE": "UBER EATS",
    "POSTMATES": "POSTMATES",
    "SEAMLESS": "SEAMLESS",
    "CAVIAR": "CAVIAR",
    "INSTACART": "INSTACART",
    "IC": "INSTACART",
    "EB": "EVENTBRITE",
    "EVENTBRITE": "EVENTBRITE",
    "TM": "TICKETMASTER",
    "ETSY": "ETSY",
    "ETSY COM": "ETSY",
    "GOPUFF": "GOPUFF",
    "SHIPT": "SHIPT",
    "FAIRE": "FAIRE",
}
SUB_MERCHANT_KINDS = frozenset({"delivery", "marketplace"})
_NOISE_TAIL = frozenset(
    [
        "US",
        "USA",
        "BILL",
        "AMZN",
        "COM",
        "MKTP",
        "MARKETPLACE",
        "ORDER",
        "ONLINE",
        "PAYMENT",
        "PMT",
        "HELP",
        "PENDING",
        "TRIP",
        "EATS",
        "RIDE",
        "SUBSCRIPTION",
        "MEMBERSHIP",
        "RENEWAL",
        "STORE",
        "APP",
        "WEB",
    ]
)
_LEGAL = re.compile(r"\s+(?:LLC|L L C|INC|INCORPORATED|CORP|CORPORATION|LTD|PLLC|LLP|CO)$")

# Product words in descriptors, most specific first.
PRODUCT_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("heloc", re.compile(r"\b(?:HELOC|HOME EQUITY|HOME EQ|EQUITY LINE|EQUITY LN|HELOAN)\b")),
    (
        "mortgage",
        re.compile(r"\b(?:MTG|MTGE|MORTGAGE|MORTG|MORT|HOME LOAN|HOME LN|HOME LENDING|HOMELOAN)\b"),
    ),
    (
        "student_loan",
        re.compile(
            r"\b(?:STUDENT|STUDNT|STDNT|STUDENT LN|LOAN SERVICING|LOAN SVCS|EDUCATION|EDFINANCIAL"
            r"|DEPT EDUCATION|DEPT OF ED)\b"
        ),
    ),
    (
        "auto_loan",
        re.compile(
            r"\b(?:AUTO LOAN|AUTO LN|AUTO FIN|AUTO FINANCE|AUTO FINANCIAL|AUTO PMT|CARPAY|CAR PAY"
            r"|CAR LOAN|DEALER|DEALER SVCS|VEHICLE|MOTOR CREDIT|MOTOR ACCEPTANCE|AUTO CREDIT"
            r"|AUTO LEASE|LEASE PMT|AUTO)\b(?! ?PAY\b| ?PYMT\b)"
        ),
    ),
    (
        "insurance",
        re.compile(r"\b(?:INS|INSURANCE|INSUR|PREMIUM|PREM|POLICY|ASSURANCE|LIFE INS|AUTO INS)\b"),
    ),
    (
        "investment",
        re.compile(
            r"\b(?:BROKERAGE|MONEYLINK|INVESTMENT|INVESTMENTS|INVEST|IRA|ROTH|SECURITIES|401K"
            r"|TRADE|BROKER|WEALTH|MUTUAL FUND|ADVISORS)\b"
        ),
    ),
    (
        "personal_loan",
        re.compile(r"\b(?:PERSONAL LOAN|PERSONAL LN|PERS LOAN|INSTALLMENT|LOAN PMT|LN PMT|LOAN)\b"),
    ),
    (
        "credit_card",
        re.compile(
            r"\b(?:CARD|CRD|CREDIT CARD|CRCARDPMT|CC PMT|CC PAYMENT|CARDMEMBER|CARD SERVICES|"
            r"AUTOPAY|AUTO PAY|ONLINE PMT|ONLINE PAYMENT|EPAY|E-PAYMENT|EPAYMENT|E PAYMENT|"
            r"MOBILE PMT|MOBILE PAYMENT|PAYMENT THANK YOU|VISA|MASTERCARD|AMEX|WEB PMT)\b"
        ),
    ),
    ("deposit", re.compile(r"\b(?:TRANSFER|XFER|SAVINGS|SAV|DEPOSIT|CHECKING|HYSA|CD)\b")),
)
TYPE_PRODUCT = {
    "card_issuer": "credit_card",
    "mortgage_servicer": "mortgage",
    "auto_lender": "auto_loan",
    "student_loan_servicer": "student_loan",
    "personal_lender": "personal_loan",
    "brokerage": "investment",
    "insurer": "insurance",
    "p2p": "p2p",
    "bnpl": "bnpl",
    "crypto": "crypto",
    "payday": "payday",
    "ewa": "ewa",
}
# Card purchases at these institution types are product payments (insurance premium by card, a
# BNPL instalment); at a bank they are not (a bank's cafe, stadium naming rights).
CARD_PAYABLE_TYPES = frozenset({"insurer", "bnpl", "crypto", "brokerage", "p2p", "ewa", "payday"})
PRODUCT_CATEGORY = {
    "mortgage": ("Financial", "Mortgage Payment"),
    "heloc": ("Financial", "Home Equity Payment"),
    "auto_loan": ("Financial", "Auto Loan Payment"),
    "credit_card": ("Financial", "Credit Card Payment"),
    "student_loan": ("Financial", "Student Loan Payment"),
    "personal_loan": ("Financial", "Personal Loan Payment"),
    "investment": ("Financial", "Investment"),
    "insurance": ("Financial", "Insurance"),
    "bnpl": ("Financial", "Buy Now Pay Later"),
    "crypto": ("Financial", "Crypto"),
    "payday": ("Financial", "Payday & Cash Advance"),
    "ewa": ("Financial", "Earned Wage Access"),
    "deposit": ("Transfers", "Savings Transfer"),
}
_FI_KINDS = frozenset({"ach_debit", "ach_credit", "transfer", "card_purchase", "p2p"})


@dataclass(frozen=True, slots=True)
class _MerchantMatch:
    merchant: Merchant | None
    name: str | None
    sub: str | None
    hit: Hit | None


def default_kli_codes() -> dict[str, int] | None:
    """Merchant → KLI code from :mod:`sightline.taxonomy` when it is installed and built."""
    try:
        from sightline.taxonomy import merchant_kli_codes
    except ImportError:
        return None
    try:
        return dict(merchant_kli_codes())
    except Exception as exc:  # a missing or unreadable registry must not stop enrichment
        log.warning("merchant KLI codes unavailable: %s", exc)
        return None


class Enricher:
    """Cleanses descriptors against a :class:`Directory`. Build once per process (it compiles the
    automata), then call :meth:`enrich` from any thread: it only reads shared state."""

    def __init__(
        self,
        directory: Directory,
        *,
        kli_codes: Mapping[str, int] | None = None,
        cache_size: int = 100_000,
    ) -> None:
        self.directory = directory
        self.kli_codes: Mapping[str, int] = kli_codes or {}
        self.merchants = AliasIndex(
            (alias, m.merchant_id) for m in directory.merchants for alias in (m.name, *m.aliases)
        )
        inst_pairs: list[tuple[str, str]] = []
        statement_pairs: list[tuple[str, str]] = []
        for inst in directory.institutions:
            inst_pairs.extend((alias, inst.institution_id) for alias in (inst.name, *inst.aliases))
            for product, names in inst.statement_names.items():
                statement_pairs.extend((n, f"{inst.institution_id}|{product}") for n in names)
        self.institutions = AliasIndex(inst_pairs, min_inner_length=5)
        self.statement_names = AliasIndex(statement_pairs, min_inner_length=6)
        self.keywords = AliasIndex(
            (kw, f"{c.category_group}|{c.category}")
            for c in directory.categories
            for kw in c.keywords
            if c.category_group not in ("Fees", "Cash", "Checks", "Income", "Transfers")
        )
        self.fee_keywords = AliasIndex(
            (kw, f"{c.category_group}|{c.category}")
            for c in directory.categories
            for kw in c.keywords
            if c.category_group == "Fees"
        )
        self._categories = {(c.category_group, c.category): c for c in directory.categories}
        self._cached = lru_cache(maxsize=cache_size)(self.enrich_key)

    # --- public API ---

    def enrich(
        self,
        description: str,
        *,
        direction: str | None = None,
        mcc: str | None = None,
        trans_category: str | None = None,
        channel: str | None = None,
    ) -> Enrichment:
        """Enrich one raw descriptor (memoised per distinct key and context)."""
        return self._cached(
            descriptor_key(description), direction, _mcc(mcc), trans_category, channel
        )

    def cache_clear(self) -> None:
        self._cached.cache_clear()

    def enrich_key(
        self,
        key: str,
        direction: str | None = None,
        mcc: str | None = None,
        trans_category: str | None = None,
        channel: str | None = None,
    ) -> Enrichment:
        """Enrich a descriptor *key* (see :func:`descriptor_key`), uncached."""
        p = parse(key)
        kind = recognise(p, direction=direction, channel=channel, trans_category=trans_category)
        credit = direction == "credit"
        match = _MerchantMatch(None, None, None, None)
        inst: Institution | None = None
        product: str | None = None

        if kind == "p2p":
            match, inst, product = self._p2p(p)
        elif kind == "payroll":
            match = self._payroll(p)
        elif kind == "refund":
            if not is_bank_fee(p.key):
                match = self._merchant(without_refund_words(p))
        elif kind not in NO_MERCHANT_KINDS:
            match = self._merchant(p)
        if kind in _FI_KINDS and kind != "p2p":
            inst, product = self._institution(p, kind, match.merchant)
        if inst is not None and match.merchant is None:
            match = _MerchantMatch(None, inst.name, None, None)

        category = self._category(p, kind, credit, match.merchant, product, mcc)
        merchant = match.merchant
        mcc_code = mcc or (merchant.mccs[0] if merchant and merchant.mccs else None)
        mcc_info = self.directory.mcc.get(mcc_code) if mcc_code else None
        if match.hit is not None:
            match_type = "EXACT" if match.hit.how == "exact" else "SIMILAR"
            score = match.hit.score
        elif inst is not None:
            match_type, score = "EXACT", 0.95
        else:
            match_type, score = "NONE", 0.0
        name = match.name
        cleansed = name or self._describe(p, kind)
        if match.sub:
            cleansed = f"{name} - {match.sub}"
        return Enrichment(
            cleansed=cleansed,
            merchant_id=merchant.merchant_id if merchant else None,
            merchant_name=name,
            sub_merchant=match.sub,
            city=title_name(p.city) if p.city else None,
            state=p.state,
            category=category[1] if category else None,
            category_group=category[0] if category else None,
            pfc_primary=self._pfc(category)[0],
            pfc_detailed=self._pfc(category)[1],
            mcc=mcc_code,
            mcc_description=mcc_info.description if mcc_info else None,
            merchant_kli_code=self.kli_codes.get(merchant.merchant_id) if merchant else None,
            competitive_fi=inst.name if inst else None,
            competitive_fi_id=inst.institution_id if inst else None,
            fi_product=product if inst else None,
            transaction_kind=kind,
            match_type=match_type,
            match_score=round(score, 3),
            logo_url=merchant.logo_url if merchant else None,
        )

    # --- merchants ---

    def _lookup(self, text: str, *, fuzzy: bool = True) -> Hit | None:
        form = match_form(text)
        if not form:
            return None
        hit = self.merchants.best_exact(form)
        if hit is None:
            hit = self.merchants.prefix(form)
        if hit is None and fuzzy:
            hit = self.merchants.fuzzy(form)
        return hit

    def _merchant(self, p: Parsed) -> _MerchantMatch:
        d = self.directory
        if p.head:
            head = match_form(p.head)
            whole = self.merchants.best_exact(match_form(p.text))
            if whole is not None and whole.start == 0 and whole.end > len(head) + 1:
                return self._from_text(p.text)  # "UBER *EATS": the alias spans the star
            platform = PLATFORMS.get(head)
            if platform is None:
                hit = self.merchants.best_exact(head)
                if hit is not None and hit.start == 0 and hit.end == len(head):
                    m = d.merchant(hit.target)
                    if m.kind == "processor":
                        head = "SQ"  # fall through to the processor branch
                    elif m.kind in SUB_MERCHANT_KINDS:
                        platform = head
            if platform is not None:
                hit = self.merchants.best_exact(platform) or self._lookup(p.text, fuzzy=False)
                if hit is not None:
                    m = d.merchant(hit.target)
                    tail = _strip_platform(p.tail, platform)
                    sub = _sub_name(tail, self._lookup(tail, fuzzy=False), hit.target)
                    return _MerchantMatch(m, m.name, sub, hit)
            if head in PROCESSORS or (len(head) <= 3 and p.tail):
                if p.tail:
                    return self._from_text(p.tail)
            else:
                hit = self._lookup(p.head)
                if hit is not None:
                    m = d.merchant(hit.target)
                    sub = None
                    if m.kind in SUB_MERCHANT_KINDS:
                        sub = _sub_name(p.tail, self._lookup(p.tail, fuzzy=False), hit.target)
                    return _MerchantMatch(m, m.name, sub, hit)
        return self._from_text(p.text)

    def _from_text(self, text: str) -> _MerchantMatch:
        form = match_form(text)
        hit = self._lookup(text)
        if hit is not None:
            m = self.directory.merchant(hit.target)
            sub = None
            if m.kind == "delivery" and hit.end < len(form):
                rest = form[hit.end :].strip()
                sub = _sub_name(rest, self._lookup(rest, fuzzy=False), hit.target)
            return _MerchantMatch(m, m.name, sub, hit)
        name = local_name(text)
        return _MerchantMatch(None, name, None, None)

    def _p2p(self, p: Parsed) -> tuple[_MerchantMatch, Institution | None, str | None]:
        alias = p2p_platform(p.key) or "P2P"
        hit = self.merchants.best_exact(alias)
        merchant = self.directory.merchant(hit.target) if hit else None
        inst_hit = self.institutions.best_exact(alias)
        inst = self.directory.institution(inst_hit.target) if inst_hit else None
        if inst is not None and inst.products and "p2p" not in inst.products:
            inst = None
        name = merchant.name if merchant else (inst.name if inst else title_name(alias))
        if hit is None:
            hit = Hit(alias, alias, 0, len(alias), 1.0, "exact") if (merchant or inst) else None
        return _MerchantMatch(merchant, name, None, hit), inst, ("p2p" if inst else None)

    def _payroll(self, p: Parsed) -> _MerchantMatch:
        company = p.ach.company if p.ach else p.text
        employer = payroll_words().sub(" ", company)
        employer = re.sub(r"\s+", " ", employer).strip(" -*")
        processor = PAYROLL_PROCESSORS.match(employer)
        if processor and employer[processor.end() :].strip():
            employer = employer[processor.end() :].strip()
        if not employer:
            employer = company
        hit = self._lookup(employer, fuzzy=False)
        if hit is not None:
            m = self.directory.merchant(hit.target)
            return _MerchantMatch(m, m.name, None, hit)
        return _MerchantMatch(None, local_name(employer), None, None)

    # --- institutions ---

    def _institution(
        self, p: Parsed, kind: str, merchant: Merchant | None
    ) -> tuple[Institution | None, str | None]:
        text = match_form(f"{p.ach.company} {p.ach.entry}" if p.ach else p.key)
        d = self.directory
        st = self.statement_names.best_exact(text)
        if st is not None:
            inst_id, _, product = st.target.partition("|")
            inst = d.institution(inst_id)
            if kind != "card_purchase" or inst.type in CARD_PAYABLE_TYPES:
                return inst, product
        hit = self.institutions.best_exact(text)
        if hit is None:
            return None, None
        inst = d.institution(hit.target)
        if kind == "card_purchase" and inst.type not in CARD_PAYABLE_TYPES:
            return None, None
        return inst, _product(inst, text, kind)

    # --- categories ---

    def _category(
        self,
        p: Parsed,
        kind: str,
        credit: bool,
        merchant: Merchant | None,
        product: str | None,
        mcc: str | None,
    ) -> tuple[str, str] | None:
        key = p.key
        if kind == "fee":
            hit = self.fee_keywords.best_exact(match_form(key))
            if hit is not None:
                return _pair(hit.target)
            if "ATM" in key:
                return ("Fees", "ATM Fees")
            return ("Fees", "Bank Fees")
        if kind == "atm":
            return (
                ("Cash", "Cash Deposit")
                if credit or "DEPOSIT" in key
                else ("Cash", "ATM Withdrawal")
            )
        if kind == "check":
            return ("Checks", "Check Deposit") if credit else ("Checks", "Check Payment")
        if kind == "interest":
            return ("Income", "Dividends") if "DIVIDEND" in key else ("Income", "Interest")
        if kind == "payroll":
            return ("Income", "Payroll")
        if kind == "p2p":
            return ("Transfers", "P2P Received") if credit else ("Transfers", "P2P Payment")
        if kind == "transfer":
            if product and product != "deposit" and product in PRODUCT_CATEGORY:
                return PRODUCT_CATEGORY[product]
            if "WIRE" in key:
                return (
                    ("Transfers", "Incoming Transfer") if credit else ("Transfers", "Wire Transfer")
                )
            if credit:
                return ("Transfers", "Incoming Transfer")
            if re.search(r"\bSAV(?:INGS)?\b", key):
                return ("Transfers", "Savings Transfer")
            return ("Transfers", "Own-Account Transfer")
        if merchant is not None:
            return (merchant.category_group, merchant.category)
        if product is not None and product in PRODUCT_CATEGORY:
            return PRODUCT_CATEGORY[product]
        if kind == "refund":
            return ("Income", "Refunds")
        if mcc:
            cat = self.directory.category_for_mcc(mcc)
            if cat is not None:
                return (cat.category_group, cat.category)
        hit = self.keywords.best_exact(match_form(p.text)) or self.keywords.best_exact(
            match_form(key)
        )
        if hit is not None:
            return _pair(hit.target)
        return ("Uncategorized", "Uncategorized")

    def _pfc(self, category: tuple[str, str] | None) -> tuple[str | None, str | None]:
        cat = self._categories.get(category) if category else None
        return (cat.pfc_primary, cat.pfc_detailed) if cat else (None, None)

    @staticmethod
    def _describe(p: Parsed, kind: str) -> str:
        """A readable line for a transaction without a merchant (fee, ATM, check, transfer)."""
        if kind == "atm":
            return "ATM Deposit" if "DEPOSIT" in p.key else "ATM Withdrawal"
        if kind == "check":
            return "Check Deposit" if "DEPOSIT" in p.key else "Check"
        text = p.ach.company if p.ach else (p.text or p.key)
        text = re.sub(r"\b(?:REF|ID|CONF|TRACE|CONFIRMATION)\b.*$", "", text).strip(" #:-*")
        return title_name(text) if text else kind.replace("_", " ").title()


def _mcc(mcc: str | None) -> str | None:
    if mcc is None:
        return None
    code = mcc.strip()
    if not code:
        return None
    return code.zfill(4) if code.isdigit() and len(code) < 4 else code


def _pair(target: str) -> tuple[str, str]:
    group, _, category = target.partition("|")
    return group, category


def _product(inst: Institution, text: str, kind: str) -> str | None:
    products = inst.products
    if len(products) == 1:
        return products[0]
    for product, pattern in PRODUCT_WORDS:
        if pattern.search(text) and (not products or product in products):
            if product == "deposit" and kind not in ("transfer", "ach_credit"):
                continue
            return product
    typed = TYPE_PRODUCT.get(inst.type)
    if typed and (not products or typed in products):
        return typed
    if kind in ("transfer", "ach_credit") and "deposit" in products:
        return "deposit"
    if "credit_card" in products and kind == "ach_debit":
        return "credit_card"
    return products[0] if products else None


def _strip_platform(tail: str, platform: str) -> str:
    form = match_form(tail)
    for prefix in (platform, platform.replace(" ", "")):
        if form.startswith(prefix + " ") or form == prefix:
            return form[len(prefix) :].strip()
    return tail


def _sub_name(tail: str, tail_hit: Hit | None, platform_id: str) -> str | None:
    form = match_form(tail)
    words = [w for w in form.split() if w not in _NOISE_TAIL]
    if not words or not any(len(w) >= 3 and w.isalpha() for w in words):
        return None
    if tail_hit is not None and tail_hit.target == platform_id:
        return None
    return local_name(" ".join(words))


def local_name(text: str) -> str | None:
    """A readable name for a merchant in no directory: title case, no legal suffix."""
    form = re.sub(r"[^A-Z0-9&'\-. ]+", " ", text.upper())
    form = re.sub(r"\s+", " ", form).strip(" -.")
    form = _LEGAL.sub("", form).strip(" -.")
    return title_name(form) if form else None


@cache
def default_enricher() -> Enricher:
    """The process-wide Enricher over the packaged directory (built on first use)."""
    return Enricher(load_directory(), kli_codes=default_kli_codes())
