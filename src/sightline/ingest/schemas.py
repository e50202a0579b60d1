"""The published schema of every input feed: the contract between an FI, the synthetic
generator and the ingestion pipeline. ``docs/data-dictionary.md`` is generated from here.

Each field has a type, says whether it is required, and is classified:

- ``identifier``: keys that join feeds (ucic, account_id, txn_id, event_id) — kept as sent;
- ``attribute``: facts Sightline computes on — kept as sent (after validation);
- ``direct_pii``: names, emails, phones, addresses, full account or card numbers, SSN/TIN —
  never written anywhere as sent: tokenised with the partner's keyed HMAC, reduced (last four
  digits, birth year) or dropped, as ``masking`` says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    STRING = "string"
    INT = "int"
    MONEY = "money"  # decimal with at most 2 places, e.g. 1234.56; stored as Decimal(18,2)
    DATE = "date"  # YYYY-MM-DD
    TIMESTAMP = "timestamp"  # ISO 8601; naive values are UTC
    JSON = "json"  # an object (events' attributes)


class Classification(StrEnum):
    IDENTIFIER = "identifier"
    ATTRIBUTE = "attribute"
    DIRECT_PII = "direct_pii"


class Masking(StrEnum):
    NONE = "none"
    TOKENISE = "tokenise"  # keyed HMAC-SHA256 per partner → ``<name>_token``
    LAST4 = "last4"  # last four digits → ``<name>_last4``, plus a token
    BIRTH_YEAR = "birth_year"  # a date reduced to its year → ``birth_year``
    DROP = "drop"  # never stored


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: Kind
    description: str
    required: bool = False
    classification: Classification = Classification.ATTRIBUTE
    masking: Masking = Masking.NONE
    enum: tuple[str, ...] | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class FeedSchema:
    name: str
    description: str
    fields: tuple[FieldSpec, ...]
    key: tuple[str, ...]  # what makes a row unique (re-delivery is not stored twice)
    date_field: str  # partitions the lake: date=<YYYY-MM-DD>
    one_of: tuple[tuple[str, ...], ...] = field(default=())  # at least one of each group

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)


ID, P = Classification.IDENTIFIER, Classification.DIRECT_PII

UCIC = FieldSpec(
    "ucic", Kind.STRING, "The FI's golden customer id.", classification=ID, max_length=64
)
MEMBER_ID = FieldSpec(
    "member_id",
    Kind.STRING,
    "The FI's member number; mapped to a ucic through the customers feed.",
    classification=ID,
    max_length=64,
)

PRODUCTS = (
    "checking",
    "savings",
    "money_market",
    "cd",
    "ira",
    "brokerage",
    "credit_card",
    "mortgage",
    "heloc",
    "auto_loan",
    "personal_loan",
    "student_loan",
    "business_checking",
    "business_savings",
    "business_credit_card",
    "business_loan",
)
CHANNELS = ("card", "ach", "p2p", "check", "atm", "wire", "fee", "transfer", "interest", "other")
EVENT_TYPES = (
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
    "bill_pay_enrolled",
    "estatements_enrolled",
    "mobile_app_installed",
    "address_changed",
    "account_closed",
    "offer_clicked",
)
CONSENT_CHANNELS = ("email", "sms", "phone", "push", "in_app", "mail")
CONSENT_PURPOSES = ("marketing", "service", "profiling")

CUSTOMERS = FeedSchema(
    name="customers",
    description="One row per customer (individual or business) per snapshot date; carries the "
    "member id → ucic map.",
    # (ucic, as_of): a daily full file keeps each day's state (new movers, income changes)
    # while the same snapshot re-delivered is still not stored twice.
    key=("ucic", "as_of"),
    date_field="as_of",
    fields=(
        FieldSpec(**{**UCIC.__dict__, "required": True}),
        MEMBER_ID,
        FieldSpec("ucic_type", Kind.STRING, "I = individual, B = business.", True, enum=("I", "B")),
        FieldSpec("first_name", Kind.STRING, "Given name.", classification=P, masking=Masking.DROP),
        FieldSpec("last_name", Kind.STRING, "Family name.", classification=P, masking=Masking.DROP),
        FieldSpec(
            "business_name",
            Kind.STRING,
            "Legal name of a business customer.",
            classification=P,
            masking=Masking.TOKENISE,
        ),
        FieldSpec(
            "email", Kind.STRING, "E-mail address.", classification=P, masking=Masking.TOKENISE
        ),
        FieldSpec(
            "phone", Kind.STRING, "Phone number.", classification=P, masking=Masking.TOKENISE
        ),
        FieldSpec(
            "street_address", Kind.STRING, "Street address.", classification=P, masking=Masking.DROP
        ),
        FieldSpec("city", Kind.STRING, "City of residence.", max_length=64),
        FieldSpec("state", Kind.STRING, "Two-letter US state.", max_length=2),
        FieldSpec("zip", Kind.STRING, "5-digit ZIP code.", max_length=10),
        FieldSpec(
            "birth_date",
            Kind.DATE,
            "Date of birth; only the year is kept.",
            classification=P,
            masking=Masking.BIRTH_YEAR,
        ),
        FieldSpec("ssn", Kind.STRING, "SSN or TIN.", classification=P, masking=Masking.DROP),
        FieldSpec("customer_since", Kind.DATE, "Date the relationship began.", True),
        FieldSpec("annual_income", Kind.MONEY, "Stated annual income (USD)."),
        FieldSpec("as_of", Kind.DATE, "Date the row describes.", True),
    ),
)

ACCOUNTS = FeedSchema(
    name="accounts",
    description="Daily account snapshot: one row per account holder per account per day.",
    key=("account_id", "ucic", "as_of"),
    date_field="as_of",
    fields=(
        FieldSpec(
            "account_id", Kind.STRING, "The FI's internal account id.", True, ID, max_length=64
        ),
        UCIC,
        MEMBER_ID,
        FieldSpec(
            "account_number",
            Kind.STRING,
            "Full account number; only a token and the last four digits are kept.",
            classification=P,
            masking=Masking.LAST4,
        ),
        FieldSpec("product", Kind.STRING, "Product type.", True, enum=PRODUCTS),
        FieldSpec("product_code", Kind.STRING, "The FI's own product code.", max_length=32),
        FieldSpec(
            "holder_role",
            Kind.STRING,
            "primary or secondary holder.",
            enum=("primary", "secondary"),
        ),
        FieldSpec("balance", Kind.MONEY, "Ledger balance (USD) at end of day.", True),
        FieldSpec("credit_limit", Kind.MONEY, "Credit limit for cards and lines."),
        FieldSpec("open_date", Kind.DATE, "Date the account was opened.", True),
        FieldSpec("close_date", Kind.DATE, "Date the account was closed."),
        FieldSpec(
            "status",
            Kind.STRING,
            "Account status.",
            True,
            enum=("open", "closed", "dormant", "charged_off"),
        ),
        FieldSpec("branch", Kind.STRING, "Branch code.", max_length=32),
        FieldSpec("as_of", Kind.DATE, "Snapshot date.", True),
    ),
    one_of=(("ucic", "member_id"),),
)

TRANSACTIONS = FeedSchema(
    name="transactions",
    description="Posted card, ACH, P2P, check, ATM, wire and fee transactions.",
    key=("txn_id",),
    date_field="posted_at",
    fields=(
        FieldSpec("txn_id", Kind.STRING, "Unique transaction id.", True, ID, max_length=64),
        UCIC,
        MEMBER_ID,
        FieldSpec(
            "account_id", Kind.STRING, "Account the transaction posted to.", True, ID, max_length=64
        ),
        FieldSpec("posted_at", Kind.DATE, "Posting date.", True),
        FieldSpec("amount", Kind.MONEY, "Amount (USD), positive; the sign is in direction.", True),
        FieldSpec("direction", Kind.STRING, "debit or credit.", True, enum=("debit", "credit")),
        FieldSpec("channel", Kind.STRING, "How it moved.", True, enum=CHANNELS),
        FieldSpec("mcc", Kind.STRING, "ISO 18245 merchant category code (4 digits).", max_length=4),
        FieldSpec("description", Kind.STRING, "Raw statement descriptor.", True, max_length=256),
        FieldSpec(
            "card_number",
            Kind.STRING,
            "Full card number (PAN); only a token and the last four digits are kept.",
            classification=P,
            masking=Masking.LAST4,
        ),
    ),
    one_of=(("ucic", "member_id"),),
)

EVENTS = FeedSchema(
    name="events",
    description="Onboarding and lifecycle events (NDJSON lines or webhook posts).",
    key=("event_id",),
    date_field="occurred_at",
    fields=(
        FieldSpec(
            "event_id", Kind.STRING, "Unique event id (idempotency key).", True, ID, max_length=128
        ),
        UCIC,
        MEMBER_ID,
        FieldSpec("type", Kind.STRING, "Event type.", True, enum=EVENT_TYPES),
        FieldSpec("occurred_at", Kind.TIMESTAMP, "When it happened (ISO 8601).", True),
        FieldSpec(
            "account_id",
            Kind.STRING,
            "Account concerned, if any.",
            classification=ID,
            max_length=64,
        ),
        FieldSpec(
            "channel",
            Kind.STRING,
            "Where it happened.",
            enum=("web", "mobile", "branch", "phone", "api"),
        ),
        FieldSpec("attributes", Kind.JSON, "Event-specific attributes (an object)."),
    ),
    one_of=(("ucic", "member_id"),),
)

TELEMETRY = FeedSchema(
    name="telemetry",
    description="Daily digital-banking usage per customer and channel.",
    key=("ucic", "date", "channel"),
    date_field="date",
    fields=(
        UCIC,
        MEMBER_ID,
        FieldSpec("date", Kind.DATE, "Day of activity.", True),
        FieldSpec("channel", Kind.STRING, "web or mobile.", True, enum=("web", "mobile")),
        FieldSpec("logins", Kind.INT, "Log-ins that day.", True),
        FieldSpec("bill_pay", Kind.INT, "Bill payments scheduled.", True),
        FieldSpec("p2p", Kind.INT, "P2P payments sent.", True),
        FieldSpec("rdc", Kind.INT, "Remote deposits captured.", True),
    ),
    one_of=(("ucic", "member_id"),),
)

CONSENTS = FeedSchema(
    name="consents",
    description="Consent changes per customer, channel and purpose (full history is kept).",
    key=("ucic", "channel", "purpose", "changed_at"),
    date_field="changed_at",
    fields=(
        UCIC,
        MEMBER_ID,
        FieldSpec("channel", Kind.STRING, "Contact channel.", True, enum=CONSENT_CHANNELS),
        FieldSpec("purpose", Kind.STRING, "What the consent covers.", True, enum=CONSENT_PURPOSES),
        FieldSpec("status", Kind.STRING, "granted or revoked.", True, enum=("granted", "revoked")),
        FieldSpec("changed_at", Kind.TIMESTAMP, "When it changed (ISO 8601).", True),
        FieldSpec("source", Kind.STRING, "Where the change was captured.", max_length=64),
        FieldSpec(
            "contact",
            Kind.STRING,
            "The e-mail address or phone number consented.",
            classification=P,
            masking=Masking.TOKENISE,
        ),
    ),
    one_of=(("ucic", "member_id"),),
)

FEEDS: dict[str, FeedSchema] = {
    s.name: s for s in (CUSTOMERS, ACCOUNTS, TRANSACTIONS, EVENTS, TELEMETRY, CONSENTS)
}
