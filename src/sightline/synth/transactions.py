"""Transactions, one month at a time, as column arrays; descriptors rendered by
:mod:`sightline.synth.descriptors`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from sightline.enrich.kinds import KINDS
from sightline.ingest.schemas import CHANNELS
from sightline.synth import descriptors as d
from sightline.synth import names
from sightline.synth.catalog import SEGMENT_INDEX, Catalog, Segment
from sightline.synth.population import NEVER, PRODUCT_INDEX, Population, held_payment_days
from sightline.synth.vec import mix, pick, unit, weighted_index, zipf_weights

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

KIND = {k: i for i, k in enumerate(KINDS)}
CHANNEL = {c: i for i, c in enumerate(CHANNELS)}

# Monthly card-purchase rates: base for individuals, base for businesses, trait → extra rate.
RATES: dict[str, tuple[float, float, dict[str, float]]] = {
    "groceries": (4.6, 1.0, {"parent": 1.5}),
    "superstores": (2.3, 2.0, {"parent": 1.0}),
    "coffee": (0.3, 0.6, {"coffee_drinker": 7.5}),
    "fast_food": (2.8, 1.0, {"student": 1.5, "parent": 0.8}),
    "restaurants": (1.3, 2.0, {"foodie": 2.5}),
    "pizza": (0.5, 0.4, {"parent": 0.6, "foodie": 0.5}),
    "mexican": (0.45, 0.2, {"foodie": 1.0}),
    "asian": (0.45, 0.2, {"foodie": 1.0}),
    "bars": (0.35, 0.1, {"foodie": 0.6, "student": 0.6}),
    "bakeries": (0.35, 0.3, {"parent": 0.3}),
    "liquor": (0.35, 0.0, {}),
    "delivery": (0.5, 0.2, {"foodie": 1.2, "student": 0.8}),
    "gas": (0.3, 4.0, {"car_owner": 3.1}),
    "convenience": (0.9, 0.5, {"car_owner": 0.3}),
    "pharmacy": (1.0, 0.2, {"parent": 0.5}),
    "online": (1.3, 1.5, {"online_shopper": 2.6}),
    "clothing": (0.7, 0.0, {"parent": 0.3, "online_shopper": 0.3}),
    "department": (0.35, 0.0, {}),
    "discount": (0.9, 0.4, {"parent": 0.4}),
    "home_improvement": (0.35, 1.6, {"homeowner": 0.8}),
    "furniture": (0.12, 0.1, {"homeowner": 0.1}),
    "electronics": (0.18, 0.3, {"gamer": 0.2}),
    "pet_stores": (0.04, 0.0, {"pet_owner": 1.8}),
    "vet": (0.0, 0.0, {"pet_owner": 0.2}),
    "pet_services": (0.0, 0.0, {"pet_owner": 0.3}),
    "video_games": (0.04, 0.0, {"gamer": 2.4}),
    "movies": (0.18, 0.0, {"parent": 0.2, "student": 0.3}),
    "rideshare": (0.35, 0.3, {"traveller": 2.0, "student": 0.8}),
    "airlines": (0.02, 0.1, {"traveller": 0.9}),
    "hotels": (0.02, 0.1, {"traveller": 0.8}),
    "car_rental": (0.0, 0.05, {"traveller": 0.35}),
    "hair": (0.38, 0.0, {}),
    "laundry": (0.18, 0.2, {}),
    "gyms": (0.05, 0.0, {"fitness": 0.9}),
    "baby": (0.01, 0.0, {"parent": 0.25}),
    "toys": (0.08, 0.0, {"parent": 0.6}),
    "childcare": (0.0, 0.0, {"parent": 0.12}),
    "auto_service": (0.1, 0.4, {"car_owner": 0.12}),
    "car_wash": (0.0, 0.2, {"car_owner": 0.25}),
    "car_dealer": (0.002, 0.01, {}),
    "parking": (0.25, 0.4, {"traveller": 0.5}),
    "books": (0.18, 0.1, {"student": 0.5}),
    "jewelry": (0.02, 0.0, {}),
    "moving": (0.004, 0.01, {}),
    "home_services": (0.04, 0.2, {"homeowner": 0.15}),
    "lawn": (0.0, 0.1, {"homeowner": 0.3}),
    "florists": (0.05, 0.05, {}),
    "gifts": (0.14, 0.0, {"online_shopper": 0.1}),
    "mini_golf": (0.04, 0.0, {"parent": 0.15}),
    "bowling": (0.04, 0.0, {"parent": 0.1}),
    "recreation": (0.08, 0.0, {"parent": 0.2}),
    "dentists": (0.08, 0.0, {}),
    "doctors": (0.12, 0.0, {"parent": 0.1}),
    "sporting": (0.12, 0.0, {"fitness": 0.4}),
    "hobbies": (0.18, 0.0, {"gamer": 0.2}),
    "beauty": (0.28, 0.0, {}),
    "office": (0.04, 2.2, {"student": 0.2}),
    "shipping": (0.04, 2.2, {}),
    "secondhand": (0.08, 0.0, {}),
    "transit": (0.18, 0.0, {"student": 2.0}),
    "tuition": (0.0, 0.0, {}),
}
# Life event → (segment, extra monthly rate, window start offset, window end offset) in days.
EVENT_BOOSTS: dict[str, tuple[tuple[str, float, int, int], ...]] = {
    "new_mover": (
        ("moving", 3.0, -10, 10),
        ("home_improvement", 4.0, 0, 75),
        ("furniture", 1.5, 0, 75),
        ("home_services", 1.0, 0, 90),
    ),
    "new_baby": (("baby", 3.0, 0, 180), ("toys", 1.0, 0, 180), ("pharmacy", 1.0, 0, 120)),
    "wedding": (
        ("jewelry", 1.2, -120, -20),
        ("florists", 2.0, -10, 0),
        ("recreation", 1.0, -90, -30),
    ),
    "college": (("books", 2.0, 0, 30), ("tuition", 0.3, 20, 200)),
    "new_vehicle": (("gas", 1.0, 0, 365), ("car_wash", 0.5, 0, 365)),
}
# Life event → (segment, days from the event) for one purchase that marks it.
EVENT_MARKERS = {
    "new_mover": ("moving", 0),
    "new_baby": ("baby", 3),
    "wedding": ("jewelry", -30),
    "new_vehicle": ("car_dealer", 0),
    "college": ("tuition", 0),
}


@dataclass
class Rows:
    cust: I64
    acct: I64
    day: I64
    cents: I64
    credit: B
    channel: I64
    kind: I64
    ent: I64
    card: B
    desc: pa.Array

    @staticmethod
    def concat(parts: list[Rows]) -> Rows:
        parts = [p for p in parts if len(p.cust)]
        if not parts:
            z = np.zeros(0, dtype=np.int64)
            return Rows(
                z, z, z, z, z.astype(bool), z, z, z, z.astype(bool), pa.array([], pa.string())
            )
        return Rows(
            cust=np.concatenate([p.cust for p in parts]),
            acct=np.concatenate([p.acct for p in parts]),
            day=np.concatenate([p.day for p in parts]),
            cents=np.concatenate([p.cents for p in parts]),
            credit=np.concatenate([p.credit for p in parts]),
            channel=np.concatenate([p.channel for p in parts]),
            kind=np.concatenate([p.kind for p in parts]),
            ent=np.concatenate([p.ent for p in parts]),
            card=np.concatenate([p.card for p in parts]),
            desc=pa.concat_arrays([p.desc for p in parts]),
        )

    def subset(self, idx: I64) -> Rows:
        return Rows(
            self.cust[idx],
            self.acct[idx],
            self.day[idx],
            self.cents[idx],
            self.credit[idx],
            self.channel[idx],
            self.kind[idx],
            self.ent[idx],
            self.card[idx],
            self.desc.take(pa.array(idx)),
        )


def _rows(
    cust: I64,
    acct: I64,
    day: I64,
    cents: I64,
    *,
    credit: bool | B,
    channel: str,
    kind: str,
    ent: I64 | int,
    desc: pa.Array,
    card: bool | B = False,
) -> Rows:
    n = len(cust)
    return Rows(
        cust=cust,
        acct=acct,
        day=day,
        cents=np.maximum(cents, 1).astype(np.int64),
        credit=np.broadcast_to(np.asarray(credit, dtype=bool), (n,)).copy(),
        channel=np.full(n, CHANNEL[channel], dtype=np.int64),
        kind=np.full(n, KIND[kind], dtype=np.int64),
        ent=np.broadcast_to(np.asarray(ent, dtype=np.int64), (n,)).copy(),
        card=np.broadcast_to(np.asarray(card, dtype=bool), (n,)).copy(),
        desc=desc,
    )


class MonthGenerator:
    """Generates the transactions of each month of the window for a population."""

    def __init__(self, pop: Population, catalog: Catalog, seed: int) -> None:
        self.pop = pop
        self.cat = catalog
        self.seed = seed
        self.render = d.Renderer(pop, catalog)
        n = pop.n
        self.idx = np.arange(n, dtype=np.int64)
        self.seg_by_key = {s.key: s for s in catalog.segments}
        self.scale = np.clip(pop.income_cents / 6_400_000, 0.35, 4.0) ** 0.35
        self.check_no = pop.first_check.copy()
        self.rates = self._rates()
        self._zipf_cache: dict[int, npt.NDArray[np.float64]] = {}
        self.abroad = np.zeros(0, dtype=bool)  # of the last card purchases generated
        keys = [sg.key for sg in catalog.segments]
        self.first_purchase_segment = next(
            (k for k in ("groceries", "fast_food", "coffee", "superstores") if k in keys), keys[0]
        )
        self._subscriptions()

    # -- set-up -------------------------------------------------------------------------------
    def _rates(self) -> dict[str, npt.NDArray[np.float64]]:
        pop = self.pop
        out = {}
        for seg in self.cat.segments:
            base_i, base_b, extra = RATES.get(seg.key, (0.0, 0.0, {}))
            rate = np.where(pop.is_business, base_b, base_i).astype(np.float64)
            for trait, add in extra.items():
                rate = rate + add * pop.traits[trait]
            out[seg.key] = rate * pop.activity
        return out

    def _subscriptions(self) -> None:
        pop, c = self.pop, self.cat
        n = pop.n
        k = 5
        self.sub_ent = np.full((n, k), -1, dtype=np.int64)
        self.sub_cents = np.zeros((n, k), dtype=np.int64)
        if len(c.subscriptions):
            count = np.minimum(
                np.random.default_rng([self.seed, 7]).poisson(
                    1.2 + 0.8 * pop.traits["online_shopper"] + 0.6 * pop.traits["gamer"]
                ),
                k - 1,
            )
            for j in range(k - 1):
                has = count > j
                pos = pick(mix(self.idx, 31, j, self.seed), len(c.subscriptions))
                self.sub_ent[has, j] = c.subscriptions[pos[has]]
                self.sub_cents[has, j] = c.subscription_cents[pos[has]]
        if len(c.gyms_subscription):
            fit = pop.traits["fitness"]
            pos = pick(mix(self.idx, 32, self.seed), len(c.gyms_subscription))
            self.sub_ent[fit, k - 1] = c.gyms_subscription[pos[fit]]
            self.sub_cents[fit, k - 1] = np.where(pick(mix(self.idx, 33), 3)[fit] == 0, 2499, 1000)
        self.sub_day = (pick(mix(self.idx[:, None], np.arange(k)[None, :], 34), 28) + 1).astype(
            np.int64
        )

    # -- month ---------------------------------------------------------------------------------
    def month(
        self, m: int, first: int, last: int, part: tuple[int, int, int] | None = None
    ) -> Rows:
        """Transactions of month ``m`` (days ``first``..``last``); ``part`` = (index, from day,
        to day) restricts them to a slice of the month, so a big FI fits in memory."""
        k, a, b = part if part is not None else (0, first, last)
        rng = np.random.default_rng([self.seed, 1000 + m, k])
        pop = self.pop
        lo = np.maximum(a, pop.start_day)
        hi = np.minimum(b, pop.stop_day - 1)
        card_lo = np.maximum(lo, pop.card_day)
        parts: list[Rows] = []
        card_rows = self._card_purchases(rng, first, last, card_lo, hi)
        parts.append(card_rows)
        parts.append(self._refunds(rng, card_rows, b))
        parts.append(self._foreign_fees(rng, card_rows))
        parts.append(self._subscription_rows(rng, first, card_lo, hi))
        parts.append(self._bills(rng, first, lo, hi))
        parts.append(self._income(rng, first, last, lo, hi, (a, b)))
        parts.append(self._held_away(rng, m, lo, hi))
        parts.append(self._p2p(rng, m, lo, hi))
        parts.append(self._atm(rng, card_lo, hi))
        parts.append(self._funding(rng, lo, hi))
        parts.append(self._checks(rng, lo, hi))
        parts.append(self._transfers(rng, first, lo, hi))
        parts.append(self._fees_interest(rng, last, lo, hi))
        return Rows.concat(parts)

    # -- helpers -------------------------------------------------------------------------------
    @staticmethod
    def _spread(
        rng: np.random.Generator, rate: npt.NDArray[np.float64], lo: I64, hi: I64
    ) -> tuple[I64, I64]:
        """Poisson counts at ``rate`` per 30.4 days over [lo, hi] per customer; rows and days."""
        span = np.maximum(hi - lo + 1, 0)
        counts = rng.poisson(np.maximum(rate, 0) * span / 30.4)
        cust = np.repeat(np.arange(len(rate), dtype=np.int64), counts)
        day = lo[cust] + (rng.random(len(cust)) * span[cust]).astype(np.int64)
        return cust, day

    def _city(self, cust: I64, day: I64) -> I64:
        pop = self.pop
        return np.where(day >= pop.move_day[cust], pop.city1[cust], pop.city0[cust])

    def _choose(self, rng: np.random.Generator, seg: Segment, cust: I64, city: I64) -> I64:
        """A merchant of the segment: mostly one of the customer's three favourites."""
        si = SEGMENT_INDEX[seg.key]
        n = len(cust)
        rank = weighted_index(rng.random(n), (0.45, 0.25, 0.15, 0.15))
        h = mix(cust, si, np.minimum(rank, 3), self.seed)
        explore = rank == 3
        h = np.where(explore, rng.integers(0, 1 << 62, n).astype(np.uint64), h)
        # Three independent 21-bit uniforms from one hash: local or chain, which chain, which local.
        mask21 = np.uint64((1 << 21) - 1)
        u_local = (h & mask21).astype(np.float64) / (1 << 21)
        u_chain = ((h >> np.uint64(21)) & mask21).astype(np.float64) / (1 << 21)
        u_pick = ((h >> np.uint64(42)) & mask21).astype(np.float64) / (1 << 21)
        grid = seg.locals_by_city
        per_city = (grid >= 0).sum(axis=1)
        n_local = per_city[city]
        local_pick = grid[city, (u_pick * np.maximum(n_local, 1)).astype(np.int64)]
        if len(seg.chains):
            chain = seg.chains[weighted_index(u_chain, self._zipf(len(seg.chains)))]
        else:
            chain = np.full(n, -1, dtype=np.int64)
        want_local = u_local < seg.local_share
        ent = np.where((want_local & (n_local > 0)) | (chain < 0), local_pick, chain)
        return np.where((n_local == 0) & (chain < 0), -1, ent)

    def _zipf(self, n: int) -> npt.NDArray[np.float64]:
        if n not in self._zipf_cache:
            self._zipf_cache[n] = zipf_weights(n, 1.05)
        return self._zipf_cache[n]

    def _card_account(self, rng: np.random.Generator, cust: I64) -> tuple[I64, B]:
        pop = self.pop
        cc = pop.credit_card[cust]
        use_cc = (cc >= 0) & (rng.random(len(cust)) < 0.3)
        return np.where(use_cc, cc, pop.checking[cust]), use_cc

    # -- families ------------------------------------------------------------------------------
    def _card_purchases(
        self, rng: np.random.Generator, first: int, last: int, lo: I64, hi: I64
    ) -> Rows:
        pop = self.pop
        self.abroad = np.zeros(0, dtype=bool)
        cs, ds, es, amts = [], [], [], []
        for seg in self.cat.segments:
            rate = self.rates[seg.key]
            streams = [self._spread(rng, rate, lo, hi)]
            for event, boosts in EVENT_BOOSTS.items():
                ev = pop.life[event]
                for key, extra, a, b in boosts:
                    if key != seg.key:
                        continue
                    has = ev < NEVER
                    blo = np.where(has, np.maximum(lo, ev + a), 1)
                    bhi = np.where(has, np.minimum(hi, ev + b), 0)
                    streams.append(self._spread(rng, np.where(has, extra, 0.0), blo, bhi))
            for event, (key, offset) in EVENT_MARKERS.items():
                if key != seg.key:
                    continue
                ev = pop.life[event]
                card_from = np.clip(pop.card_day, 0, pop.window.n_days - 1)
                at = np.clip(ev + offset, card_from, pop.window.n_days - 1)
                who = np.flatnonzero((ev < NEVER) & (at >= lo) & (at <= hi))
                streams.append((who, at[who]))
            if seg.key == self.first_purchase_segment:
                # A new customer's first card purchase is on the funnel's first_card_purchase day.
                cd = pop.card_day
                who = np.flatnonzero((pop.since_day >= 0) & (cd >= lo) & (cd <= hi))
                streams.append((who, cd[who]))
            cust = np.concatenate([s[0] for s in streams])
            day = np.concatenate([s[1] for s in streams])
            if not len(cust):
                continue
            city = self._city(cust, day)
            ent = self._choose(rng, seg, cust, city)
            ok = ent >= 0
            cust, day, ent = cust[ok], day[ok], ent[ok]
            price = 0.75 + 0.55 * unit(mix(ent, 17))
            amt = seg.median * np.exp(rng.normal(0, seg.sigma, len(cust))) * price
            amt = amt * self.scale[cust]
            cs.append(cust)
            ds.append(day)
            es.append(ent)
            amts.append((amt * 100).astype(np.int64))
        if not cs:
            return Rows.concat([])
        cust = np.concatenate(cs)
        day = np.concatenate(ds)
        ent = np.concatenate(es)
        cents = np.concatenate(amts)
        # Some customers pay with the PAYPAL * twin of an online merchant.
        if self.cat.paypal_of:
            keys = np.array(sorted(self.cat.paypal_of), dtype=np.int64)
            vals = np.array([self.cat.paypal_of[k] for k in keys], dtype=np.int64)
            pos = np.searchsorted(keys, ent)
            hit = (pos < len(keys)) & (keys[np.minimum(pos, len(keys) - 1)] == ent)
            hit &= rng.random(len(ent)) < 0.18
            ent = np.where(hit, vals[np.minimum(pos, len(keys) - 1)], ent)
        acct, use_cc = self._card_account(rng, cust)
        n_us = len(self.cat.cities)
        trip = np.isin(ent, self._travel_entities())
        travel = trip | (rng.random(len(cust)) < 0.03)
        city = np.where(travel, rng.integers(0, n_us, len(cust)), self._city(cust, day))
        # A quarter of travel bookings and a few purchases on the trip happen abroad.
        abroad = (trip & (rng.random(len(cust)) < 0.25)) | (travel & (rng.random(len(cust)) < 0.1))
        abroad &= self.cat.entities.physical[ent]  # online merchants print no place
        n_abroad = len(names.FOREIGN_CITIES)
        city = np.where(abroad, n_us + rng.integers(0, n_abroad, len(cust)), city)
        desc, perm = self.render.card(rng, cust, acct, ent, day, city, use_cc)
        cust, acct, day, cents, ent = (x[perm] for x in (cust, acct, day, cents, ent))
        self.abroad = abroad[perm]
        return _rows(
            cust,
            acct,
            day,
            cents,
            credit=False,
            channel="card",
            kind="card_purchase",
            ent=ent,
            desc=desc,
            card=True,
        )

    def _travel_entities(self) -> I64:
        out = [
            self.seg_by_key[k].chains
            for k in ("airlines", "hotels", "car_rental")
            if k in self.seg_by_key
        ]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    def _refunds(self, rng: np.random.Generator, card: Rows, last: int) -> Rows:
        pick_rows = np.flatnonzero(rng.random(len(card.cust)) < 0.015)
        later = card.day[pick_rows] + rng.integers(2, 12, len(pick_rows))
        keep = later <= last
        rows = pick_rows[keep]
        sub = card.subset(rows)
        full = rng.random(len(rows)) < 0.6
        cents = np.where(
            full, sub.cents, (sub.cents * rng.uniform(0.1, 0.9, len(rows))).astype(np.int64)
        )
        desc = self.render.refund(rng, sub.desc, later[keep])
        return _rows(
            sub.cust,
            sub.acct,
            later[keep],
            cents,
            credit=True,
            channel="card",
            kind="refund",
            ent=sub.ent,
            desc=desc,
            card=True,
        )

    def _foreign_fees(self, rng: np.random.Generator, card: Rows) -> Rows:
        # Purchases abroad on the debit card pay a foreign transaction fee.
        on_debit = card.acct == self.pop.checking[card.cust]
        abroad = self.abroad if len(self.abroad) == len(on_debit) else np.zeros_like(on_debit)
        rows = np.flatnonzero(abroad & on_debit)
        cents = np.maximum((card.cents[rows] * 0.03).astype(np.int64), 1)
        return _rows(
            card.cust[rows],
            card.acct[rows],
            card.day[rows],
            cents,
            credit=False,
            channel="fee",
            kind="fee",
            ent=self.cat.generic["fee_foreign"],
            desc=self.render.fee(rng, "foreign", card.day[rows]),
        )

    def _subscription_rows(self, rng: np.random.Generator, first: int, lo: I64, hi: I64) -> Rows:
        day = first + self.sub_day - 1
        ok = (self.sub_ent >= 0) & (day >= lo[:, None]) & (day <= hi[:, None])
        cust, j = np.nonzero(ok)
        cust = cust.astype(np.int64)
        ent = self.sub_ent[cust, j]
        dd = day[cust, j]
        acct, use_cc = self._card_account(rng, cust)
        cents = self.sub_cents[cust, j]
        desc, perm = self.render.card(
            rng, cust, acct, ent, dd, self.pop.city0[cust], use_cc, recurring=True
        )
        cust, acct, ent, dd, cents = (x[perm] for x in (cust, acct, ent, dd, cents))
        return _rows(
            cust,
            acct,
            dd,
            cents,
            credit=False,
            channel="card",
            kind="card_purchase",
            ent=ent,
            desc=desc,
            card=True,
        )

    def _bills(self, rng: np.random.Generator, first: int, lo: I64, hi: I64) -> Rows:
        pop, c = self.pop, self.cat
        n = pop.n
        parts = []
        mid = np.minimum(first + 14, pop.window.n_days - 1)
        city = self._city(self.idx, np.full(n, mid))
        bills: list[tuple[I64, B, float, float, int]] = []
        for salt, (kind, median) in enumerate(
            (("Electricity & Gas", 135.0), ("Internet & Cable", 85.0), ("Mobile Phone", 95.0))
        ):
            ents = c.utilities.get(kind)
            if ents is None or not len(ents):
                continue
            ent = ents[pick(mix(self.idx, city, 40 + salt, self.seed), len(ents))]
            has = unit(mix(self.idx, 50 + salt)) < (0.9 if salt else 0.75)
            bills.append((ent, has, median, 0.3, 3 + salt * 7))
        water = c.water_by_city[city]
        bills.append((water, pop.traits["homeowner"] | pop.is_business, 55.0, 0.3, 20))
        renter = ~pop.traits["homeowner"] & ~pop.is_business & (pop.age >= 21)
        renter &= unit(mix(self.idx, 60)) < 0.8
        bills.append((c.rent_by_city[city], renter, 1450.0, 0.35, 1))
        for ent, has, median, sigma, dom in bills:
            day = first + dom - 1 + pick(mix(self.idx, ent, 61), 3)
            ok = has & (day >= lo) & (day <= hi)
            cust = np.flatnonzero(ok)
            base = median * np.exp(sigma * (unit(mix(cust, ent[cust], 62)) - 0.5) * 2)
            wiggle = np.exp(rng.normal(0, 0.08, len(cust)))
            cents = (base * wiggle * self.scale[cust] * 100).astype(np.int64)
            ents = ent[cust]
            parts.append(
                _rows(
                    cust,
                    pop.checking[cust],
                    day[cust],
                    cents,
                    credit=False,
                    channel="ach",
                    kind="ach_debit",
                    ent=ents,
                    desc=self.render.ach(rng, cust, ents, day[cust]),
                )
            )
        return Rows.concat(parts)

    def _income(
        self,
        rng: np.random.Generator,
        first: int,
        last: int,
        lo: I64,
        hi: I64,
        span: tuple[int, int],
    ) -> Rows:
        pop, c = self.pop, self.cat
        parts = []
        days = np.arange(span[0], span[1] + 1, dtype=np.int64)
        # Paydays: biweekly on the anchor, semi-monthly on the 15th and last, monthly on the last.
        bi = ((days[None, :] - pop.pay_anchor[:, None]) % 14 == 0) & (pop.pay_freq[:, None] == 0)
        dom = days - first + 1
        semi = (pop.pay_freq[:, None] == 1) & ((dom[None, :] == 15) | (days[None, :] == last))
        mon = (pop.pay_freq[:, None] == 2) & (days[None, :] == last)
        paid = bi | semi | mon
        working = (pop.employer0 >= 0)[:, None] & (days[None, :] < pop.retire_day[:, None])
        paid &= working & (days[None, :] >= np.maximum(lo, pop.payroll_day)[:, None])
        paid &= days[None, :] <= hi[:, None]
        cust, j = np.nonzero(paid)
        cust = cust.astype(np.int64)
        day = days[j]
        # A job change brings a first, off-cycle paycheck from the new employer.
        first_new = np.minimum(pop.job_day + 4, pop.window.n_days - 1)
        extra = np.flatnonzero(
            (pop.job_day < NEVER)
            & (first_new >= np.maximum(lo, pop.payroll_day))
            & (first_new <= hi)
            & (first_new < pop.retire_day)
        )
        cust = np.concatenate([cust, extra])
        day = np.concatenate([day, first_new[extra]])
        employer = np.where(day >= pop.job_day[cust], pop.employer1[cust], pop.employer0[cust])
        periods = np.array([26, 24, 12])[pop.pay_freq[cust]]
        cents = pop.income_cents[cust] / periods * 0.74 * np.exp(rng.normal(0, 0.03, len(cust)))
        cents = cents.astype(np.int64)
        # 15% of employers pay through a payroll processor that prints its own name.
        proc = unit(mix(employer, 71)) < 0.15
        printed = np.where(
            proc, c.payroll_processors[pick(mix(employer, 72), len(c.payroll_processors))], employer
        )
        parts.append(
            _rows(
                cust,
                pop.checking[cust],
                day,
                cents,
                credit=True,
                channel="ach",
                kind="payroll",
                ent=printed,  # the payer the line names: the processor when it prints its own
                desc=self.render.ach(rng, cust, printed, day),
            )
        )
        # Retirees: Social Security and pensions.
        retired = pop.retired | (pop.retire_day < NEVER)
        for ent_of, dom_, median, share in (
            (np.full(pop.n, c.ssa), 3, 1900.0, 1.0),
            (c.pensions[pick(mix(self.idx, 73), len(c.pensions))], 1, 1400.0, 0.55),
        ):
            day_m = np.full(pop.n, first + dom_ - 1)
            just = pop.retire_day < NEVER
            start = np.where(just, pop.retire_day + 3, lo)
            day_m = np.where(
                just & (start > day_m) & (start >= first) & (start <= last), start, day_m
            )
            ok = retired & (unit(mix(self.idx, 74, dom_)) < share)
            ok &= (day_m >= lo) & (day_m <= hi) & (day_m >= np.where(just, pop.retire_day, lo))
            cust = np.flatnonzero(ok)
            cents = (median * (0.6 + 0.8 * unit(mix(cust, 75, dom_))) * 100).astype(np.int64)
            parts.append(
                _rows(
                    cust,
                    pop.checking[cust],
                    day_m[cust],
                    cents,
                    credit=True,
                    channel="ach",
                    kind="ach_credit",
                    ent=ent_of[cust],
                    desc=self.render.ach(rng, cust, ent_of[cust], day_m[cust]),
                )
            )
        # Businesses: card-processor payouts in, payroll and taxes out.
        biz = np.flatnonzero(pop.is_business)
        if len(biz) and len(c.merchant_payouts):
            rate = np.zeros(pop.n)
            rate[biz] = 10.0
            bc, bd = self._spread(rng, rate, lo, hi)
            ent = c.merchant_payouts[pick(mix(bc, 76), len(c.merchant_payouts))]
            cents = (pop.income_cents[bc] / 250 * np.exp(rng.normal(0, 0.5, len(bc)))).astype(
                np.int64
            )
            parts.append(
                _rows(
                    bc,
                    pop.checking[bc],
                    bd,
                    cents,
                    credit=True,
                    channel="ach",
                    kind="ach_credit",
                    ent=ent,
                    desc=self.render.ach(rng, bc, ent, bd),
                )
            )
            rate[biz] = 2.0
            pc_, pd_ = self._spread(rng, rate, lo, hi)
            ent = c.payroll_processors[pick(mix(pc_, 77), len(c.payroll_processors))]
            cents = (pop.income_cents[pc_] / 60 * np.exp(rng.normal(0, 0.2, len(pc_)))).astype(
                np.int64
            )
            parts.append(
                _rows(
                    pc_,
                    pop.checking[pc_],
                    pd_,
                    cents,
                    credit=False,
                    channel="ach",
                    kind="ach_debit",
                    ent=ent,
                    desc=self.render.ach(rng, pc_, ent, pd_),
                )
            )
            tax_day = np.full(pop.n, first + 14)
            ok = pop.is_business & (tax_day >= lo) & (tax_day <= hi)
            tc = np.flatnonzero(ok)
            cents = (pop.income_cents[tc] * 0.02 * np.exp(rng.normal(0, 0.2, len(tc)))).astype(
                np.int64
            )
            parts.append(
                _rows(
                    tc,
                    pop.checking[tc],
                    tax_day[tc],
                    cents,
                    credit=False,
                    channel="ach",
                    kind="ach_debit",
                    ent=c.tax,
                    desc=self.render.ach(rng, tc, np.full(len(tc), c.tax), tax_day[tc]),
                )
            )
        return Rows.concat(parts)

    def _held_away(self, rng: np.random.Generator, m: int, lo: I64, hi: I64) -> Rows:
        pop = self.pop
        held = pop.held
        rows, day = held_payment_days(held, pop.window)[m]
        is_p2p = np.array([held.product[i] == "p2p" for i in rows], dtype=bool)
        rows, day = rows[~is_p2p], day[~is_p2p]
        cust = held.cust[rows]
        # Held-away payments keep flowing while the customer banks here (from the first day
        # the account is used until it closes).
        ok = (day >= lo[cust]) & (day <= hi[cust])
        rows, day, cust = rows[ok], day[ok], cust[ok]
        products = np.array([held.product[i] for i in rows], dtype=object)
        vary = np.where(
            np.isin(products, ("credit_card", "crypto", "investment", "deposit")), 0.45, 0.01
        )
        cents = (held.cents[rows] * np.exp(rng.normal(0, 1, len(rows)) * vary)).astype(np.int64)
        ent = held.entity[rows]
        return _rows(
            cust,
            pop.checking[cust],
            day,
            cents,
            credit=False,
            channel="ach",
            kind="ach_debit",
            ent=ent,
            desc=self.render.ach(rng, cust, ent, day),
        )

    def _p2p(self, rng: np.random.Generator, m: int, lo: I64, hi: I64) -> Rows:
        pop, c = self.pop, self.cat
        held = pop.held
        parts = []
        rows = np.flatnonzero(np.array([p == "p2p" for p in held.product], dtype=bool))
        if not len(rows):
            return Rows.concat([])
        by_sent = {sent: (app, recv) for app, (sent, recv) in c.p2p_apps.items()}
        for sent_ent, (app, recv_ent) in sorted(by_sent.items()):
            r = rows[held.entity[rows] == sent_ent]
            cust_all = held.cust[r]
            for credit, rate_v in ((False, 2.2), (True, 1.3)):
                rate = np.zeros(pop.n)
                rate[cust_all] = rate_v
                cust, day = self._spread(rng, rate, lo, hi)
                if not credit:
                    # A monthly payment (a rent or bill split) on the app's pay day, so every
                    # held-away P2P app shows in the window.
                    due, due_day = held_payment_days(held, pop.window)[m]
                    due_mask = held.entity[due] == sent_ent
                    due, due_day = due[due_mask], due_day[due_mask]
                    dc = held.cust[due]
                    keep = (due_day >= lo[dc]) & (due_day <= hi[dc])
                    cust = np.concatenate([cust, dc[keep]])
                    day = np.concatenate([day, due_day[keep]])
                whole = rng.random(len(cust)) < 0.7
                amt = 40 * np.exp(rng.normal(0, 0.8, len(cust)))
                cents = np.where(whole, np.maximum(np.round(amt), 1) * 100, amt * 100).astype(
                    np.int64
                )
                ent = recv_ent if credit else sent_ent
                parts.append(
                    _rows(
                        cust,
                        pop.checking[cust],
                        day,
                        cents,
                        credit=credit,
                        channel="p2p",
                        kind="p2p",
                        ent=ent,
                        desc=self.render.p2p(rng, app, credit, cust, day),
                    )
                )
        return Rows.concat(parts)

    def _funding(self, rng: np.random.Generator, lo: I64, hi: I64) -> Rows:
        """The opening deposit of each new customer, on the account_funded day."""
        pop, c = self.pop, self.cat
        day = pop.start_day
        who = np.flatnonzero((pop.since_day >= 0) & (day >= lo) & (day <= hi))
        method = pop.fund_method[who]
        out = []
        for code, (channel, kind, generic) in enumerate(
            (
                ("ach", "ach_credit", "transfer_own"),
                ("transfer", "transfer", "transfer_own"),
                ("check", "check", "check_deposit"),
                ("other", "transfer", "cash_deposit"),
            )
        ):
            cw = who[method == code]
            if code == 0:
                ent = pop.fund_ent[cw]
                cw, ent = cw[ent >= 0], ent[ent >= 0]
                desc = self.render.ach(rng, cw, ent, day[cw])
            else:
                ent = np.full(len(cw), c.generic[generic], dtype=np.int64)
                desc = self.render.funding(rng, code, len(cw))
            out.append(
                _rows(cw, pop.checking[cw], day[cw], pop.fund_cents[cw], credit=True,
                      channel=channel, kind=kind, ent=ent, desc=desc)
            )  # fmt: skip
        return Rows.concat(out)

    def _atm(self, rng: np.random.Generator, lo: I64, hi: I64) -> Rows:
        pop = self.pop
        rate = np.where(pop.is_business, 0.3, np.where(pop.age > 55, 1.4, 0.8)) * pop.activity
        cust, day = self._spread(rng, rate, lo, hi)
        cents = rng.choice(np.array([20, 40, 60, 80, 100, 100, 200, 300]), len(cust)) * 100
        foreign = rng.random(len(cust)) < 0.25
        desc = self.render.atm(rng, cust, day, self._city(cust, day), foreign)
        out = [
            _rows(
                cust,
                pop.checking[cust],
                day,
                cents,
                credit=False,
                channel="atm",
                kind="atm",
                ent=self.cat.generic["atm"],
                desc=desc,
                card=True,
            )
        ]
        fc = np.flatnonzero(foreign)
        out.append(
            _rows(
                cust[fc],
                pop.checking[cust[fc]],
                day[fc],
                np.full(len(fc), 300),
                credit=False,
                channel="fee",
                kind="fee",
                ent=self.cat.generic["fee_atm"],
                desc=self.render.fee(rng, "atm", day[fc]),
            )
        )
        return Rows.concat(out)

    def _checks(self, rng: np.random.Generator, lo: I64, hi: I64) -> Rows:
        pop = self.pop
        rate = np.where(pop.is_business, 3.0, np.where(pop.age > 50, 0.6, 0.2))
        cust, day = self._spread(rng, rate, lo, hi)
        order = np.lexsort((day, cust))
        cust, day = cust[order], day[order]
        # Check numbers run on per customer across months.
        first_of = np.searchsorted(cust, cust, side="left")
        seq = np.arange(len(cust)) - first_of
        numbers = self.check_no[cust] + seq
        np.add.at(self.check_no, cust, 1)
        cents = (np.exp(rng.normal(np.log(180), 0.9, len(cust))) * 100).astype(np.int64)
        out = [
            _rows(
                cust,
                pop.checking[cust],
                day,
                cents,
                credit=False,
                channel="check",
                kind="check",
                ent=self.cat.generic["check_payment"],
                desc=self.render.check(rng, numbers),
            )
        ]
        rate = np.where(pop.is_business, 4.0, 0.35)
        dc, dd = self._spread(rng, rate, lo, hi)
        cents = (np.exp(rng.normal(np.log(260), 0.9, len(dc))) * 100).astype(np.int64)
        out.append(
            _rows(
                dc,
                pop.checking[dc],
                dd,
                cents,
                credit=True,
                channel="check",
                kind="check",
                ent=self.cat.generic["check_deposit"],
                desc=self.render.deposit(rng, pop.digital[dc]),
            )
        )
        return Rows.concat(out)

    def _transfers(self, rng: np.random.Generator, first: int, lo: I64, hi: I64) -> Rows:
        pop, c = self.pop, self.cat
        out = []
        has_sav = pop.savings >= 0
        rate = np.where(has_sav, 1.3, 0.0)
        cust, day = self._spread(rng, rate, lo, hi)
        to_sav = rng.random(len(cust)) < 0.75
        cents = (np.exp(rng.normal(np.log(250), 0.8, len(cust))) * 100).astype(np.int64)
        chk, sav = pop.checking[cust], pop.savings[cust]
        src = np.where(to_sav, chk, sav)
        dst = np.where(to_sav, sav, chk)
        ent = c.generic["transfer_savings"]
        out.append(
            _rows(
                cust,
                src,
                day,
                cents,
                credit=False,
                channel="transfer",
                kind="transfer",
                ent=ent,
                desc=self.render.transfer(rng, day, dst, outgoing=True),
            )
        )
        out.append(
            _rows(
                cust,
                dst,
                day,
                cents,
                credit=True,
                channel="transfer",
                kind="transfer",
                ent=ent,
                desc=self.render.transfer(rng, day, src, outgoing=False),
            )
        )
        # Payments to this FI's own card and loans.
        for acct_of, salt in ((pop.credit_card, 80), (pop.own_loans, 81)):
            dom = pick(mix(self.idx, salt), 26) + 2
            day_m = first + dom - 1
            ok = (acct_of >= 0) & (day_m >= lo) & (day_m <= hi)
            cust = np.flatnonzero(ok)
            target = acct_of[cust]
            base = pop.accounts.base_cents[target]
            frac = 0.08 if salt == 80 else 0.012
            cents = np.maximum(base * frac * np.exp(rng.normal(0, 0.3, len(cust))), 2500).astype(
                np.int64
            )
            out.append(
                _rows(
                    cust,
                    pop.checking[cust],
                    day_m[cust],
                    cents,
                    credit=False,
                    channel="transfer",
                    kind="transfer",
                    ent=c.generic["transfer_own"],
                    desc=self.render.own_payment(rng, target, day_m[cust], card=salt == 80),
                )
            )
            out.append(
                _rows(
                    cust,
                    target,
                    day_m[cust],
                    cents,
                    credit=True,
                    channel="transfer",
                    kind="transfer",
                    ent=c.generic["transfer_own"],
                    desc=self.render.payment_received(rng, len(cust), card=salt == 80),
                )
            )
        return Rows.concat(out)

    def _fees_interest(self, rng: np.random.Generator, last: int, lo: I64, hi: I64) -> Rows:
        pop, c = self.pop, self.cat
        out = []
        at_end = np.full(pop.n, last)
        ok = (at_end >= lo) & (at_end <= hi) & (unit(mix(self.idx, 90)) < 0.12)
        cust = np.flatnonzero(ok)
        out.append(
            _rows(
                cust,
                pop.checking[cust],
                at_end[cust],
                np.where(pop.is_business[cust], 1500, 1200),
                credit=False,
                channel="fee",
                kind="fee",
                ent=c.generic["fee_service"],
                desc=self.render.fee(rng, "service", at_end[cust]),
            )
        )
        rate = np.where(pop.income_cents < 4_000_000, 0.12, 0.02)
        cust, day = self._spread(rng, rate, lo, hi)
        out.append(
            _rows(
                cust,
                pop.checking[cust],
                day,
                np.full(len(cust), 3500),
                credit=False,
                channel="fee",
                kind="fee",
                ent=c.generic["fee_overdraft"],
                desc=self.render.fee(rng, "overdraft", day),
            )
        )
        # Interest on savings-type accounts at month end.
        acc = pop.accounts
        prods = (
            PRODUCT_INDEX["savings"],
            PRODUCT_INDEX["money_market"],
            PRODUCT_INDEX["business_savings"],
        )
        a = np.flatnonzero(np.isin(acc.product, prods))
        owner = acc.owner[a]
        ok = (
            (last >= acc.open_day[a])
            & (last < acc.close_day[a])
            & (last >= lo[owner])
            & (last <= hi[owner])
        )
        a, owner = a[ok], owner[ok]
        apy = 0.005 + 0.04 * unit(mix(a, 91))
        cents = np.maximum((acc.base_cents[a] * apy / 12).astype(np.int64), 1)
        out.append(
            _rows(
                owner,
                a,
                np.full(len(a), last),
                cents,
                credit=True,
                channel="interest",
                kind="interest",
                ent=c.generic["interest"],
                desc=self.render.interest(rng, len(a)),
            )
        )
        return Rows.concat(out)
