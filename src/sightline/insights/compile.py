"""Rules → Ibis expressions.

Cost model: the enriched transactions of the look-back are projected to the columns the rules
use and materialised **once** in the engine (:func:`txn_table`). Every transaction rule then
aggregates straight from that table over only its own rows: the rule's filter and window are
applied first (a columnar scan), so each GROUP BY carries exactly the groups and the four or six
aggregates the rule needs (count, spend, lowest/highest transaction id, first/last date). There
is no wide intermediate keyed by every counterparty attribute (that base, with every window's
figures of every group, was the largest and slowest relation of a refresh and spilled at 10M
transactions). Values from rules are Ibis literals — bound parameters, never SQL text.

Every rule produces rows of :data:`ROW_SCHEMA`: the ucic, the rule id, which of the rule's key
templates applies (``key_no``) and the template's field values (``k1``, ``k2``), a strength, and
the evidence figures. :mod:`sightline.insights.pipeline` maps the keys to KLI codes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from sightline.insights.inputs import Inputs
from sightline.insights.rules import (
    DEPOSIT_PRODUCTS,
    BandAttribute,
    BandRule,
    CategorySpendRule,
    CompetitiveActivityRule,
    CompetitiveProductRule,
    EventSignal,
    LifeEventRule,
    MerchantActivityRule,
    NewPayeeSignal,
    ProductHoldingRule,
    Rule,
    RuleSet,
    ScoreFeature,
    ScoreRule,
    ServiceUsageRule,
    Signal,
    SpendSignal,
    StoppedSignal,
    Threshold,
    TxnFilter,
    TxnPatternRule,
)

BIG_MONEY = dt.Decimal(38, 2)
TXN_COLUMNS = (
    "txn_id",
    "ucic",
    "posted_at",
    "amount",
    "direction",
    "merchant_id",
    "payee_name",
    "category_group",
    "category",
    "competitive_fi_id",
    "fi_product",
    "transaction_kind",
)
ROW_SCHEMA: dict[str, dt.DataType] = {
    "ucic": dt.string,
    "rule": dt.string,
    "key_no": dt.int64,
    "k1": dt.string,
    "k2": dt.string,
    "strength": dt.float64,
    "window_days": dt.int64,
    "n": dt.int64,
    "amount": BIG_MONEY,
    "txn_lo": dt.string,
    "txn_hi": dt.string,
}
NULL_STR = ibis.null(dt.string)


def _lit_date(d: date) -> ir.DateScalar:
    return ibis.literal(d, type=dt.date)


@dataclass
class Compiled:
    """The materialised inputs the rules derive from."""

    as_of: date
    txns: ir.Table  # txn_table: the look-back's transactions, the columns rules use
    history: ir.Table  # ucic → first transaction date in the look-back
    inputs: Inputs
    customers: ir.Table  # latest customer row per ucic
    attributes: ir.Table  # ucic → balance, income, tenure_days, age, ucic_type, …
    #: the rows of ``txns`` with a competitive institution (a small share): the rules that
    #: require one scan this instead of every transaction
    institution_txns: ir.Table | None = None

    def since(self, days: int) -> ir.DateScalar:
        """The exclusive start of a window of ``days`` ending at the as-of date."""
        return _lit_date(self.as_of - timedelta(days=days))


def txn_table(inputs: Inputs) -> ir.Table:
    """The transactions as the rules read them: unmatched counterparties (an employer's
    payroll, a pension) keep their cleansed name as ``payee_name`` so "new payee" signals can
    see them; matched ones are identified by merchant/institution (no name carried)."""
    t = inputs.txns
    t = t.mutate(
        payee_name=ibis.ifelse(
            t.merchant_id.isnull() & t.competitive_fi_id.isnull(),
            t.merchant_name.upper(),
            ibis.null(dt.string),
        )
    )
    return t.select(*TXN_COLUMNS)


def latest_customers(inputs: Inputs) -> ir.Table:
    c = inputs.customers
    return c.group_by("ucic").aggregate(
        ucic_type=c.ucic_type.argmax(c.as_of),
        birth_year=c.birth_year.argmax(c.as_of),
        customer_since=c.customer_since.argmax(c.as_of),
        annual_income=c.annual_income.argmax(c.as_of),
    )


def deposit_balances(accounts: ir.Table, name: str) -> ir.Table:
    a = accounts.filter(
        accounts.product.isin(list(DEPOSIT_PRODUCTS)), accounts.status.isin(["open", "dormant"])
    )
    return a.group_by("ucic").aggregate(
        **{name: a.balance.sum().cast(BIG_MONEY), f"{name}_accounts": a.count()}
    )


def left_on_ucic(t: ir.Table, other: ir.Table) -> ir.Table:
    """``t`` LEFT JOIN ``other`` USING (ucic), keeping one ucic column."""
    right = other.rename(ucic_r="ucic")
    return t.left_join(right, t.ucic == right.ucic_r).drop("ucic_r")


def customer_attributes(
    inputs: Inputs, customers: ir.Table, txns: ir.Table | None = None
) -> ir.Table:
    """One row per known ucic with the attributes bands, scores and private KLIs use
    (``txns``: a table whose ``ucic`` column holds the transactions' ucics, default the lake's
    transactions — the materialised per-customer history is one row per such ucic, so the
    union reads one row per customer instead of every transaction)."""
    as_of = inputs.as_of
    acc = inputs.accounts_now
    open_acc = acc.filter(acc.status == "open")
    holdings = open_acc.group_by("ucic").aggregate(
        open_products=open_acc.product.nunique(),
        newest_open=open_acc.open_date.max(),
    )
    now = deposit_balances(acc, "balance")
    before = deposit_balances(inputs.accounts_before, "balance_before")
    ucics = (
        customers.select("ucic")
        .union(acc.select("ucic"), distinct=True)
        .union((inputs.txns if txns is None else txns).select("ucic"), distinct=True)
    )
    t = left_on_ucic(ucics, customers).select(
        "ucic", "ucic_type", "birth_year", "customer_since", "annual_income"
    )
    t = left_on_ucic(t, holdings)
    t = left_on_ucic(t, now)
    t = left_on_ucic(t, before)
    return t.mutate(
        age=(ibis.literal(as_of.year) - t.birth_year).cast(dt.int64),
        open_products=t.open_products.fill_null(0),
    )


def compile_base(
    inputs: Inputs,
    rules: RuleSet,
    materialize: Callable[[ir.Table], ir.Table],
    view: Callable[[ir.Table], ir.Table] | None = None,
) -> Compiled:
    """Materialise what the rules read; ``view`` (an engine's :meth:`~Engine.view`) names the
    events and telemetry inputs, so the rules' SQL refers to them instead of inlining their
    files, casts and scope (see :func:`union_tables`)."""
    txns = materialize(txn_table(inputs))
    history = materialize(txns.group_by("ucic").aggregate(first_txn=txns.posted_at.min()))
    # the account snapshot is read by the attributes (twice) and the holdings rules: once here
    inputs = replace(inputs, accounts_now=materialize(inputs.accounts_now))
    if view is not None:
        inputs = replace(inputs, events=view(inputs.events), telemetry=view(inputs.telemetry))
    customers = latest_customers(inputs)
    attributes = materialize(customer_attributes(inputs, customers, history))
    institution_txns = None
    if any(_requires_institution(r) for r in rules.enabled):
        institution_txns = materialize(txns.filter(txns.competitive_fi_id.notnull()))
    return Compiled(
        as_of=inputs.as_of,
        txns=txns,
        history=history,
        inputs=inputs,
        customers=customers,
        attributes=attributes,
        institution_txns=institution_txns,
    )


def union_tables(c: Compiled) -> dict[str, ir.Table]:
    """Every relation :func:`compile_rules` reads, by role: the rule union's SQL is a function of
    the rule set, these relations (names and schemas) and the as-of date alone."""
    tables = {
        "txns": c.txns,
        "history": c.history,
        "attributes": c.attributes,
        "accounts_now": c.inputs.accounts_now,
        "events": c.inputs.events,
        "telemetry": c.inputs.telemetry,
    }
    if c.institution_txns is not None:
        tables["institution_txns"] = c.institution_txns
    return tables


def rule_only_tables(c: Compiled) -> list[ir.Table]:
    """The tables :func:`compile_base` materialised that only the rules read (the attributes
    stay: private KLIs and the customer count read them): free them once the rule rows are
    materialised, so the evidence sort has their memory."""
    tables = [c.txns, c.history, c.inputs.accounts_now]
    if c.institution_txns is not None:
        tables.append(c.institution_txns)
    return tables


def _requires_institution(rule: Rule) -> bool:
    f = getattr(rule, "filter", None)
    if isinstance(f, TxnFilter) and f.require_institution:
        return True
    signals = (*rule.all_of, *rule.any_of) if isinstance(rule, LifeEventRule) else ()
    return any(not isinstance(s, EventSignal) and s.filter.require_institution for s in signals)


def source(c: Compiled, f: TxnFilter) -> ir.Table:
    """The transactions a filter reads: only those with an institution when it requires one
    (the filter still applies its own condition, so the rows kept are the same)."""
    if f.require_institution and c.institution_txns is not None:
        return c.institution_txns
    return c.txns


# --- filters and thresholds ------------------------------------------------------------------


def filter_base(b: ir.Table, f: TxnFilter) -> ir.Table:
    preds: list[ir.BooleanValue] = []
    if f.direction is not None:
        preds.append(b.direction == ibis.literal(f.direction.value))
    if f.transaction_kinds:
        preds.append(b.transaction_kind.isin(list(f.transaction_kinds)))
    if f.category_groups:
        preds.append(b.category_group.isin(list(f.category_groups)))
    if f.categories:
        preds.append(b.category.isin(list(f.categories)))
    if f.exclude_categories:
        preds.append(b.category.isnull() | ~b.category.isin(list(f.exclude_categories)))
    if f.fi_products:
        preds.append(b.fi_product.isin(list(f.fi_products)))
    if f.merchant_ids:
        preds.append(b.merchant_id.isin(list(f.merchant_ids)))
    if f.require_merchant:
        preds.append(b.merchant_id.notnull())
    if f.require_institution:
        preds.append(b.competitive_fi_id.notnull())
    return b.filter(*preds) if preds else b


def windowed(c: Compiled, f: TxnFilter, w: int) -> ir.Table:
    """The transactions matching ``f`` inside the window of ``w`` days."""
    t = filter_base(source(c, f), f)
    return t.filter(t.posted_at > c.since(w))


def window_aggs(
    t: ir.Table, *, span: bool, inside: ir.BooleanValue | None = None
) -> dict[str, ir.Value]:
    """Count, spend, lowest/highest transaction id (and, with ``span``, first/last date) of the
    rows of ``t`` — of those where ``inside`` holds when given (rows outside the window kept for
    other aggregates of the same GROUP BY)."""
    out: dict[str, ir.Value] = {
        "n": t.count(where=inside).cast(dt.int64),
        "amount": t.amount.sum(where=inside).cast(BIG_MONEY),
        "txn_lo": t.txn_id.min(where=inside),
        "txn_hi": t.txn_id.max(where=inside),
    }
    if span:
        out["d_lo"] = t.posted_at.min(where=inside)
        out["d_hi"] = t.posted_at.max(where=inside)
    return out


def _spans(th: Threshold) -> bool:
    return th.min_span_days > 0


def passes(t: ir.Table, th: Threshold) -> list[ir.BooleanValue]:
    preds = [t.n >= th.min_count]
    if th.min_amount is not None:
        preds.append(t.amount.fill_null(0).cast(dt.float64) >= th.min_amount)
    if th.min_span_days:
        preds.append(t.d_lo <= t.d_hi - ibis.interval(days=th.min_span_days))
    return preds


def rows(
    t: ir.Table,
    rule: str,
    *,
    key_no: int = 0,
    k1: ir.Value | None = None,
    k2: ir.Value | None = None,
    strength: ir.Value | None = None,
    window_days: int | None = None,
    n: ir.Value | None = None,
    amount: ir.Value | None = None,
    txn_lo: ir.Value | None = None,
    txn_hi: ir.Value | None = None,
) -> ir.Table:
    """Shape any rule result into :data:`ROW_SCHEMA`."""
    values = {
        "ucic": t.ucic,
        "rule": ibis.literal(rule),
        "key_no": ibis.literal(key_no, type=dt.int64),
        "k1": k1,
        "k2": k2,
        "strength": strength,
        "window_days": ibis.literal(window_days, type=dt.int64)
        if window_days is not None
        else None,
        "n": n,
        "amount": amount,
        "txn_lo": txn_lo,
        "txn_hi": txn_hi,
    }
    out = {}
    for name, dtype in ROW_SCHEMA.items():
        v = values[name]
        out[name] = ibis.null(dtype) if v is None else v.cast(dtype)
    return t.select(**out)


def _txn_rows(t: ir.Table, rule: str, w: int, **kw: ir.Value | int | None) -> ir.Table:
    return rows(
        t,
        rule,
        window_days=w,
        n=t.n,
        amount=t.amount,
        txn_lo=t.txn_lo,
        txn_hi=t.txn_hi,
        **kw,  # type: ignore[arg-type]
    )


# --- rule kinds ------------------------------------------------------------------------------


def merchant_activity(c: Compiled, rule: MerchantActivityRule) -> ir.Table:
    th = rule.threshold
    b = windowed(c, rule.filter, th.window_days)
    b = _of_type(c, b.filter(b.merchant_id.notnull()), rule.customer_type)
    g = b.group_by(["ucic", "merchant_id"]).aggregate(**window_aggs(b, span=_spans(th)))
    g = g.filter(*passes(g, th))
    return _txn_rows(g, rule.id, th.window_days, k1=g.merchant_id)


def category_spend(c: Compiled, rule: CategorySpendRule) -> ir.Table:
    th = rule.threshold
    b = windowed(c, rule.filter, th.window_days)
    b = _of_type(c, b.filter(b.category.notnull(), b.category_group.notnull()), rule.customer_type)
    g = b.group_by(["ucic", "category_group", "category"]).aggregate(
        **window_aggs(b, span=_spans(th))
    )
    g = g.filter(*passes(g, th))
    return _txn_rows(g, rule.id, th.window_days, k1=g.category_group, k2=g.category)


def competitive_product(c: Compiled, rule: CompetitiveProductRule) -> ir.Table:
    th = rule.threshold
    b = windowed(c, rule.filter, th.window_days)
    b = b.filter(b.competitive_fi_id.notnull(), b.fi_product.notnull())
    g = b.group_by(["ucic", "competitive_fi_id", "fi_product"]).aggregate(
        **window_aggs(b, span=_spans(th))
    )
    g = g.filter(*passes(g, th))
    parts = []
    for key_no, _ in enumerate(rule.key_templates()):
        parts.append(
            _txn_rows(
                g,
                rule.id,
                th.window_days,
                key_no=key_no,
                k1=g.competitive_fi_id,
                k2=g.fi_product,
            )
        )
    return ibis.union(*parts)


def competitive_activity(c: Compiled, rule: CompetitiveActivityRule) -> ir.Table:
    th = rule.threshold
    b = filter_base(source(c, rule.filter), rule.filter)
    b = b.filter(b.competitive_fi_id.notnull())
    # the product shown is the lowest over the whole look-back, as the window's figures are
    # conditional aggregates of the same pass
    inside = b.posted_at > c.since(th.window_days)
    g = b.group_by(["ucic", "competitive_fi_id"]).aggregate(
        fi_product=b.fi_product.min(), **window_aggs(b, span=_spans(th), inside=inside)
    )
    g = g.filter(*passes(g, th))
    return _txn_rows(g, rule.id, th.window_days, k1=g.competitive_fi_id, k2=g.fi_product)


def txn_pattern(c: Compiled, rule: TxnPatternRule) -> ir.Table:
    th = rule.threshold
    b = _of_type(c, windowed(c, rule.filter, th.window_days), rule.customer_type)
    g = b.group_by("ucic").aggregate(**window_aggs(b, span=_spans(th)))
    g = g.filter(*passes(g, th))
    return _txn_rows(g, rule.id, th.window_days)


def _of_type(c: Compiled, t: ir.Table, customer_type: str | None) -> ir.Table:
    """Rows of ``t`` whose customer is of the type (applied before a rule's aggregation)."""
    if customer_type is None:
        return t
    typed = c.attributes.filter(c.attributes.ucic_type == ibis.literal(customer_type))
    return t.semi_join(typed.select("ucic"), "ucic")


def product_holding(c: Compiled, rule: ProductHoldingRule) -> ir.Table:
    a = c.inputs.accounts_now
    a = a.filter(a.product.isin(list(rule.products)), a.status.isin(list(rule.statuses)))
    g = a.group_by(["ucic", "product"]).aggregate(
        n=a.count(), amount=a.balance.sum(), txn_lo=a.account_id.min(), txn_hi=a.account_id.max()
    )
    # account ids are not transactions: evidence keeps the count and the balance only
    return rows(g, rule.id, k1=g.product, n=g.n, amount=g.amount)


def service_usage(c: Compiled, rule: ServiceUsageRule) -> ir.Table:
    t = c.inputs.telemetry
    t = t.filter(t.date > _lit_date(c.as_of - timedelta(days=rule.window_days)))
    measure = t[rule.measure.value]
    g = t.group_by("ucic").aggregate(
        n=measure.sum().cast(dt.int64), days=t.date.nunique(where=measure > 0)
    )
    g = g.filter(g.n >= rule.min_total, g.days >= rule.min_active_days)
    return rows(g, rule.id, window_days=rule.window_days, n=g.n)


def band_value(c: Compiled, attribute: BandAttribute) -> tuple[ir.Table, ir.Value]:
    a = c.attributes
    if attribute is BandAttribute.BALANCE:
        return a, a.balance.cast(dt.float64)
    if attribute is BandAttribute.INCOME:
        return a, a.annual_income.cast(dt.float64)
    if attribute is BandAttribute.AGE:
        return a, a.age.cast(dt.float64)
    return a, a.customer_since  # tenure: compared against dates below


def band_of(c: Compiled, rule: BandRule) -> ir.Table:
    a, value = band_value(c, rule.attribute)
    flags: list[ir.IntegerValue] = []
    for edge in rule.edges:
        if rule.attribute is BandAttribute.TENURE:
            cutoff = c.as_of - timedelta(days=round(edge * 365.25))
            flags.append((value <= _lit_date(cutoff)).cast(dt.int64))
        else:
            flags.append((value >= edge).cast(dt.int64))
    band = ibis.literal(1, type=dt.int64)
    for f in flags:
        band = band + f
    t = a.filter(value.notnull()).mutate(band=band)
    amount = (
        t.balance
        if rule.attribute is BandAttribute.BALANCE
        else t.annual_income
        if rule.attribute is BandAttribute.INCOME
        else None
    )
    return rows(t, rule.id, k1=t.band.cast(dt.string), amount=amount)


# --- composite life events -------------------------------------------------------------------


def signal_table(c: Compiled, s: Signal) -> ir.Table:
    """ucic, n, amount, txn_lo, txn_hi of the customers for whom the signal holds."""
    as_of = c.as_of
    if isinstance(s, EventSignal):
        e = c.inputs.events
        e = e.filter(
            e.type == ibis.literal(s.event_type),
            e.occurred_at.date() > _lit_date(as_of - timedelta(days=s.window_days)),
        )
        g = e.group_by("ucic").aggregate(n=e.count())
        return g.select(
            "ucic",
            n=g.n.cast(dt.int64),
            amount=ibis.null(BIG_MONEY),
            txn_lo=NULL_STR,
            txn_hi=NULL_STR,
        )
    if isinstance(s, SpendSignal):
        th = s.threshold
        b = windowed(c, s.filter, th.window_days)
        g = b.group_by("ucic").aggregate(**window_aggs(b, span=_spans(th)))
        g = g.filter(*passes(g, th))
        return g.select("ucic", "n", "amount", "txn_lo", "txn_hi")
    b = filter_base(source(c, s.filter), s.filter)
    w = s.window_days
    window_start = c.since(w)
    inside = b.posted_at > window_start
    if isinstance(s, StoppedSignal):
        g = b.group_by("ucic").aggregate(
            before=b.count(where=~inside), recent=b.count(where=inside)
        )
        g = g.filter(g.before >= s.min_count_before, g.recent == 0)
        return g.select(
            "ucic",
            n=g.before.cast(dt.int64),
            amount=ibis.null(BIG_MONEY),
            txn_lo=NULL_STR,
            txn_hi=NULL_STR,
        )
    assert isinstance(s, NewPayeeSignal)
    if s.per == "category":
        b = b.mutate(payee=b.category)
    else:
        b = b.mutate(payee=b.merchant_id.fill_null(b.competitive_fi_id).fill_null(b.payee_name))
    b = b.filter(b.payee.notnull())
    inside = b.posted_at > window_start
    p = b.group_by(["ucic", "payee"]).aggregate(
        first=b.posted_at.min(), **window_aggs(b, span=False, inside=inside)
    )
    new = p.filter(p.first > window_start, p.n >= s.min_count)
    g = new.group_by("ucic").aggregate(
        n=new.n.sum().cast(dt.int64),
        amount=new.amount.sum().cast(BIG_MONEY),
        txn_lo=new.txn_lo.min(),
        txn_hi=new.txn_hi.max(),
    )
    # a customer whose history starts inside the window has only "new" payees: not an event
    settled = c.history.filter(c.history.first_txn <= c.since(w + 30))
    g = g.semi_join(settled, "ucic")
    if s.require_previous:
        old = p.filter(p.first <= window_start)
        g = g.semi_join(old.select("ucic"), "ucic")
    return g.select("ucic", "n", "amount", "txn_lo", "txn_hi")


def life_event(c: Compiled, rule: LifeEventRule) -> ir.Table:
    parts = []
    for i, s in enumerate(rule.all_of):
        parts.append(signal_table(c, s).mutate(req=ibis.literal(1), opt=ibis.literal(0), sig=i))
    for i, s in enumerate(rule.any_of):
        parts.append(
            signal_table(c, s).mutate(
                req=ibis.literal(0), opt=ibis.literal(1), sig=len(rule.all_of) + i
            )
        )
    u = ibis.union(*parts)
    g = u.group_by("ucic").aggregate(
        req=u.req.sum(),
        opt=u.opt.sum(),
        n=u.n.sum().cast(dt.int64),
        amount=u.amount.sum().cast(BIG_MONEY),
        txn_lo=u.txn_lo.min(),
        txn_hi=u.txn_hi.max(),
    )
    preds = [g.req == len(rule.all_of)]
    if rule.any_of:
        preds.append(g.opt >= rule.min_any)
    g = g.filter(*preds)
    return _txn_rows(g, rule.id, rule.window_days)


# --- predictive scores -----------------------------------------------------------------------


def _clip01(v: ir.FloatingValue) -> ir.FloatingValue:
    return ibis.greatest(ibis.least(v, 1.0), 0.0)


def score_features(c: Compiled, weights: set[ScoreFeature]) -> ir.Table:
    a = c.attributes
    t = a.select("ucic", "balance", "balance_before", "open_products", "newest_open")
    x = c.txns
    if ScoreFeature.TXN_DECLINE in weights or ScoreFeature.NO_DIRECT_DEPOSIT in weights:
        x = x.filter(x.posted_at > c.since(120))
        payroll = (x.direction == "credit") & (x.transaction_kind == "payroll")
        act = x.group_by("ucic").aggregate(
            n30=x.count(where=x.posted_at > c.since(30)),
            n120=x.count(),
            payroll60=x.count(where=payroll & (x.posted_at > c.since(60))),
        )
        t = left_on_ucic(t, act)
    if ScoreFeature.NO_RECENT_LOGIN in weights:
        tel = c.inputs.telemetry
        tel = tel.filter(tel.date > _lit_date(c.as_of - timedelta(days=30)))
        logins = tel.group_by("ucic").aggregate(logins30=tel.logins.sum())
        t = left_on_ucic(t, logins)
    events = sorted(f for f in weights if f.value.startswith("event:"))
    if events:
        e = c.inputs.events
        flags = {
            f"ev_{f.value[6:]}": (e.type == ibis.literal(f.value[6:])).cast(dt.int64).max()
            for f in events
        }
        t = left_on_ucic(t, e.group_by("ucic").aggregate(**flags))
    return t


def feature_value(t: ir.Table, f: ScoreFeature) -> ir.FloatingValue:
    zero = ibis.literal(0.0)
    one = ibis.literal(1.0)
    if f is ScoreFeature.TXN_DECLINE:
        prev = (t.n120.fill_null(0) - t.n30.fill_null(0)).cast(dt.float64) / 3.0
        ratio = t.n30.fill_null(0).cast(dt.float64) / prev
        return ibis.ifelse(prev > 0, _clip01(one - ratio), zero)
    if f is ScoreFeature.BALANCE_DECLINE:
        before = t.balance_before.cast(dt.float64)
        now = t.balance.fill_null(0).cast(dt.float64)
        return ibis.ifelse(before.notnull() & (before > 0), _clip01(one - now / before), zero)
    if f is ScoreFeature.NO_RECENT_LOGIN:
        return ibis.ifelse(t.logins30.fill_null(0) > 0, zero, one)
    if f is ScoreFeature.NO_DIRECT_DEPOSIT:
        return ibis.ifelse(t.payroll60.fill_null(0) > 0, zero, one)
    if f is ScoreFeature.SINGLE_PRODUCT:
        return ibis.ifelse(t.open_products <= 1, one, zero)
    return t[f"ev_{f.value[6:]}"].fill_null(0).cast(dt.float64)


def score(c: Compiled, rule: ScoreRule) -> ir.Table:
    t = score_features(c, set(rule.weights))
    if rule.population == "recent_accounts":
        t = t.filter(t.newest_open > _lit_date(c.as_of - timedelta(days=180)))
    total = sum(rule.weights.values())
    value: ir.FloatingValue = ibis.literal(0.0)
    for f in sorted(rule.weights, key=lambda x: x.value):
        value = value + feature_value(t, f) * ibis.literal(rule.weights[f] / total)
    t = t.mutate(score=value)
    band = ibis.literal(rule.bands[0].name)
    for b in rule.bands[1:]:
        band = ibis.ifelse(t.score >= b.min_score, ibis.literal(b.name), band)
    t = t.mutate(band=band)
    return rows(t, rule.id, k1=t.band, strength=t.score)


COMPILERS: dict[type, Callable[[Compiled, Rule], ir.Table]] = {
    MerchantActivityRule: merchant_activity,  # type: ignore[dict-item]
    CategorySpendRule: category_spend,  # type: ignore[dict-item]
    CompetitiveProductRule: competitive_product,  # type: ignore[dict-item]
    CompetitiveActivityRule: competitive_activity,  # type: ignore[dict-item]
    TxnPatternRule: txn_pattern,  # type: ignore[dict-item]
    ProductHoldingRule: product_holding,  # type: ignore[dict-item]
    ServiceUsageRule: service_usage,  # type: ignore[dict-item]
    BandRule: band_of,  # type: ignore[dict-item]
    LifeEventRule: life_event,  # type: ignore[dict-item]
    ScoreRule: score,  # type: ignore[dict-item]
}


def compile_rule(c: Compiled, rule: Rule) -> ir.Table:
    return COMPILERS[type(rule)](c, rule)


def compile_rules(c: Compiled, rules: RuleSet) -> ir.Table:
    """Every enabled rule's rows as one union (the engine plans it as one query)."""
    return ibis.union(*[compile_rule(c, r) for r in rules.enabled])
