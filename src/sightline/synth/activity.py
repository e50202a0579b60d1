"""Events (onboarding funnel and lifecycle), digital-banking telemetry and consent history."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from sightline.synth import names
from sightline.synth.population import (
    ACCOUNT_PRODUCTS,
    FUND_METHODS,
    FUNNEL_STAGES,
    NEVER,
    Population,
)
from sightline.synth.vec import cat, digits, mix, money, take, unit

I64 = npt.NDArray[np.int64]
EVENT_CHANNELS = ("web", "mobile", "branch", "phone", "api")


def iso_timestamps(pop: Population, day: I64, sec: I64) -> pa.Array:
    """``YYYY-MM-DDTHH:MM:SSZ`` for day indices and seconds of day."""
    epoch = (pop.window.epoch_day + day) * 86400 + sec
    ts = pa.array(epoch.astype(np.int64), pa.int64()).cast(pa.timestamp("s"))
    return pc.strftime(ts, format="%Y-%m-%dT%H:%M:%SZ")


def _json_str(values: pa.Array) -> pa.Array:
    """A JSON string literal, or ``null``; values never contain quotes or backslashes."""
    quoted = cat('"', pc.fill_null(values, ""), '"')
    return pc.if_else(pc.is_null(values), pa.scalar("null", pa.string()), quoted)


def events(pop: Population, rng: np.random.Generator) -> tuple[I64, pa.Array]:
    """All events sorted by time: (day index of each, NDJSON line of each)."""
    f = pop.funnel
    acc = pop.accounts
    cust_l, ucic_l, type_l, day_l, sec_l, acct_l, chan_l, attr_l = [], [], [], [], [], [], [], []
    funnel_attrs = {
        "application_started": '{"product":"checking","source":"organic"}',
        "application_submitted": '{"product":"checking"}',
        "application_approved": '{"product":"checking","decision":"auto"}',
        "application_declined": '{"reason":"credit_policy"}',
        "kyc_passed": '{"method":"document_and_selfie"}',
        "kyc_failed": '{"reason":"identity_mismatch"}',
        "account_opened": '{"product":"checking"}',
        "account_funded": None,
        "first_login": '{"device":"browser"}',
        "card_activated": '{"card_type":"debit"}',
        "first_card_purchase": '{"card_type":"debit"}',
        "direct_deposit_setup": '{"method":"switch_kit"}',
    }
    for stage in FUNNEL_STAGES:
        day = f.stage_day[stage]
        rows = np.flatnonzero(day < NEVER)
        if not len(rows):
            continue
        cust = f.cust[rows]
        cust_l.append(cust)
        ucic_l.append(f.ucic.take(pa.array(rows)))
        type_l.append(np.full(len(rows), FUNNEL_STAGES.index(stage)))
        day_l.append(day[rows])
        sec_l.append(f.stage_sec[stage][rows])
        has_acct = FUNNEL_STAGES.index(stage) >= FUNNEL_STAGES.index("account_opened")
        acct = np.where(has_acct & (cust >= 0), pop.checking[np.maximum(cust, 0)], -1)
        acct_l.append(acct)
        chan = f.channel[rows]
        if stage in ("first_login", "card_activated", "direct_deposit_setup"):
            chan = np.where(pop.mobile_pref[np.maximum(cust, 0)] > 0.5, 1, 0)
        if stage == "first_card_purchase":
            chan = np.full(len(rows), 4)
        chan_l.append(chan)
        attrs = funnel_attrs[stage]
        if attrs is None:
            who = np.maximum(cust, 0)
            attr_l.append(
                cat(
                    '{"amount":"',
                    money(pop.fund_cents[who]),
                    '","method":"',
                    take(list(FUND_METHODS), pop.fund_method[who]),
                    '"}',
                )
            )
        else:
            attr_l.append(pa.array([attrs] * len(rows), pa.string()))
    n_types = len(FUNNEL_STAGES)
    life_types = (
        "address_changed",
        "account_closed",
        "bill_pay_enrolled",
        "estatements_enrolled",
        "mobile_app_installed",
    )
    # Movers change address.
    movers = np.flatnonzero(pop.move_day < NEVER)
    cities = _cities()
    if len(movers):
        c1 = pop.city1[movers]
        cust_l.append(movers)
        ucic_l.append(pop.ucic.take(pa.array(movers)))
        type_l.append(np.full(len(movers), n_types + 0))
        day_l.append(pop.move_day[movers])
        sec_l.append(rng.integers(8 * 3600, 21 * 3600, len(movers)))
        acct_l.append(np.full(len(movers), -1))
        chan_l.append(np.where(rng.random(len(movers)) < 0.8, 0, 2))
        attr_l.append(
            cat(
                '{"new_city":"',
                take(cities[0], c1),
                '","new_state":"',
                take(cities[1], c1),
                '","new_zip":"',
                take(cities[2], c1),
                digits(pop.zip_suffix[movers], 2),
                '"}',
            )
        )
    # Accounts closed inside the window.
    closed = np.flatnonzero(acc.close_day < pop.window.n_days)
    if len(closed):
        owner = acc.owner[closed]
        cust_l.append(owner)
        ucic_l.append(pop.ucic.take(pa.array(owner)))
        type_l.append(np.full(len(closed), n_types + 1))
        day_l.append(acc.close_day[closed])
        sec_l.append(rng.integers(9 * 3600, 17 * 3600, len(closed)))
        acct_l.append(closed)
        chan_l.append(np.where(rng.random(len(closed)) < 0.5, 2, 3))
        attr_l.append(
            cat(
                '{"product":"',
                take(list(ACCOUNT_PRODUCTS), acc.product[closed]),
                '","reason":"',
                take(
                    ["customer_request", "moved", "fees", "rate"], rng.integers(0, 4, len(closed))
                ),
                '"}',
            )
        )
    # Digital enrolments of customers who are already digital.
    nd = pop.window.n_days
    for t, p in ((2, 0.05), (3, 0.06), (4, 0.05)):
        who = np.flatnonzero(pop.digital & (rng.random(pop.n) < p * max(nd / 182.0, 0.2)))
        day = np.maximum(pop.digital_day[who], 0) + rng.integers(0, max(nd, 1), len(who))
        ok = day < np.minimum(nd, pop.stop_day[who])
        who, day = who[ok], day[ok]
        cust_l.append(who)
        ucic_l.append(pop.ucic.take(pa.array(who)))
        type_l.append(np.full(len(who), n_types + t))
        day_l.append(day)
        sec_l.append(rng.integers(6 * 3600, 23 * 3600, len(who)))
        acct_l.append(np.full(len(who), -1))
        chan_l.append(np.where(t == 4, 1, np.where(pop.mobile_pref[who] > 0.5, 1, 0)))
        attr_l.append(pa.array(["{}"] * len(who), pa.string()))

    cust = np.concatenate(cust_l)
    day = np.concatenate(day_l)
    sec = np.concatenate(sec_l)
    typ = np.concatenate(type_l)
    acct = np.concatenate(acct_l)
    chan = np.concatenate(chan_l)
    ucic = pa.concat_arrays(ucic_l)
    attrs = pa.concat_arrays(attr_l)
    order = np.lexsort((typ, sec, day))
    cust, day, sec, typ, acct, chan = (a[order] for a in (cust, day, sec, typ, acct, chan))
    ix = pa.array(order)
    ucic, attrs = ucic.take(ix), attrs.take(ix)
    n = len(cust)
    member_only = (cust >= 0) & (rng.random(n) < 0.02)
    member = take(pop.member_id, np.maximum(cust, 0))
    ucic_col = pc.if_else(pa.array(member_only), pa.nulls(n, pa.string()), ucic)
    member_col = pc.if_else(pa.array(member_only), member, pa.nulls(n, pa.string()))
    types = list(FUNNEL_STAGES) + list(life_types)
    acct_col = pc.if_else(
        pa.array(acct >= 0),
        take(pop.accounts.account_id, np.maximum(acct, 0)),
        pa.nulls(n, pa.string()),
    )
    line = cat(
        '{"event_id":"evt_', digits(np.arange(1, n + 1), 12),
        '","ucic":', _json_str(ucic_col),
        ',"member_id":', _json_str(member_col),
        ',"type":"', take(types, typ),
        '","occurred_at":"', iso_timestamps(pop, day, sec),
        '","account_id":', _json_str(acct_col),
        ',"channel":"', take(list(EVENT_CHANNELS), chan),
        '","attributes":', attrs, "}",
    )  # fmt: skip
    return day, line


def _cities() -> tuple[list[str], list[str], list[str]]:
    """City, state and ZIP prefix of each built-in city."""
    return (
        [c[0] for c in names.CITIES],
        [c[1] for c in names.CITIES],
        [c[2] for c in names.CITIES],
    )


def telemetry(pop: Population, rng: np.random.Generator, first: int, last: int) -> pa.Table:
    """Days with digital activity of the month: one row per customer, day and channel."""
    idx = np.flatnonzero(pop.digital)
    lo = np.maximum(first, np.maximum(pop.digital_day[idx], 0))
    hi = np.minimum(last, pop.stop_day[idx] - 1)
    span = np.maximum(hi - lo + 1, 0)
    p = np.clip(0.04 + 0.5 * unit(mix(idx, 201)) ** 1.6, 0.0, 0.9) * np.minimum(
        pop.activity[idx], 1.5
    )
    p = np.clip(p, 0, 0.95)
    counts = rng.binomial(span, p)
    cust = np.repeat(idx, counts)
    lo_r = np.repeat(lo, counts)
    span_r = np.repeat(span, counts)
    day = lo_r + (rng.random(len(cust)) * span_r).astype(np.int64)
    code = np.unique(cust * 4096 + day)
    cust, day = code // 4096, code % 4096
    mobile = rng.random(len(cust)) < pop.mobile_pref[cust]
    both = rng.random(len(cust)) < 0.08
    cust2 = np.concatenate([cust, cust[both]])
    day2 = np.concatenate([day, day[both]])
    chan = np.concatenate([np.where(mobile, 1, 0), np.where(mobile[both], 0, 1)])
    order = np.lexsort((chan, cust2, day2))
    cust2, day2, chan = cust2[order], day2[order], chan[order]
    n = len(cust2)
    billpay_user = unit(mix(cust2, 202)) < 0.35
    p2p_user = unit(mix(cust2, 203)) < 0.4
    rdc_user = unit(mix(cust2, 204)) < 0.25
    member_only = rng.random(n) < 0.02
    ucic = take(pop.ucic, cust2)
    return pa.table(
        {
            "ucic": pc.if_else(pa.array(member_only), pa.nulls(n, pa.string()), ucic),
            "member_id": pc.if_else(
                pa.array(member_only), take(pop.member_id, cust2), pa.nulls(n, pa.string())
            ),
            "date": pa.array((pop.window.epoch_day + day2).astype(np.int32), pa.date32()),
            "channel": take(["web", "mobile"], chan),
            "logins": pa.array(1 + rng.poisson(0.6, n)),
            "bill_pay": pa.array(np.where(billpay_user, rng.poisson(0.25, n), 0)),
            "p2p": pa.array(np.where(p2p_user, rng.poisson(0.3, n), 0)),
            "rdc": pa.array(np.where(rdc_user & (chan == 1), rng.poisson(0.12, n), 0)),
        }
    )


CONSENT_CHANNELS = ("email", "sms", "phone", "push", "in_app", "mail")
CONSENT_PURPOSES = ("marketing", "service", "profiling")


def consents(
    pop: Population, rng: np.random.Generator, email: pa.Array, phone: pa.Array
) -> pa.Table:
    """Initial grants at onboarding for most customers, then some revocations in the window."""
    n = pop.n
    idx = np.arange(n, dtype=np.int64)
    mobile_user = pop.digital & (pop.mobile_pref > 0.5)
    p_channel = {
        "email": np.full(n, 0.92),
        "sms": np.full(n, 0.55),
        "phone": np.full(n, 0.45),
        "push": np.where(mobile_user, 0.8, 0.0),
        "in_app": np.where(pop.digital, 0.7, 0.0),
        "mail": np.full(n, 0.35),
    }
    p_purpose = {"service": 1.0, "marketing": 0.65, "profiling": 0.5}
    rows_c, rows_ch, rows_pu, rows_st, rows_day, rows_src = [], [], [], [], [], []
    nd = pop.window.n_days
    for ci, ch in enumerate(CONSENT_CHANNELS):
        has_channel = unit(mix(idx, 300 + ci)) < p_channel[ch]
        for pi, pu in enumerate(CONSENT_PURPOSES):
            granted = has_channel & (unit(mix(idx, 310 + ci, pi)) < p_purpose[pu])
            who = np.flatnonzero(granted)
            grant_day = np.maximum(pop.since_day[who], -20 * 365)
            rows_c.append(who)
            rows_ch.append(np.full(len(who), ci))
            rows_pu.append(np.full(len(who), pi))
            rows_st.append(np.zeros(len(who), dtype=np.int64))
            rows_day.append(grant_day)
            rows_src.append(np.where(pop.since_day[who] >= 0, 0, 1))
            if pu == "service":
                continue
            revoke = rng.random(len(who)) < (0.06 if pu == "marketing" else 0.03) * max(
                nd / 182.0, 0.3
            )
            r_who = who[revoke]
            lo = np.maximum(grant_day[revoke] + 1, 0)
            r_day = lo + (rng.random(len(r_who)) * np.maximum(nd - lo, 0)).astype(np.int64)
            ok = r_day < nd
            rows_c.append(r_who[ok])
            rows_ch.append(np.full(int(ok.sum()), ci))
            rows_pu.append(np.full(int(ok.sum()), pi))
            rows_st.append(np.ones(int(ok.sum()), dtype=np.int64))
            rows_day.append(r_day[ok])
            rows_src.append(np.where(ch == "email", 3, 2) + np.zeros(int(ok.sum()), dtype=np.int64))
    cust = np.concatenate(rows_c)
    chan = np.concatenate(rows_ch)
    purp = np.concatenate(rows_pu)
    stat = np.concatenate(rows_st)
    day = np.concatenate(rows_day)
    src = np.concatenate(rows_src)
    sec = (pick_seconds(cust, chan, purp, stat)).astype(np.int64)
    order = np.lexsort((purp, chan, cust, sec, day))
    cust, chan, purp, stat, day, src, sec = (
        a[order] for a in (cust, chan, purp, stat, day, src, sec)
    )
    k = len(cust)
    contact = pc.if_else(
        pa.array(chan == 0),
        take(email, cust),
        pc.if_else(
            pa.array((chan == 1) | (chan == 2)), take(phone, cust), pa.nulls(k, pa.string())
        ),
    )
    member_only = rng.random(k) < 0.02
    return pa.table(
        {
            "ucic": pc.if_else(
                pa.array(member_only), pa.nulls(k, pa.string()), take(pop.ucic, cust)
            ),
            "member_id": pc.if_else(
                pa.array(member_only), take(pop.member_id, cust), pa.nulls(k, pa.string())
            ),
            "channel": take(list(CONSENT_CHANNELS), chan),
            "purpose": take(list(CONSENT_PURPOSES), purp),
            "status": take(["granted", "revoked"], stat),
            "changed_at": iso_timestamps(pop, day, sec),
            "source": take(
                ["onboarding", "account_opening", "preference_center", "unsubscribe_link"], src
            ),
            "contact": contact,
        }
    )


def pick_seconds(*keys: I64) -> I64:
    return (8 * 3600 + unit(mix(*keys, 320)) * 13 * 3600).astype(np.int64)
