"""What kind of transaction a descriptor is, from its words plus direction, channel and category.

Kinds (the synthetic generator's truth uses the same names): ``card_purchase``, ``ach_debit``,
``ach_credit``, ``payroll``, ``p2p``, ``transfer`` (between own accounts, wires), ``fee``,
``atm``, ``check``, ``refund`` (refunds and reversals) and ``interest``.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

from sightline.enrich.normalise import Guarded, Parsed

TransactionKind = Literal[
    "card_purchase",
    "ach_debit",
    "ach_credit",
    "payroll",
    "p2p",
    "transfer",
    "fee",
    "atm",
    "check",
    "refund",
    "interest",
]
KINDS: tuple[str, ...] = get_args(TransactionKind)
NO_MERCHANT_KINDS = frozenset({"fee", "atm", "check", "transfer", "interest"})

# P2P platforms: the pattern and the alias that names the platform in the directory.
P2P_PLATFORMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bZELLE\b|^ZEL\s?\*|\bZEL (?:TO|FROM)\b"), "ZELLE"),
    (re.compile(r"\bVENMO\b"), "VENMO"),
    (re.compile(r"\bCASH ?APP\b|\bSQUARE CASH\b|\bSQC\*"), "CASH APP"),
    (re.compile(r"\bAPPLE CASH\b"), "APPLE CASH"),
    (
        re.compile(
            r"\bPAYPAL\s?(?:INST XFER|INSTANT TRANSFER|TRANSFER|XFER|\*?P2P|SEND|FRIENDS)\b"
        ),
        "PAYPAL",
    ),
    (re.compile(r"\bGOOGLE PAY (?:SEND|TRANSFER)\b"), "GOOGLE PAY"),
)
_FEE = Guarded(
    r"\b(?:FOREIGN (?:TRANSACTION|TRANS|TXN|EXCHANGE|CURRENCY)|INTL (?:TRANSACTION|TRANS|TXN)|"
    r"INTERNATIONAL (?:TRANSACTION|TRANS|PURCHASE)|CROSS BORDER|NON-?NETWORK ATM|ATM|"
    r"MONTHLY (?:SERVICE|MAINTENANCE)|MAINTENANCE|SERVICE|OVERDRAFT|NSF|OD|WIRE|LATE|ANNUAL|"
    r"STOP PAYMENT|PAPER STATEMENT|RETURNED ITEM|EXCESSIVE (?:WITHDRAWAL|TRANSACTION)|"
    r"CASH ADVANCE|BALANCE TRANSFER|ACCOUNT|ACCT|CARD REPLACEMENT|INACTIVITY|DORMANT|"
    r"TRANSFER|EXPEDITED|COUNTER CHECK|CASHIERS CHECK|OFFICIAL CHECK)\s?(?:\w+\s)?FEES?\b"
    r"|\bSERVICE CHARGE\b|\bOVERDRAFT (?:ITEM|CHARGE|PAID)\b|\bNSF\b|\bINSUFFICIENT FUNDS\b"
    r"|\bRETURNED ITEM\b|^FEES?\b|\bFEES?$|\bFEE (?:FOR|-)\b|\bINTEREST CHARGE\b"
    r"|\bFINANCE CHARGE\b|\bPURCHASE INTEREST\b",
    ("FEE", "CHARGE", "OVERDRAFT", "NSF", "INSUFFICIENT", "RETURNED ITEM", "INTEREST"),
)
_ATM = Guarded(
    r"\bATM\b|\bNON-?BANK (?:W/?D|WITHDRAWAL)\b|\bCASH W/D\b",
    ("ATM", "BANK", "W/D"),
)
CASH_WITHDRAWAL = Guarded(
    r"\b(?:TELLER|COUNTER|BRANCH|CASH) WITHDRAWAL\b|^WITHDRAWAL MADE IN A BRANCH|^WITHDRAWAL$",
    ("WITHDRAWAL",),
)
_CHECK = Guarded(
    r"^(?:CHECK|CHK|CHECK PAID|CHECK #|CHECK NO|SHARE DRAFT|DRAFT|CHECK NUMBER)\b(?! ?CARD)"
    r"|\b(?:MOBILE|REMOTE|ATM|BRANCH)? ?CHECK DEPOSIT\b|\b(?:MOBILE|REMOTE|ONLINE) DEPOSIT\b"
    r"|\bDEPOSITED ITEM\b|\bCASHED CHECK\b|^SUBSTITUTE CHECK\b",
    ("CHECK", "CHK", "DRAFT", "DEPOSIT"),
)
_INTEREST = Guarded(
    r"\b(?:INTEREST (?:PAID|EARNED|CREDIT|PAYMENT|DEPOSIT)|INT PAID|INT EARNED|"
    r"DIVIDEND(?:S)? (?:PAID|EARNED|CREDIT|DEPOSIT)?|DIV PAID|DEPOSIT INTEREST|"
    r"INTEREST)\b",
    ("INT", "DIV"),
)
_PAYROLL = Guarded(
    r"\b(?:PAYROLL|PAYRLL|PAYROL|PAYRL|DIR DEP|DIRECT DEP|DIRECTDEP|DIRECT DEPOSIT|"
    r"SALARY|REG SALARY|PAYCHECK|NET PAY|NETPAY|WAGES|PR PAYMENT|PAYROLL PPD|DIRDEP)\b",
    ("PAY", "DIR", "SALARY", "WAGES"),
)
PAYROLL_PROCESSORS = re.compile(
    r"^(?:ADP|GUSTO|PAYCHEX|TRINET|JUSTWORKS|RIPPLING|PAYLOCITY|PAYCOM|CERIDIAN|INTUIT PAYROLL|"
    r"QUICKBOOKS PAYROLL|PAYCOR|ISOLVED|WORKDAY|ZENEFITS|SQUARE PAYROLL|ONPAY|PATRIOT)\b"
)
_OWN_TRANSFER = Guarded(
    r"\b(?:ONLINE|INTERNET|MOBILE|INTERNAL|BANKING|ACCOUNT|ACCT|FUNDS|SHARE|AUTOMATIC|"
    r"RECURRING|TELEPHONE|BRANCH|SWEEP|OVERDRAFT PROTECTION|OD PROTECTION|BOOK)?\s?"
    r"(?:TRANSFER|XFER|TRSF|TFR|TRNSFR)\b"
    r"|\b(?:INCOMING|OUTGOING|DOMESTIC|INTL|INTERNATIONAL)? ?WIRE\b|\bWIRE (?:IN|OUT|TYPE)\b"
    r"|^DEPOSIT$|^(?:BRANCH|CASH|TELLER|COUNTER) DEPOSIT\b|^WITHDRAWAL$",
    ("TRANSFER", "XFER", "TRSF", "TFR", "TRNSFR", "WIRE", "DEPOSIT", "WITHDRAWAL"),
)
_BILL_PAY = Guarded(
    r"\b(?:AUTOPAY|AUTO PAY|AUTO PYMT|ONLINE PMT|ONLINE PAYMENT|MOBILE PMT|MOBILE PAYMENT|"
    r"E-?PAYMENT|EPAY|E PAY|WEB PMT|WEB PAY|BILL ?PAY|BILL PAYMENT|ACH|PMT|PYMT|PAYMENT|"
    r"INS PREM|LOAN PMT|LN PMT|DEBIT|DRAFT|CHARGE)\b",
    ("PAY", "PMT", "PYMT", "ACH", "PREM", "DEBIT", "DRAFT", "CHARGE"),
)


_P2P_NEEDLES = ("ZEL", "VENMO", "CASH", "SQC", "PAYPAL", "GOOGLE")


def is_bank_fee(key: str) -> bool:
    return _FEE.search(key) is not None


def p2p_platform(key: str, parsed: Parsed | None = None) -> str | None:
    """The P2P platform a descriptor names (``ZELLE``, ``VENMO``...), from the text or, for an
    ACH line, from its company and entry description (``PAYPAL DES:INST XFER``)."""
    texts = [key]
    if parsed is not None and parsed.ach is not None:
        texts.append(f"{parsed.ach.company} {parsed.ach.entry}")
    if not any(n in key for n in _P2P_NEEDLES):
        return None
    for text in texts:
        for pattern, alias in P2P_PLATFORMS:
            if pattern.search(text):
                return alias
    return None


def recognise(
    parsed: Parsed,
    *,
    direction: str | None = None,
    channel: str | None = None,
    trans_category: str | None = None,
) -> TransactionKind:
    """The kind of one transaction. ``channel`` is the feed's channel (card, ach, p2p, ...),
    ``trans_category`` the API's (pos, olb, other); both only sharpen what the words say."""
    key = parsed.key
    credit = direction == "credit"
    if parsed.refund_words and credit and (channel == "fee" or _FEE.search(key)):
        return "refund"  # a fee reversed
    if channel == "fee":
        return "fee"
    if channel == "interest":
        return "interest"
    if channel == "atm":
        return "atm"
    if channel == "check":
        return "check"
    if p2p_platform(key, parsed) is not None or channel == "p2p":
        return "p2p"
    if parsed.refund_words and credit:
        return "refund"
    if _FEE.search(key) and not parsed.refund_words:
        return "fee"
    if parsed.refund_words and _FEE.search(key):
        return "refund"
    if CASH_WITHDRAWAL.search(key):
        return "transfer"
    if _ATM.search(key):
        return "atm"
    if _CHECK.search(key):
        return "check"
    if _INTEREST.search(key) and not _BILL_PAY.search(key):
        return "fee" if direction == "debit" and "CHARGE" in key else "interest"
    if credit and _is_payroll(parsed):
        return "payroll"
    if channel in ("transfer", "wire") or (
        # an ACH line names a company: money to Acorns or Chime is an ACH debit, not a move
        # between the customer's own accounts
        parsed.ach is None and _OWN_TRANSFER.search(key) and not _BILL_PAY.search(key)
    ):
        return "transfer"
    if parsed.refund_words and direction is None:
        return "refund"
    ach_like = (
        parsed.ach is not None or channel == "ach" or trans_category == "olb"
    ) or _BILL_PAY.search(key) is not None
    card_like = bool(parsed.lead_words) or channel == "card" or trans_category == "pos"
    if credit:
        if card_like and not ach_like:
            return "refund"
        return "ach_credit"
    if ach_like and not card_like:
        return "ach_debit"
    return "card_purchase"


def _is_payroll(parsed: Parsed) -> bool:
    if _PAYROLL.search(parsed.key):
        return True
    company = parsed.ach.company if parsed.ach else parsed.text
    return PAYROLL_PROCESSORS.match(company) is not None


def payroll_words() -> Guarded:
    return _PAYROLL
