"""The :class:`Enricher`: one descriptor (plus direction, MCC, channel) → an :class:`Enrichment`.

normalise → recognise the kind → match the merchant (exact, prefix, fuzzy) → resolve processors
and marketplaces → categorise (merchant, else MCC, else keywords) → detect a competing
institution and the product. Everything is in memory; results are memoised per distinct
(key, direction, MCC, trans_category, channel) in a bounded LRU.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from functools import cache, lru_cache
from typing import Any

from sightline.enrich.directory import Directory, Institution, Merchant, load_directory
from sightline.enrich.kinds import (
    CASH_WITHDRAWAL,
    NO_MERCHANT_KINDS,
    PAYROLL_PROCESSORS,
    is_bank_fee,
    p2p_platform,
    payroll_words,
    recognise,
)
from sightline.enrich.matcher import AliasIndex, Hit, match_form
from sightline.enrich.municipal import MunicipalUtility, municipal_utility
from sightline.enrich.normalise import (
    Parsed,
    all_city_names,
    descriptor_key,
    parse,
    title_name,
    warm_up,
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
_ACH_TAIL = re.compile(
    r"(?:\s+(?:WEB|ONLINE|PMTS?|PAYMENTS?|PYMTS?|AUTOPAY|AUTO PAY|BILL ?PAY|BILL|EPAY|ACH|DEBIT"
    r"|RENT|DIR DEP|DIRECT DEP|DIRECT DEPOSIT))+$"
)
_ACH_KINDS = frozenset({"ach_debit", "ach_credit"})
_MUNICIPAL_CATEGORY = ("Bills & Utilities", "Water")
_PAYOUT_WORDS = re.compile(r"\s+(?:TRANSFER|XFER|PAYOUTS?|DEPOSIT)$")
_LEGAL = re.compile(r"\s+(?:LLC|L L C|LL|INC|INCORPORATED|CORP|CORPORATION|LTD|PLLC|LLP|CO|PA|PC)$")

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
            r"\b(?:STUDENT|STUDNT|STDNT|STUDENT LN|STUDNTLOAN|STUDENTLOAN|STUDENTLN|EDU LOAN"
            r"|EDU LN|LOAN SERVICING|LOAN SVCS|EDUCATION|EDFINANCIAL|DEPT EDUCATION|DEPT OF ED)\b"
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
    (
        "deposit",
        re.compile(
            r"\b(?:TRANSFER|XFER|SAVINGS|SAV|DEPOSIT|CHECKING|HYSA|CD|EXT TRNSFR|EXT TRANSFER"
            r"|EXTERNAL TRANSFER|ACCTVERIFY|ACCT VERIFY)\b"
        ),
    ),
)
# A loan payment that names no kind of loan (LOAN PMT, LN PMT): the institution's instalment loan
# before its mortgage - mortgages nearly always print MTG, MORTGAGE or HOME LOAN.
_LOAN_WORD = re.compile(r"\b(?:LOAN|LN|LOANS|LNS)\b")
LOAN_PREFERENCE = ("personal_loan", "auto_loan", "mortgage", "student_loan", "heloc")
# Words that make a debit a payment, not a move of money between one's own accounts.
_PAYMENT_WORD = re.compile(
    r"\b(?:PMT|PMTS|PYMT|PYMTS|PAYMT|PAYMENT|PAYMENTS|AUTOPAY|AUTO PAY|EPAY|BILL ?PAY|REPAY)\b"
)
# NACHA prints the originator's company name in 16 characters.
ACH_NAME_WIDTH = 16
_MOVE_PRODUCTS = frozenset({"deposit", "investment", "crypto", "p2p"})
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
CARD_PAYABLE_TYPES = frozenset({"insurer", "bnpl", "crypto", "brokerage", "ewa", "payday"})
_PLATFORM_KINDS = frozenset({"marketplace", "delivery", "charity", "subscription", "online"})
_NON_SPEND_GROUPS = frozenset({"Fees", "Cash", "Checks", "Income", "Transfers"})
# Processors whose own name is the merchant when nothing follows the star (Ticketmaster).
_NAMED_PROCESSORS = frozenset({"ticketmaster"})


# Words that follow a brand on statements without changing who it is.
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_GENERIC = _words(
    "STORE STORES STR SHOP OIL GAS FUEL WHSE WHOLESALE SUPERCENTER SUPERSTORE CENTER "
    "PHARMACY RX DRUG DRUGS THEATRE THEATRES THEATER CINEMA CINEMAS DRIVE THE AND OF ONLINE "
    "COM NET WWW INC LLC CORP LTD USA INTL FOOD MART MINI DOWNTOWN MALL PLAZA AIRPORT "
    "STATION SERVICE TRAVEL OUTLET ORDER ORDERS PAYMENT PMT PAY AUTOPAY BILL BILLING "
    "RECURRING SUBSCRIPTION SUBS MEMBERSHIP PREMIUM PLUS WRLS WIRELESS CABLE COMM MOBILE APP "
    "PURCHASE RETAIL SALES SUPER EXPRESS MARKETPLACE MKTP DIGITAL STORE# LOCATION SVCS SVC "
    "SERVICES"
)
# Words that name another kind of business: after an institution's name they make it a
# collision (REPUBLIC WIRELESS is a phone company, not Republic Bank).
_NOT_FI_WORDS = _words(
    "WRLS WIRELESS WIRELES CABLE COMM OIL GAS FUEL PHARMACY RX DRUG DRUGS THEATRE THEATRES "
    "THEATER CINEMA CINEMAS FOOD MART SUPERCENTER SUPERSTORE WHSE WHOLESALE STATION"
)
_FI_GENERIC = (_GENERIC - _NOT_FI_WORDS) | _words(
    "PAYMENT PAYMT PAYMNT PYMT PYMTS PMT PMTS PAY AUTOPAY AUTO EPAY EPAYMENT ONLINE MOBILE WEB "
    "ACH DEBIT CREDIT CARD CRD CC CRCARDPMT LOAN LN LNS MTG MTGE MORTGAGE HOME HELOC EQUITY "
    "STUDENT STUDENTLN INS INSURANCE PREM POLICY TRANSFER XFER DEPOSIT FUNDS INVEST "
    "INVESTMENT BROKERAGE BUY SAVINGS SAV BANK NA CU FCU FINANCIAL FINANCE FIN SERVICES SVCS "
    "SVC SERV SERVICING COLLECTION COLL TO FROM ENDING BILL VISA MASTERCARD AMEX CARDMEMBER "
    "ACCT ACCOUNT CHECKING ACCOUNTS CARPAY DEALER LEASE PREMIUMS NETWORK SECURITIES TRADE "
    "MONEYLINK MONEYLINE DEBITS THANK YOU PAYMENTS INST SENT CASHOUT"
)
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
    category: tuple[str, str] | None = None
    """Set when the name comes from a curated rule, not a directory merchant (a city utility)."""


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


_SOCIAL_SECURITY = re.compile(r"\bSSA\b|\bSOC SEC\b|\bXXSOC SEC\b|\bSOCIAL SECURITY\b")


# Words after a payroll processor's name that do not name an employer.
_PAYROLL_FILLER = frozenset(
    ("INC", "LLC", "CORP", "CO", "PAY", "PAYMENT", "PMT", "NET", "DEP", "DEPOSIT", "PPD")
)


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
        # display names first, so an alias shared by two merchants resolves to the one it names
        merchant_pairs = [(m.name, m.merchant_id) for m in directory.merchants]
        merchant_pairs += [(a, m.merchant_id) for m in directory.merchants for a in m.aliases]
        self.merchants = AliasIndex(merchant_pairs)
        inst_pairs = [(i.name, i.institution_id) for i in directory.institutions]
        inst_pairs += [(a, i.institution_id) for i in directory.institutions for a in i.aliases]
        statement_pairs: list[tuple[str, str]] = []
        for inst in directory.institutions:
            for product, names in inst.statement_names.items():
                statement_pairs.extend((n, f"{inst.institution_id}|{product}") for n in names)
        self.institutions = AliasIndex(inst_pairs, min_inner_length=5, inner_single_tokens=True)
        self.statement_names = AliasIndex(statement_pairs, min_inner_length=6)
        spend = [c for c in directory.categories if c.category_group not in _NON_SPEND_GROUPS]
        self.keywords = AliasIndex(
            ((kw, f"{c.category_group}|{c.category}") for c in spend for kw in c.keywords),
            min_inner_length=3,
            inner_single_tokens=True,
        )
        self.fee_keywords = AliasIndex(
            (
                (kw, f"{c.category_group}|{c.category}")
                for c in directory.categories
                if c.category_group == "Fees"
                for kw in c.keywords
            ),
            min_inner_length=3,
            inner_single_tokens=True,
        )
        self.income_keywords = AliasIndex(
            (
                (kw, f"{c.category_group}|{c.category}")
                for c in directory.categories
                if c.category_group == "Income" and c.category not in ("Refunds", "Interest")
                for kw in c.keywords
                if len(kw) >= 3
            ),
            min_inner_length=3,
            inner_single_tokens=True,
        )
        self._keyword_category: dict[str, str] = {}
        for c in spend:
            for kw in c.keywords:
                if " " not in kw and len(kw) >= 4:
                    self._keyword_category.setdefault(kw, c.category)
        self._categories = {(c.category_group, c.category): c for c in directory.categories}
        self._payouts: dict[str, Merchant] = {}
        by_name = {m.name: m for m in directory.merchants if m.kind != "payroll"}
        for m in directory.merchants:
            # "Square Payroll" is a payroll service for other employers (like ADP): a deposit
            # from Square is a card settlement, not Square paying a driver or seller.
            if m.kind == "payroll" and " " in m.name and not m.name.endswith(" Payroll"):
                brand = by_name.get(m.name.rsplit(" ", 2)[0]) or by_name.get(m.name.split(" ")[0])
                if brand is not None:
                    self._payouts[brand.merchant_id] = m
        self._processor_domains = {
            m.domain for m in directory.merchants if m.kind == "processor" and m.domain
        }
        ids = {m.merchant_id: m for m in directory.merchants}
        self._ssa = ids.get("social-security-administration")
        self._treasury = {"us-treasury-payments", "us-department-of-the-treasury"}
        self._cached = lru_cache(maxsize=cache_size)(self.enrich_key)
        warm_up()
        _vocabulary()
        for generic in (_GENERIC, _FI_GENERIC):
            _generic_sorted(generic)

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
        if kind == "transfer" and credit and self._payout_transfer(p):
            kind = "ach_credit"  # SHOPIFY TRANSFER: a processor paying out a seller's sales
        if kind == "p2p" and self._app_product_line(p):
            kind = "ach_credit" if credit else "ach_debit"  # VENMO CRD PMT: its credit card
        match = _MerchantMatch(None, None, None, None)
        inst: Institution | None = None
        inst_len = 0
        product: str | None = None

        if kind == "p2p":
            match, inst, product = self._p2p(p)
        elif kind == "payroll":
            match = self._payroll(p)
        elif kind == "refund":
            if not is_bank_fee(p.key):
                match = self._merchant(without_refund_words(p), mcc)
        elif kind not in NO_MERCHANT_KINDS:
            ach = kind in _ACH_KINDS and not p.head
            muni = self._municipal(p) if ach else None
            if muni is not None and muni.explicit:
                match = _MerchantMatch(None, muni.name, None, None, _MUNICIPAL_CATEGORY)
            else:
                match = self._merchant(p, mcc, ach=ach or p.ach is not None)
                if muni is not None and not _names_whole(match):
                    match = _MerchantMatch(None, muni.name, None, None, _MUNICIPAL_CATEGORY)
        if kind in _FI_KINDS and kind != "p2p":
            inst, product, inst_len = self._institution(p, kind)
        if inst is not None and self._institution_names_it(match, inst_len, kind):
            match = _MerchantMatch(None, inst.name, None, None)
        merchant = match.merchant
        if (
            credit
            and merchant is not None
            and self._ssa is not None
            and merchant.merchant_id in self._treasury
            and _SOCIAL_SECURITY.search(p.key)
        ):
            # Treasury (310) disburses the benefit; the programme named in the line pays it.
            merchant = self._ssa
            match = _MerchantMatch(merchant, merchant.name, None, match.hit)
        payout = self._payouts.get(merchant.merchant_id) if merchant else None
        if credit and payout is not None and kind == "ach_credit":
            merchant = payout  # a gig platform paying its driver
            match = _MerchantMatch(merchant, merchant.name, None, match.hit)
            kind = "payroll"

        category = match.category or self._category(
            p, kind, credit, merchant, match.name, product, mcc
        )
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
        pfc = self._pfc(category)
        return Enrichment(
            cleansed=cleansed,
            merchant_id=merchant.merchant_id if merchant else None,
            merchant_name=name,
            sub_merchant=match.sub,
            city=title_name(p.city) if p.city else None,
            state=p.state,
            category=category[1] if category else None,
            category_group=category[0] if category else None,
            pfc_primary=pfc[0],
            pfc_detailed=pfc[1],
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

    def _plausible(
        self,
        hit: Hit,
        form: str,
        *,
        fi: bool = False,
        own: str = "",
        kind: str = "",
        domain: str | None = None,
    ) -> bool:
        """Whether an alias hit really names the text: a one-word alias (``LUCKY``, ``KINGS``,
        ``ACE``) must not be followed by words of another name (``LUCKY DRAGON CHINESE``,
        ``KINGS PAWN SHOP``). Cities, numbers and descriptor boilerplate do not count."""
        words = self._leftover(hit, form, fi=fi, domain=domain)
        if fi:
            return not words or (" " in hit.alias and len(hit.alias) >= 8)
        other_keyword = any(
            self._keyword_category.get(_complete_word(w) if i == len(words) - 1 else w)
            not in (None, own)
            for i, w in enumerate(words)
        )
        if " " in hit.alias and len(hit.alias) >= 8:
            return not other_keyword  # PIRATES COVE GRILL is not Pirate's Cove Mini Golf
        if hit.start == 0 and kind in _PLATFORM_KINDS:
            return True  # GOFUNDME JANE SMITH MEDI, ADOBE ACROPRO: the platform and what it sells
        return len(words) < 2 and not other_keyword

    @staticmethod
    def _leftover(hit: Hit, form: str, *, fi: bool = False, domain: str | None = None) -> list[str]:
        """The words of ``form`` outside the hit that could belong to another name (not the
        merchant's own web address: ``FUBOTV FUBO.TV``, ``TUBI TUBITV.COM``)."""
        rest = (form[: hit.start] + " " + form[hit.end :]).split()
        if domain:
            own = set(match_form(domain).split())
            rest = [t for t in rest if t not in own]
        cities = all_city_names()
        generic = _FI_GENERIC if fi else _GENERIC
        words = []
        last = len(rest) - 1
        for i, token in enumerate(rest):
            if token in generic or token == hit.alias or len(token) <= 2:
                continue
            if i == last and len(token) >= 4 and _is_cut_generic(token, generic):
                continue  # INS PAYMEN: a payment word cut by the field width
            if any(c.isdigit() for c in token):
                continue
            if not fi:  # ACH lines to institutions print no city: POWER, JERSEY name a utility
                if token in cities:
                    continue
                if i + 1 < len(rest) and f"{token} {rest[i + 1]}" in cities:
                    continue
                if i > 0 and f"{rest[i - 1]} {token}" in cities:
                    continue
            words.append(token)
        return words

    def _lookup(
        self, text: str, *, fuzzy: bool = True, prefix: bool = True, mcc: str | None = None
    ) -> Hit | None:
        form = match_form(text)
        if not form:
            return None
        by_mcc = self.directory.category_for_mcc(mcc) if mcc else None
        for hit in self.merchants.exact(form):
            hit = self._prefer_mcc(hit, mcc)
            m = self.directory.merchant(hit.target)
            if not self._plausible(hit, form, own=m.category, kind=m.kind, domain=m.domain):
                continue
            last = form.rsplit(" ", 1)[-1]
            if hit.start == 0 and hit.end < len(form) and prefix and last not in _GENERIC:
                longer = self.merchants.prefix(form)  # AMAZON DIGITA: Amazon Digital, cut
                if longer is not None and longer.target != hit.target:
                    return longer
            leftover = self._leftover(hit, form, domain=m.domain)
            if leftover and by_mcc is not None and by_mcc.category_group != m.category_group:
                continue  # ACE HDWE at a hardware MCC is not ACE Cash Express
            if hit.score < 1.0 and hit.start == 0 and not leftover:
                hit = replace(hit, score=1.0)  # STARBUCKS STORE: nothing but boilerplate left
            return hit
        core = " ".join(t for t in form.split() if t not in _GENERIC) or form
        found = None
        for candidate in dict.fromkeys((form, core)):
            found = self.merchants.prefix(candidate) if prefix else None
            if found is None and fuzzy:
                found = self.merchants.fuzzy(candidate)
            if found is not None:
                break
        return found

    def _prefer_mcc(self, hit: Hit, mcc: str | None) -> Hit:
        """Among merchants sharing an alias (CASEYS), the one the MCC agrees with."""
        targets = self.merchants.targets.get(hit.alias, ())
        if mcc and len(targets) > 1:
            for target in targets:
                if mcc in self.directory.merchant(target).mccs:
                    return replace(hit, target=target)
        return hit

    @staticmethod
    def _municipal(p: Parsed) -> MunicipalUtility | None:
        """A city's utility bill: ``CITY OF AUSTIN U``, ``COA UTILITIES TX``, ``TUCSON WATER``."""
        company = match_form(_ACH_TAIL.sub("", p.ach.company if p.ach else p.text))
        entry = match_form(p.ach.entry) if p.ach else ""
        return municipal_utility(company, field_width=ACH_NAME_WIDTH, entry=entry)

    def _merchant(self, p: Parsed, mcc: str | None = None, *, ach: bool = False) -> _MerchantMatch:
        d = self.directory
        if not p.head:
            return self._from_text(p.text, mcc, ach=ach)
        head = match_form(p.head)
        tail = p.tail
        whole = self._lookup(p.text, fuzzy=False)
        if (
            whole is not None
            and whole.how == "exact"
            and whole.start == 0 < whole.end - len(head) - 1
        ):
            return self._from_text(p.text, mcc)  # "UBER *EATS": the alias spans the star
        platform = PLATFORMS.get(head)
        head_hit = None
        if platform is None:
            head_hit = self.merchants.best_exact(head)
            if head_hit is not None and (head_hit.start, head_hit.end) == (0, len(head)):
                m = d.merchant(head_hit.target)
                if m.kind == "processor" and m.merchant_id not in _NAMED_PROCESSORS:
                    head = "SQ"  # a payment processor: the merchant is what follows
                elif m.kind in SUB_MERCHANT_KINDS:
                    platform = head
        if platform is not None:
            hit = self.merchants.best_exact(platform) or self._lookup(p.text, fuzzy=False)
            if hit is not None:
                m = d.merchant(hit.target)
                rest = _strip_platform(tail, platform)
                rest_hit = self._lookup(rest, fuzzy=False) if rest else None
                if m.kind == "marketplace" and rest_hit is not None and rest_hit.start == 0:
                    named = d.merchant(rest_hit.target)  # GOOGLE *YOUTUBE: the service paid
                    if named.merchant_id != m.merchant_id:
                        return _MerchantMatch(named, named.name, None, rest_hit)
                sub = _sub_name(rest, rest_hit, hit.target)
                return _MerchantMatch(m, m.name, sub, hit)
        if head in PROCESSORS or (len(head) <= 3 and tail):
            while tail:
                first, _, after = match_form(tail).partition(" ")
                if first in PROCESSORS and after and len(first) <= 4:
                    tail = after  # SQU*SQ *MAPLE STREET YOGA
                    continue
                break
            if tail:
                return self._from_text(tail, mcc)
        hit = self._lookup(p.head, mcc=mcc)
        if hit is not None:
            m = d.merchant(hit.target)
            sub = None
            if m.kind in SUB_MERCHANT_KINDS:
                sub = _sub_name(tail, self._lookup(tail, fuzzy=False), hit.target)
            return _MerchantMatch(m, m.name, sub, hit)
        return self._from_text(p.text, mcc)

    def _from_text(self, text: str, mcc: str | None = None, *, ach: bool = False) -> _MerchantMatch:
        form = match_form(text)
        hit = self._lookup(text, mcc=mcc)
        if hit is None and ach and _ACH_TAIL.search(text):
            text = _ACH_TAIL.sub("", text)  # GUSTO DIR DEP: the company, not the entry words
            form = match_form(text)
            hit = self._lookup(text, mcc=mcc)
        if hit is not None:
            m = self.directory.merchant(hit.target)
            sub = None
            if m.kind == "delivery" and hit.end < len(form):
                rest = form[hit.end :].strip()
                sub = _sub_name(rest, self._lookup(rest, fuzzy=False), hit.target)
            return _MerchantMatch(m, m.name, sub, hit)
        if ach:  # CITY OF SPRINGFIELD UTILITY WEB PMTS: the company, not the payment words
            text = _ACH_TAIL.sub("", text)
        return _MerchantMatch(None, local_name(text), None, None)

    def _p2p(self, p: Parsed) -> tuple[_MerchantMatch, Institution | None, str | None]:
        alias = p2p_platform(p.key, p) or "P2P"
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

    def _app_product_line(self, p: Parsed) -> bool:
        """Whether a line naming a P2P app names another of its products (``VENMO CRD PMT``,
        ``CASH APP BROKERAGE``): a statement name of that product only, never of the P2P one."""
        words = match_form(f"{p.ach.company} {p.ach.entry}" if p.ach else p.key)
        st = self.statement_names.best_exact(words)
        if st is None:
            return False
        targets = self.statement_names.targets.get(st.alias, ())
        return bool(targets) and not any(t.endswith("|p2p") for t in targets)

    def _payout_transfer(self, p: Parsed) -> bool:
        """Whether the line is a card processor's name then a transfer word, nothing else."""
        form = match_form(p.ach.company if p.ach else p.text)
        name = _PAYOUT_WORDS.sub("", form).strip()
        if not name or name == form:
            return False
        hit = self.merchants.best_exact(name)
        if hit is None or (hit.start, hit.end) != (0, len(name)):
            return False
        m = self.directory.merchant(hit.target)
        # SHOPIFY is the subscription; its payments arm (same domain) pays the seller out
        return m.kind in ("processor", "payroll") or (m.domain or "") in self._processor_domains

    def _payroll(self, p: Parsed) -> _MerchantMatch:
        company = p.ach.company if p.ach else p.text
        employer = payroll_words().sub(" ", company)
        employer = re.sub(r"\s+", " ", employer).strip(" -*")
        processor = PAYROLL_PROCESSORS.match(employer)
        if processor:
            rest = employer[processor.end() :].split()
            if any(w not in _PAYROLL_FILLER for w in rest):
                employer = " ".join(rest)  # GUSTO ACME ROOFING: the employer follows
            else:
                employer = processor.group(0)  # PAYCHEX INC, ADP PAY: the processor itself
        if not employer:
            employer = company
        hit = self._lookup(employer, fuzzy=False, prefix=False)
        if hit is not None:
            m = self.directory.merchant(hit.target)
            return _MerchantMatch(m, m.name, None, hit)
        first, _, after = employer.partition(" ")
        glued = split_glued(first) if len(first) >= ACH_NAME_WIDTH - 4 else None
        if glued is not None:
            employer = " ".join([*glued, after]).strip()  # BEACONHEALTHSYST
        return _MerchantMatch(None, local_name(employer, company=True), None, None)

    # --- institutions ---

    def _institution(self, p: Parsed, kind: str) -> tuple[Institution | None, str | None, int]:
        """The competing institution paid (or paying), its product, and the alias length."""
        d = self.directory
        if p.ach is not None:
            name_text = match_form(p.ach.company)
            words_text = match_form(f"{p.ach.company} {p.ach.entry}")
        else:
            source = p.tail if p.head and match_form(p.head) in PROCESSORS else p.text
            name_text = match_form(source if kind == "card_purchase" else p.key)
            words_text = match_form(p.key)
        if p.ach is not None and len(p.ach.company) >= ACH_NAME_WIDTH - 1:
            cut = self._cut_statement_name(name_text, match_form(p.ach.entry), kind)
            if cut is not None:
                return cut
        st = self.statement_names.best_exact(words_text)
        if st is not None and self._plausible(st, words_text, fi=True):
            inst_id, _, product = st.target.partition("|")
            inst = d.institution(inst_id)
            if kind != "card_purchase" or inst.type in CARD_PAYABLE_TYPES:
                return inst, product, len(st.alias)
        for hit in self.institutions.exact(name_text):
            if not self._plausible(hit, name_text, fi=True):
                continue
            inst = d.institution(hit.target)
            if kind == "card_purchase" and inst.type not in CARD_PAYABLE_TYPES:
                return None, None, 0
            return inst, _product(inst, words_text, kind), len(hit.alias)
        if p.ach is not None and len(p.ach.company) >= ACH_NAME_WIDTH - 1:
            # NORTHWESTERN MUT, KAISER PERMANENT: an institution's name cut at 16 characters
            cut_hit = self.institutions.prefix(name_text, min_length=10)
            if cut_hit is not None and cut_hit.alias != name_text:
                inst = d.institution(cut_hit.target)
                return inst, _product(inst, words_text, kind), len(name_text)
        return None, None, 0

    def _cut_statement_name(
        self, company: str, entry: str, kind: str
    ) -> tuple[Institution, str, int] | None:
        """The institution and product of an ACH company name that starts one institution's
        statement names (``ROCKLAND TRUST A`` of ``ROCKLAND TRUST AUTO``, ``FIFTH THIRD LN P``,
        or ``BANK OF AMERICA`` before its product word was cut), the product chosen among that
        institution's statement names by the entry description when they disagree."""
        if len(company) < 8:
            return None
        names = self.statement_names.sorted_aliases
        i = bisect.bisect_left(names, company)
        targets: set[str] = set()
        while i < len(names) and names[i].startswith(company) and len(targets) <= 24:
            targets.update(self.statement_names.targets[names[i]])
            i += 1
        insts = {t.partition("|")[0] for t in targets}
        if len(insts) != 1:
            return None
        inst = self.directory.institution(next(iter(insts)))
        offered = [prod for prod in inst.products if f"{inst.institution_id}|{prod}" in targets]
        product = _pick_product(offered, entry, kind)
        if product is None:
            return None
        if kind == "card_purchase" and inst.type not in CARD_PAYABLE_TYPES:
            return None
        return inst, product, len(company)

    @staticmethod
    def _institution_names_it(match: _MerchantMatch, inst_len: int, kind: str) -> bool:
        """Whether the institution, not the merchant found, names the counterparty:
        ``ROCKET MORTGAGE`` is the lender, not the ``Rocket`` convenience store."""
        if match.merchant is None or match.hit is None or match.hit.how != "exact":
            return True
        merchant_len = match.hit.end - match.hit.start
        if kind == "card_purchase":
            return inst_len > merchant_len
        return inst_len >= merchant_len

    # --- categories ---

    def _category(
        self,
        p: Parsed,
        kind: str,
        credit: bool,
        merchant: Merchant | None,
        name: str | None,
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
            if credit or "DEPOSIT" in key:
                return ("Cash", "Cash Deposit")
            return ("Cash", "ATM Withdrawal")
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
            if CASH_WITHDRAWAL.search(key):
                return ("Cash", "Cash Withdrawal")
            if "WIRE" in key:
                if credit:
                    return ("Transfers", "Incoming Transfer")
                return ("Transfers", "Wire Transfer")
            if credit:
                return ("Transfers", "Incoming Transfer")
            if re.search(r"\bSAV(?:INGS)?\b", key):
                return ("Transfers", "Savings Transfer")
            return ("Transfers", "Own-Account Transfer")
        if kind == "ach_credit":
            hit = self.income_keywords.best_exact(match_form(key))
            if hit is not None:  # IRS TREAS 310 TAX REF is a refund, not a tax payment
                return _pair(hit.target)
        if merchant is not None:
            if merchant.kind == "processor" and credit and kind == "ach_credit":
                return ("Income", "Other Income")  # a card processor settling a seller's sales
            if merchant.kind == "processor" and mcc:
                cat = self.directory.category_for_mcc(mcc)
                if cat is not None:
                    return (cat.category_group, cat.category)
            return (merchant.category_group, merchant.category)
        if product is not None and product in PRODUCT_CATEGORY:
            return PRODUCT_CATEGORY[product]
        if kind == "refund" and not name:
            return ("Income", "Refunds")
        text_form = match_form(p.text)
        hit = self.keywords.best_exact(text_form)
        by_mcc = self.directory.category_for_mcc(mcc) if mcc else None
        if hit is not None and by_mcc is not None:
            group, category = _pair(hit.target)
            keyword_cat = self._categories.get((group, category))
            if keyword_cat is not None and (
                mcc in keyword_cat.mccs
                or (group == by_mcc.category_group and not keyword_cat.owned_mccs)
            ):
                return group, category  # TAQUERIA + 5812: Mexican, more specific than the MCC
        if by_mcc is not None:
            return (by_mcc.category_group, by_mcc.category)
        if hit is None and p.ach is None:
            hit = self.keywords.best_exact(match_form(key))
        if hit is not None:
            return _pair(hit.target)
        if kind == "refund":
            return ("Income", "Refunds")
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


@cache
def _generic_sorted(generic: frozenset[str]) -> tuple[str, ...]:
    return tuple(sorted(generic))


def _is_cut_generic(token: str, generic: frozenset[str]) -> bool:
    words = _generic_sorted(generic)
    i = bisect.bisect_left(words, token)
    return i < len(words) and words[i].startswith(token)


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


def _pick_product(offered: Sequence[str], entry: str, kind: str) -> str | None:
    """One of ``offered`` (the products whose statement names a cut company name starts) chosen
    by the entry description, or None when it does not decide."""
    if len(offered) == 1:
        return offered[0]
    for product, pattern in PRODUCT_WORDS:
        if product in offered and pattern.search(entry):
            if product == "deposit" and kind == "card_purchase":
                continue
            return product
    if _LOAN_WORD.search(entry):
        for product in LOAN_PREFERENCE:
            if product in offered:
                return product
    if _PAYMENT_WORD.search(entry):
        payable = [p for p in offered if p not in _MOVE_PRODUCTS]
        if len(payable) == 1:
            return payable[0]
    return None


def _product(inst: Institution, text: str, kind: str) -> str | None:
    products = inst.products
    if len(products) == 1:
        return products[0]
    for product, pattern in PRODUCT_WORDS:
        if pattern.search(text) and (not products or product in products):
            if product == "deposit" and kind == "card_purchase":
                continue
            return product
    if _LOAN_WORD.search(text):
        for product in LOAN_PREFERENCE:
            if product in products:
                return product  # BANK OF AMERICA LOAN PMT: a loan, whatever else it offers
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


def local_name(text: str, *, company: bool = False) -> str | None:
    """A readable name for a merchant in no directory: title case, no legal suffix, common
    abbreviations spelt out and a last word cut by the field width completed when only one
    business word fits (``FAMILY RESTAURAN`` → ``Family Restaurant``); with ``company`` (an
    employer's ACH name) a company word first (``EVERGREEN PACKAG`` → Packaging, ``DENTAL GRO``
    → Group)."""
    form = re.sub(r"[^A-Z0-9&'\-. ]+", " ", text.upper())
    form = re.sub(r"\s+", " ", form).strip(" -.")
    form = _LEGAL.sub("", form).strip(" -.")
    if not form:
        return None
    words = [_ABBREVIATIONS.get(w, w) for w in form.split(" ")]
    for i in range(1, len(words)):
        if words[i - 1] == "PROPERTY" and _management(words[i]):
            words[i] = "MANAGEMENT"  # PROP MGM, PROP MG: a property manager cut by the field
    if len(words) > 1:
        last = words[-1]
        if company:
            words[-1] = _complete_word(last, _glue_vocabulary()[2])
        if words[-1] == last:
            words[-1] = _complete_word(last)
    if len(words) > 2 and _fragment(words[-1]):
        words.pop()  # SQ *THE WILLOW CREEK B: the field ended one or two letters into a word
    return title_name(" ".join(words))


def _names_whole(match: _MerchantMatch) -> bool:
    """Whether a directory merchant was found for the whole name, not as a longer name the text
    merely starts (``CITY OF PHOENIX`` → "City of Phoenix Parks and Recreation Department")."""
    hit = match.hit
    if match.merchant is None or hit is None:
        return False
    if hit.how != "prefix":
        return True
    return len(hit.alias.split()) <= len(hit.alias[: hit.end].split())


def _management(word: str) -> bool:
    return word in ("MG", "MGM", "MGMT", "MGT", "MNGMT", "MNGT") or (
        len(word) >= 3 and "MANAGEMENT".startswith(word)
    )


def _fragment(word: str) -> bool:
    """One or two letters that are no word of a business name: the start of a cut word."""
    return len(word) <= 2 and word.isalpha() and word not in _SHORT_WORDS


_SHORT_WORDS = _words(
    "A I O AN AT BY DE DI DO EL GO IN IS IT LA LE LO MA MI MY NO OF ON OR PA SO TO UP US WE YO "
    "ST DR MT FT JR SR CO II IV VI XL BB BQ OK"
)


_ABBREVIATIONS = {
    "APTS": "APARTMENTS",
    "APT": "APARTMENTS",
    "MGMT": "MANAGEMENT",
    "MGT": "MANAGEMENT",
    "PROP": "PROPERTY",
    "RESTRNT": "RESTAURANT",
    "RSTRNT": "RESTAURANT",
    "SVCS": "SERVICES",
    "SVC": "SERVICE",
    "CTR": "CENTER",
    "HOSP": "HOSPITAL",
    "ASSOC": "ASSOCIATES",
    "INTL": "INTERNATIONAL",
}
_BUSINESS_WORDS = _words(
    # whole words that are also the start of longer ones (BEAN, BEANERY) stop a completion
    "BEAN BEANS BAR BARS PUB SHOP SHOPPE CAFE DELI WOK BOWL BOX HUB SPOT STOP LAB CO CORNER "
    "RESTAURANT RESTAURANTS KITCHEN GRILL GRILLE TAVERN CANTINA TAQUERIA PIZZERIA PIZZA BURRITO "
    "BURGERS BURGER ESPRESSO COFFEE ROASTERS ROASTERY BAKERY BAKESHOP DONUTS BAGELS CREAMERY "
    "GROCERY GROCERIES MARKET MARKETPLACE FOODS BREWING BREWERY BREWPUB TAPROOM SALOON LOUNGE "
    "RAMEN NOODLE NOODLES SUSHI BISTRO DINER DELI DELICATESSEN CAFE CAFETERIA CATERING "
    "APARTMENTS MANAGEMENT PROPERTIES PROPERTY REALTY CLEANERS LAUNDROMAT LAUNDRY BARBERSHOP "
    "BARBER SALON BOUTIQUE OUTFITTERS HARDWARE PHARMACY CLINIC DENTAL DENTISTRY PEDIATRICS "
    "VETERINARY HOSPITAL ANIMAL FITNESS STUDIO ACADEMY SCHOOL LEARNING CHILDCARE DAYCARE "
    "MONTESSORI AUTOMOTIVE AUTOBODY COLLISION TIRE TIRES REPAIR TOWING PLUMBING ELECTRIC "
    "HEATING ROOFING LANDSCAPING NURSERY FLORIST FLOWERS JEWELERS JEWELRY LIQUORS LIQUOR WINES "
    "SPIRITS BOOKS BOOKSTORE GALLERY THEATER THEATRE CINEMA BOWLING ARCADE GOLF MARINA OUTLET "
    "EMPORIUM SUPPLY SUPPLIES SERVICES SERVICE CENTER CHURCH MINISTRIES FOUNDATION INSURANCE "
    "AGENCY ASSOCIATES CONSTRUCTION INDUSTRIES LOGISTICS ENGINEERING MANUFACTURING HOUSE "
    "KITCHENETTE SPORTS GARDEN GARDENS TOBACCO VAPE SMOKE HOTEL MOTEL LODGE INN SUITES"
)


# Words of company names, for splitting a name the originator glued to fit the 16-character ACH
# field (BEACONHEALTHSYST, PIONEERFOODSINC): the business words above plus the words employers'
# names are made of.
_COMPANY_WORDS = _words(
    "HEALTH HEALTHCARE SYSTEM SYSTEMS HOSPITALITY CREDIT GROUP PACKAGING HOLDINGS PARTNERS "
    "SOLUTIONS TECHNOLOGIES TECHNOLOGY SOFTWARE LABS LABORATORIES UNIVERSITY COLLEGE COUNTY "
    "HOSPITAL MEDICAL NURSING STAFFING TRANSPORT TRANSPORTATION TRUCKING FREIGHT MOTORS ENERGY "
    "POWER FARMS DAIRY FINANCIAL CAPITAL PROPERTIES DEVELOPMENT HOMES BUILDERS CONTRACTORS "
    "DISTRIBUTION RETAIL BRANDS INTERNATIONAL INDUSTRIES ELECTRIC MANUFACTURING "
    "ENGINEERING LOGISTICS CONSTRUCTION INSURANCE AGENCY REALTY SCHOOL DISTRICT DENTAL FOODS "
    "SERVICES CENTER MANAGEMENT CONSULTING ASSOCIATES CORPORATION INCORPORATED INC LLC CORP CO "
    "COMPANY LTD"
)


@cache
def _glue_vocabulary() -> tuple[frozenset[str], tuple[str, ...], tuple[str, ...]]:
    """Words a glued name splits into (business and company words, not category keywords such
    as WATER: BLUEWATER is one name), all of them sorted, and the company words sorted (a cut
    last word completes to one of those first: GRO is GROUP, not GROCERY)."""
    words = _BUSINESS_WORDS | _COMPANY_WORDS
    return words, tuple(sorted(words)), tuple(sorted(_COMPANY_WORDS))


def split_glued(token: str) -> list[str] | None:
    """``BEACONHEALTHSYST`` → ``[BEACON, HEALTH, SYSTEM]``: a leading name the word list need
    not know, then known company words, the last one possibly cut by the field (completed when
    one word starts with it, dropped when one or two letters are left). None when the rest of the
    token is not made of known words."""
    if len(token) < 10 or not token.isalpha():
        return None
    words, ordered, company = _glue_vocabulary()

    @cache
    def segment(i: int) -> tuple[str, ...] | None:
        rest = token[i:]
        j = bisect.bisect_left(ordered, rest)
        if j < len(ordered) and ordered[j].startswith(rest) and len(rest) >= 3:
            # HOSPITALI: HOSPITALITY, not HOSPITAL + I
            done = _complete_word(rest, company)
            return (done if done != rest else _complete_word(rest, ordered),)
        for size in range(min(len(rest), 15), 1, -1):
            head = rest[:size]
            if head not in words:
                continue
            if size == len(rest):
                return (head,)
            tail = segment(i + size)
            if tail is not None:
                return (head, *tail)
        if len(rest) <= 2 and rest.isalpha():
            return ("",)  # ATLASINDUSTRIESG: the field ended a letter into a word
        return None

    for h in range(3, len(token) - 2):
        found = segment(h)
        if found is not None:
            return [token[:h], *(w for w in found if w)]
    return None


@cache
def _vocabulary() -> tuple[str, ...]:
    from sightline.enrich.categories import CATEGORIES

    words = set(_BUSINESS_WORDS)
    for category in CATEGORIES:
        words.update(
            k
            for k in category.keywords
            if " " not in k and k.isalpha() and len(k) >= 4 and any(c in "AEIOU" for c in k)
        )
    return tuple(sorted(words))


def _complete_word(word: str, vocabulary: tuple[str, ...] | None = None) -> str:
    """``RESTAURAN`` → ``RESTAURANT`` when exactly one business word starts with it."""
    if len(word) < 3 or not word.isalpha():
        return word
    vocabulary = vocabulary or _vocabulary()
    i = bisect.bisect_left(vocabulary, word)
    if i < len(vocabulary) and vocabulary[i] == word:
        return word
    found: list[str] = []
    while i < len(vocabulary) and vocabulary[i].startswith(word) and len(found) < 2:
        found.append(vocabulary[i])
        i += 1
    if len(found) == 2 and found[0][:-1] == found[1][:-1] and found[0].endswith("S"):
        return found[0]  # ROASTE: ROASTERS rather than ROASTERY
    if len(found) == 2 and found[1].startswith(found[0]):
        # KITCHE: KITCHEN (KITCHENETTE too); GRIL: GRILL (GRILLE too) - the shorter word
        while i < len(vocabulary) and vocabulary[i].startswith(word):
            if not vocabulary[i].startswith(found[0]):
                return word
            i += 1
        return found[0]
    return found[0] if len(found) == 1 else word


@cache
def default_enricher() -> Enricher:
    """The process-wide Enricher over the packaged directory (built on first use)."""
    return Enricher(load_directory(), kli_codes=default_kli_codes())
