"""KLI rules as validated data.

A rule file (YAML, see ``sightline/data/kli_rules.yaml`` and ``docs/kli-rules.md``) is a list of
rules, each of one ``kind``. The models below validate the file; :mod:`sightline.insights.compile`
turns them into Ibis expressions. Rules never name KLI codes: they emit taxonomy *keys* from a
template (``merchant:{merchant_id}``), and one function (:mod:`sightline.insights.codes`) maps
keys to codes, so the rules follow the taxonomy instead of duplicating it.
"""

from __future__ import annotations

import itertools
import re
import string
from collections.abc import Iterable
from datetime import date
from enum import StrEnum
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sightline.errors import BadRequest
from sightline.ingest.schemas import EVENT_TYPES as FEED_EVENT_TYPES
from sightline.ingest.schemas import PRODUCTS as FEED_PRODUCTS

RULE_ID = r"^[a-z][a-z0-9_]{0,63}$"
MAX_WINDOW_DAYS = 1100
PRODUCTS = FEED_PRODUCTS
DEPOSIT_PRODUCTS = (
    "checking",
    "savings",
    "money_market",
    "cd",
    "ira",
    "business_checking",
    "business_savings",
)
EVENT_TYPES = FEED_EVENT_TYPES


class RuleError(BadRequest):
    """A rule file or rule is not valid."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Window = Annotated[int, Field(ge=1, le=MAX_WINDOW_DAYS, description="Look-back window in days.")]
Count = Annotated[int, Field(ge=1, le=100_000)]
Amount = Annotated[float, Field(ge=0, le=1e12)]
ShortText = Annotated[str, Field(min_length=1, max_length=128)]


class Direction(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class TxnFilter(_Model):
    """Which enriched transactions a rule looks at. Every list given must match (AND); values
    inside one list are alternatives (OR). Values are compared exactly and always bound as
    literals, never pasted into SQL."""

    direction: Direction | None = None
    transaction_kinds: tuple[ShortText, ...] = ()
    category_groups: tuple[ShortText, ...] = ()
    categories: tuple[ShortText, ...] = ()
    exclude_categories: tuple[ShortText, ...] = ()
    fi_products: tuple[ShortText, ...] = ()
    merchant_ids: tuple[ShortText, ...] = ()
    require_merchant: bool = False
    require_institution: bool = False

    @property
    def is_empty(self) -> bool:
        return self == TxnFilter()


class Threshold(_Model):
    window_days: Window
    min_count: Count = 1
    min_amount: Amount | None = None
    min_span_days: Annotated[int, Field(ge=0, le=MAX_WINDOW_DAYS)] = Field(
        0, description="Days between the first and last matching transaction in the window."
    )

    @model_validator(mode="after")
    def _span_in_window(self) -> Threshold:
        if self.min_span_days >= self.window_days:
            raise ValueError("min_span_days must be smaller than window_days")
        return self


def template_fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class _RuleBase(_Model):
    id: Annotated[str, Field(pattern=RULE_ID, description="Stable rule id, shown in evidence.")]
    description: str = Field("", max_length=500)
    enabled: bool = True

    #: fields a key template of this kind may use
    key_fields: ClassVar[frozenset[str]] = frozenset()

    def key_templates(self) -> tuple[str, ...]:
        return ()

    @model_validator(mode="after")
    def _check_templates(self) -> _RuleBase:
        for template in self.key_templates():
            unknown = template_fields(template) - self.key_fields
            if unknown:
                allowed = ", ".join(sorted(self.key_fields)) or "none"
                raise ValueError(
                    f"key {template!r} uses unknown field(s) {', '.join(sorted(unknown))}; "
                    f"allowed: {allowed}"
                )
        return self


class MerchantActivityRule(_RuleBase):
    """A customer's activity at each merchant (count or spend in a window) → the merchant's leaf
    under Consumer Spend. One rule covers every merchant."""

    kind: Literal["merchant_activity"]
    filter: TxnFilter = TxnFilter(direction=Direction.DEBIT)
    threshold: Threshold
    customer_type: Literal["I", "B"] | None = None
    key: str = "merchant:{merchant_id}"
    key_fields: ClassVar[frozenset[str]] = frozenset({"merchant_id"})

    def key_templates(self) -> tuple[str, ...]:
        return (self.key,)


class CategorySpendRule(_RuleBase):
    """Spend in each category (level 2) → the category node."""

    kind: Literal["category_spend"]
    filter: TxnFilter = TxnFilter(direction=Direction.DEBIT)
    threshold: Threshold
    customer_type: Literal["I", "B"] | None = None
    key: str = "category:{group_slug}/{category_slug}"
    key_fields: ClassVar[frozenset[str]] = frozenset(
        {"group_slug", "category_slug", "group", "category"}
    )

    def key_templates(self) -> tuple[str, ...]:
        return (self.key,)


class CompetitiveProductRule(_RuleBase):
    """Recurring payments to a competing institution classified as a product → the
    product → institution leaf (39668008) and the institution leaf (8847985)."""

    kind: Literal["competitive_product"]
    filter: TxnFilter = TxnFilter(direction=Direction.DEBIT, require_institution=True)
    threshold: Threshold
    keys_: tuple[str, ...] = Field(
        (
            "competitive_product:{fi_product}:{institution_id}",
            "competitive_bank:{institution_id}",
        ),
        alias="keys",
    )
    key_fields: ClassVar[frozenset[str]] = frozenset({"fi_product", "institution_id"})

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def key_templates(self) -> tuple[str, ...]:
        return self.keys_


class CompetitiveActivityRule(_RuleBase):
    """Use of competing apps and fintechs (P2P, BNPL, crypto, payday, …) → one leaf per
    institution or app."""

    kind: Literal["competitive_activity"]
    filter: TxnFilter = TxnFilter(require_institution=True)
    threshold: Threshold
    key: str = "competitive_activity:{institution_id}"
    key_fields: ClassVar[frozenset[str]] = frozenset({"institution_id", "fi_product"})

    def key_templates(self) -> tuple[str, ...]:
        return (self.key,)


class TxnPatternRule(_RuleBase):
    """A fixed KLI when matching transactions pass a threshold (lifestyle patterns, behaviour
    read from transactions such as direct deposit or debit-card use, business spend)."""

    kind: Literal["txn_pattern"]
    filter: TxnFilter
    threshold: Threshold
    customer_type: Literal["I", "B"] | None = None
    key: str

    def key_templates(self) -> tuple[str, ...]:
        return (self.key,)

    @model_validator(mode="after")
    def _not_everything(self) -> TxnPatternRule:
        if self.filter.is_empty:
            raise ValueError("filter must select something (an empty filter matches every txn)")
        return self


class ProductHoldingRule(_RuleBase):
    """Products the customer holds with the FI, from the latest account snapshot."""

    kind: Literal["product_holding"]
    products: tuple[Literal[PRODUCTS], ...] = PRODUCTS  # type: ignore[valid-type]
    statuses: tuple[Literal["open", "dormant", "closed", "charged_off"], ...] = ("open",)
    key: str = "fi_product:{product}"
    key_fields: ClassVar[frozenset[str]] = frozenset({"product"})

    def key_templates(self) -> tuple[str, ...]:
        return (self.key,)


class TelemetryMeasure(StrEnum):
    LOGINS = "logins"
    BILL_PAY = "bill_pay"
    P2P = "p2p"
    RDC = "rdc"


class ServiceUsageRule(_RuleBase):
    """Digital-banking service use from the telemetry feed (bill pay, P2P, RDC, log-ins)."""

    kind: Literal["service_usage"]
    measure: TelemetryMeasure
    window_days: Window
    min_total: Count = 1
    min_active_days: Annotated[int, Field(ge=1, le=MAX_WINDOW_DAYS)] = 1
    key: str

    def key_templates(self) -> tuple[str, ...]:
        return (self.key,)


class BandAttribute(StrEnum):
    BALANCE = "balance"  # deposit balances on the latest snapshot
    INCOME = "income"  # stated annual income
    TENURE = "tenure"  # years since customer_since
    AGE = "age"  # years since birth_year


class BandRule(_RuleBase):
    """Client segmentation: the value of an attribute cut by ascending edges. Band ``n`` (1-based)
    holds values in ``[edges[n-2], edges[n-1])``; band 1 is below the first edge."""

    kind: Literal["band"]
    attribute: BandAttribute
    edges: tuple[float, ...] = Field(min_length=1, max_length=20)
    key: str
    key_fields: ClassVar[frozenset[str]] = frozenset({"band", "attribute"})

    def key_templates(self) -> tuple[str, ...]:
        return (self.key,)

    @field_validator("edges")
    @classmethod
    def _ascending(cls, edges: tuple[float, ...]) -> tuple[float, ...]:
        if any(b <= a for a, b in itertools.pairwise(edges)):
            raise ValueError("edges must be strictly ascending")
        return edges


# --- composite life events -------------------------------------------------------------------


class EventSignal(_Model):
    """An event of this type within the window (e.g. ``address_changed``)."""

    signal: Literal["event"]
    event_type: Literal[EVENT_TYPES]  # type: ignore[valid-type]
    window_days: Window


class SpendSignal(_Model):
    """Matching transactions pass a threshold in the window (e.g. moving or dealer spend)."""

    signal: Literal["spend"]
    filter: TxnFilter
    threshold: Threshold


class NewPayeeSignal(_Model):
    """A counterparty first seen within the window, never before in the look-back (a new
    utility, a new auto-loan lender, a new employer paying the customer)."""

    signal: Literal["new_payee"]
    filter: TxnFilter
    window_days: Window
    lookback_days: Window = 365
    min_count: Count = 1
    require_previous: bool = Field(
        False,
        description="Also require another matching counterparty seen before the window "
        "(payroll from a new employer *replacing* an old one).",
    )
    per: Literal["counterparty", "category"] = Field(
        "counterparty",
        description="What must be new: the counterparty (merchant, institution or, unmatched, "
        "its cleansed name) or the category (a first purchase of baby goods at all).",
    )

    @model_validator(mode="after")
    def _lookback(self) -> NewPayeeSignal:
        if self.lookback_days <= self.window_days:
            raise ValueError("lookback_days must be larger than window_days")
        return self


class StoppedSignal(_Model):
    """Matching transactions seen in the look-back but none in the last ``window_days``
    (payroll that stopped)."""

    signal: Literal["stopped"]
    filter: TxnFilter
    window_days: Window
    lookback_days: Window = 365
    min_count_before: Count = 2

    @model_validator(mode="after")
    def _lookback(self) -> StoppedSignal:
        if self.lookback_days <= self.window_days:
            raise ValueError("lookback_days must be larger than window_days")
        return self


Signal = Annotated[
    EventSignal | SpendSignal | NewPayeeSignal | StoppedSignal, Field(discriminator="signal")
]


class LifeEventRule(_RuleBase):
    """A composite of signals: every ``all_of`` signal and at least ``min_any`` of ``any_of``."""

    kind: Literal["life_event"]
    all_of: tuple[Signal, ...] = ()
    any_of: tuple[Signal, ...] = ()
    min_any: Annotated[int, Field(ge=1, le=20)] = 1
    key: str

    def key_templates(self) -> tuple[str, ...]:
        return (self.key,)

    @model_validator(mode="after")
    def _some_signal(self) -> LifeEventRule:
        if not self.all_of and not self.any_of:
            raise ValueError("a life_event rule needs all_of or any_of signals")
        if self.any_of and self.min_any > len(self.any_of):
            raise ValueError("min_any is larger than the number of any_of signals")
        return self

    @property
    def signals(self) -> tuple[Signal, ...]:
        return self.all_of + self.any_of

    @property
    def window_days(self) -> int:
        return max(_signal_window(s) for s in self.signals)


def _signal_window(signal: Signal) -> int:
    if isinstance(signal, SpendSignal):
        return signal.threshold.window_days
    return signal.window_days


# --- predictive scores -----------------------------------------------------------------------


class ScoreFeature(StrEnum):
    """Transparent features a score is a weighted average of; each is in [0, 1]."""

    TXN_DECLINE = "txn_decline"  # last 30 days vs the 30-day average of the 90 before
    BALANCE_DECLINE = "balance_decline"  # deposit balance now vs ~90 days ago
    NO_RECENT_LOGIN = "no_recent_login"  # no log-in in 30 days
    NO_DIRECT_DEPOSIT = "no_direct_deposit"  # no payroll credit in 60 days
    SINGLE_PRODUCT = "single_product"  # holds at most one open product
    FUNDED = "event:account_funded"
    FIRST_LOGIN = "event:first_login"
    CARD_ACTIVATED = "event:card_activated"
    FIRST_CARD_PURCHASE = "event:first_card_purchase"
    DIRECT_DEPOSIT_SETUP = "event:direct_deposit_setup"
    BILL_PAY_ENROLLED = "event:bill_pay_enrolled"
    MOBILE_APP_INSTALLED = "event:mobile_app_installed"
    ESTATEMENTS_ENROLLED = "event:estatements_enrolled"


class ScoreBand(_Model):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
    min_score: Annotated[float, Field(ge=0, le=1)]


class ScoreRule(_RuleBase):
    """A predictive indicator: score = Σ weight·feature / Σ weight, in [0, 1]; the customer gets
    the band whose ``min_score`` is the highest one not above the score; strength = score."""

    kind: Literal["score"]
    weights: dict[ScoreFeature, Annotated[float, Field(gt=0, le=100)]] = Field(min_length=1)
    bands: tuple[ScoreBand, ...] = Field(min_length=1, max_length=10)
    population: Literal["all", "recent_accounts"] = Field(
        "all", description="recent_accounts: only customers with an account opened in 180 days."
    )
    key: str
    key_fields: ClassVar[frozenset[str]] = frozenset({"band"})

    def key_templates(self) -> tuple[str, ...]:
        return (self.key,)

    @field_validator("bands")
    @classmethod
    def _bands_ascending(cls, bands: tuple[ScoreBand, ...]) -> tuple[ScoreBand, ...]:
        mins = [b.min_score for b in bands]
        if mins[0] != 0:
            raise ValueError("the first band must start at min_score 0")
        if any(b <= a for a, b in itertools.pairwise(mins)):
            raise ValueError("band min_score values must be strictly ascending")
        return bands


Rule = Annotated[
    MerchantActivityRule
    | CategorySpendRule
    | CompetitiveProductRule
    | CompetitiveActivityRule
    | TxnPatternRule
    | ProductHoldingRule
    | ServiceUsageRule
    | BandRule
    | LifeEventRule
    | ScoreRule,
    Field(discriminator="kind"),
]

TXN_KINDS = (
    "merchant_activity",
    "category_spend",
    "competitive_product",
    "competitive_activity",
    "txn_pattern",
)


class RuleSet(_Model):
    version: Literal[1] = 1
    rules: tuple[Rule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> RuleSet:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"duplicate rule id {rule.id!r}")
            seen.add(rule.id)
        return self

    @property
    def enabled(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.enabled)

    def txn_windows(self) -> tuple[int, ...]:
        """Every window a transaction rule or signal needs, for the single aggregation pass."""
        windows: set[int] = {30, 60, 90, 120}  # the fixed windows the score features use
        for rule in self.enabled:
            if isinstance(rule, TXN_RULE_TYPES):
                windows.add(rule.threshold.window_days)
            elif isinstance(rule, LifeEventRule):
                for s in rule.signals:
                    if isinstance(s, SpendSignal):
                        windows.add(s.threshold.window_days)
                    elif isinstance(s, NewPayeeSignal | StoppedSignal):
                        windows.add(s.window_days)
        return tuple(sorted(windows))

    def span_windows(self) -> frozenset[int]:
        """Windows of thresholds with ``min_span_days`` (they need first/last dates)."""
        out: set[int] = set()
        for rule in self.enabled:
            thresholds = []
            if isinstance(rule, TXN_RULE_TYPES):
                thresholds.append(rule.threshold)
            elif isinstance(rule, LifeEventRule):
                thresholds.extend(s.threshold for s in rule.signals if isinstance(s, SpendSignal))
            out.update(t.window_days for t in thresholds if t.min_span_days)
        return frozenset(out)

    def lookback_days(self) -> int:
        days = max(self.txn_windows())
        for rule in self.enabled:
            if isinstance(rule, LifeEventRule):
                for s in rule.signals:
                    if isinstance(s, NewPayeeSignal | StoppedSignal):
                        days = max(days, s.lookback_days)
        return days

    def all_keys(self) -> Iterable[tuple[str, str]]:
        for rule in self.enabled:
            for key in rule.key_templates():
                yield rule.id, key


TXN_RULE_TYPES = (
    MerchantActivityRule,
    CategorySpendRule,
    CompetitiveProductRule,
    CompetitiveActivityRule,
    TxnPatternRule,
)

DEFAULT_RULES = "kli_rules.yaml"


def _format_errors(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        out.append(f"Field {loc or 'rules'}: {err['msg']}")
    return out


def parse_rules(data: Any) -> RuleSet:
    """Validate a decoded rule document; errors name the rule and field."""
    if isinstance(data, list):
        data = {"rules": data}
    if not isinstance(data, dict):
        raise RuleError("A rule file is a mapping with a 'rules' list.")
    try:
        return RuleSet.model_validate(data)
    except ValidationError as exc:
        raise RuleError(*_format_errors(exc)) from None


def load_rules(path: Path | str | None = None) -> RuleSet:
    """Load a rule file (YAML or JSON); the packaged rules by default."""
    if path is None:
        text = files("sightline.data").joinpath(DEFAULT_RULES).read_text(encoding="utf-8")
        source = DEFAULT_RULES
    else:
        p = Path(path)
        if not p.is_file():
            raise RuleError(f"Rule file {p} does not exist.")
        text = p.read_text(encoding="utf-8")
        source = str(p)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleError(f"{source}: not valid YAML: {exc}") from None
    return parse_rules(data)


_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """``Food & Dining`` → ``food-dining`` (the taxonomy's category slugs)."""
    return _SLUG.sub("-", text.lower().replace("&", " ")).strip("-")


def as_of_or_today(value: date | None) -> date:
    return value or date.today()
