"""Rules → Ibis expressions.

Cost model: the enriched transactions are read **once**. One GROUP BY (ucic, counterparty,
category, institution, product, kind, direction) computes, for every window any rule uses, the
count, spend, first/last date and lowest/highest transaction id (:func:`txn_base`). That base is
materialised in the engine and every transaction rule, signal and score feature is a small
aggregate over it. Values from rules are Ibis literals — bound parameters, never SQL text.

Every rule produces rows of :data:`ROW_SCHEMA`: the ucic, the rule id, which of the rule's key
templates applies (``key_no``) and the template's field values (``k1``, ``k2``), a strength, and
the evidence figures. :mod:`sightline.insights.engine_run` maps the keys to KLI codes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
GROUP_COLS = (
    "ucic",
    "merchant_id",
    "payee_name",
    "category_group",
    "category",
    "competitive_fi_id",
    "fi_product",
    "transaction_kind",
    "direction",
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
    """The materialised per-customer aggregates the rules derive from."""

    as_of: date
    windows: tuple[int, ...]
    base: ir.Table  # txn_base
    history: ir.Table  # ucic → first transaction date in the look-back
    inputs: Inputs
    customers: ir.Table  # latest customer row per ucic
    attributes: ir.Table  # ucic → balance, income, tenure_days, age, ucic_type, …


def txn_base(
    inputs: Inputs, windows: tuple[int, ...], span_windows: frozenset[int] = frozenset()
) -> ir.Table:
    """One pass over the transactions: per (ucic, counterparty, …) group, every window's
    figures as conditional aggregates (first/last dates only for windows whose rules need a
    span: the base is the refresh's largest intermediate, so it carries nothing unused)."""
    t = inputs.txns
    # unmatched counterparties (an employer's payroll, a pension) keep their cleansed name so
    # "new payee" signals can see them; matched ones are identified by merchant/institution
    t = t.mutate(
        payee_name=ibis.ifelse(
            t.merchant_id.isnull() & t.competitive_fi_id.isnull(),
            t.merchant_name.upper(),
            ibis.null(dt.string),
        )
    )
    aggs: dict[str, ir.Value] = {
        "first_seen": t.posted_at.min(),
        "last_seen": t.posted_at.max(),
        "n_all": t.count(),
    }
    for w in windows:
        inside = t.posted_at > _lit_date(inputs.as_of - timedelta(days=w))
        aggs[f"n{w}"] = t.count(where=inside)
        aggs[f"a{w}"] = t.amount.sum(where=inside).cast(BIG_MONEY)
        aggs[f"lo{w}"] = t.txn_id.min(where=inside)
        aggs[f"hi{w}"] = t.txn_id.max(where=inside)
        if w in span_windows:
            aggs[f"d{w}"] = t.posted_at.min(where=inside)
            aggs[f"e{w}"] = t.posted_at.max(where=inside)
    return t.group_by(list(GROUP_COLS)).aggregate(**aggs)


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


def customer_attributes(inputs: Inputs, customers: ir.Table) -> ir.Table:
    """One row per known ucic with the attributes bands, scores and private KLIs use."""
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
        .union(inputs.txns.select("ucic"), distinct=True)
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
    inputs: Inputs, rules: RuleSet, materialize: Callable[[ir.Table], ir.Table]
) -> Compiled:
    windows = rules.txn_windows()
    base = materialize(txn_base(inputs, windows, rules.span_windows()))
    history = materialize(base.group_by("ucic").aggregate(first_txn=base.first_seen.min()))
    customers = latest_customers(inputs)
    attributes = materialize(customer_attributes(inputs, customers))
    return Compiled(
        as_of=inputs.as_of,
        windows=windows,
        base=base,
        history=history,
        inputs=inputs,
        customers=customers,
        attributes=attributes,
    )


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


def window_aggs(b: ir.Table, w: int) -> dict[str, ir.Value]:
    out: dict[str, ir.Value] = {
        "n": b[f"n{w}"].sum().cast(dt.int64),
        "amount": b[f"a{w}"].sum().cast(BIG_MONEY),
        "txn_lo": b[f"lo{w}"].min(),
        "txn_hi": b[f"hi{w}"].max(),
    }
    if f"d{w}" in b.columns:
        out["d_lo"] = b[f"d{w}"].min()
        out["d_hi"] = b[f"e{w}"].max()
    return out


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
    b = filter_base(c.base, rule.filter)
    b = b.filter(b.merchant_id.notnull())
    w = rule.threshold.window_days
    g = b.group_by(["ucic", "merchant_id"]).aggregate(**window_aggs(b, w))
    g = _of_type(c, g.filter(*passes(g, rule.threshold)), rule.customer_type)
    return _txn_rows(g, rule.id, w, k1=g.merchant_id)


def category_spend(c: Compiled, rule: CategorySpendRule) -> ir.Table:
    b = filter_base(c.base, rule.filter)
    b = b.filter(b.category.notnull(), b.category_group.notnull())
    w = rule.threshold.window_days
    g = b.group_by(["ucic", "category_group", "category"]).aggregate(**window_aggs(b, w))
    g = _of_type(c, g.filter(*passes(g, rule.threshold)), rule.customer_type)
    return _txn_rows(g, rule.id, w, k1=g.category_group, k2=g.category)


def competitive_product(c: Compiled, rule: CompetitiveProductRule) -> ir.Table:
    b = filter_base(c.base, rule.filter)
    b = b.filter(b.competitive_fi_id.notnull(), b.fi_product.notnull())
    w = rule.threshold.window_days
    g = b.group_by(["ucic", "competitive_fi_id", "fi_product"]).aggregate(**window_aggs(b, w))
    g = g.filter(*passes(g, rule.threshold))
    parts = []
    for key_no, _ in enumerate(rule.key_templates()):
        parts.append(
            _txn_rows(g, rule.id, w, key_no=key_no, k1=g.competitive_fi_id, k2=g.fi_product)
        )
    return ibis.union(*parts)


def competitive_activity(c: Compiled, rule: CompetitiveActivityRule) -> ir.Table:
    b = filter_base(c.base, rule.filter)
    b = b.filter(b.competitive_fi_id.notnull())
    w = rule.threshold.window_days
    g = b.group_by(["ucic", "competitive_fi_id"]).aggregate(
        fi_product=b.fi_product.min(), **window_aggs(b, w)
    )
    g = g.filter(*passes(g, rule.threshold))
    return _txn_rows(g, rule.id, w, k1=g.competitive_fi_id, k2=g.fi_product)


def txn_pattern(c: Compiled, rule: TxnPatternRule) -> ir.Table:
    b = filter_base(c.base, rule.filter)
    w = rule.threshold.window_days
    g = b.group_by("ucic").aggregate(**window_aggs(b, w))
    g = _of_type(c, g.filter(*passes(g, rule.threshold)), rule.customer_type)
    return _txn_rows(g, rule.id, w)


def _of_type(c: Compiled, g: ir.Table, customer_type: str | None) -> ir.Table:
    if customer_type is None:
        return g
    typed = c.attributes.filter(c.attributes.ucic_type == ibis.literal(customer_type))
    return g.semi_join(typed.select("ucic"), "ucic")


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
        b = filter_base(c.base, s.filter)
        g = b.group_by("ucic").aggregate(**window_aggs(b, s.threshold.window_days))
        g = g.filter(*passes(g, s.threshold))
        return g.select("ucic", "n", "amount", "txn_lo", "txn_hi")
    b = filter_base(c.base, s.filter)
    w = s.window_days
    window_start = _lit_date(as_of - timedelta(days=w))
    if isinstance(s, StoppedSignal):
        g = b.group_by("ucic").aggregate(
            before=b.n_all.sum() - b[f"n{w}"].sum(), recent=b[f"n{w}"].sum()
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
    p = b.group_by(["ucic", "payee"]).aggregate(
        first=b.first_seen.min(),
        **window_aggs(b, w),
    )
    new = p.filter(p.first > window_start, p.n >= s.min_count)
    g = new.group_by("ucic").aggregate(
        n=new.n.sum().cast(dt.int64),
        amount=new.amount.sum().cast(BIG_MONEY),
        txn_lo=new.txn_lo.min(),
        txn_hi=new.txn_hi.max(),
    )
    # a customer whose history starts inside the window has only "new" payees: not an event
    settled = c.history.filter(c.history.first_txn <= _lit_date(as_of - timedelta(days=w + 30)))
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
    base = c.base
    if ScoreFeature.TXN_DECLINE in weights or ScoreFeature.NO_DIRECT_DEPOSIT in weights:
        payroll = (base.direction == "credit") & (base.transaction_kind == "payroll")
        act = base.group_by("ucic").aggregate(
            n30=base.n30.sum(),
            n120=base.n120.sum(),
            payroll60=base.n60.sum(where=payroll),
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
