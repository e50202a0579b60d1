"""Statement descriptors as US banks print them, rendered column-wise.

Card purchases: the network's merchant field (name cut to 22 or 25 characters, processor prefix,
store number), city and state, wrapped in the bank's posting style (``PURCHASE AUTHORIZED ON
05/14 …``, ``CHECKCARD 0514 …``, ``POS DEBIT …``, ``DEBIT CARD PURCHASE - …``, ``RECURRING
PAYMENT …``). ACH entries: NACHA fields in the layouts of the big cores (``ORIG CO NAME:… CO ENTRY
DESCR:… SEC:PPD TRACE#:…``, ``… DES:… ID:… INDN:… CO ID:… PPD``, ``… AUTOPAY PPD ID: …``).
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from sightline.synth import names
from sightline.synth.catalog import SEC_CODES, Catalog
from sightline.synth.population import Population
from sightline.synth.vec import (
    cat,
    digits,
    mix,
    pick,
    random_alnum,
    random_digits,
    take,
    weighted_index,
)

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

# Card posting styles: (prefix with {d} = date, suffix kind, weight).
CARD_STYLES = (
    ("", "", 0.34),
    ("PURCHASE AUTHORIZED ON {md} ", "wf", 0.17),
    ("CHECKCARD {mmdd} ", "ref23", 0.17),
    ("POS DEBIT ", "", 0.1),
    ("DEBIT CARD PURCHASE - ", "", 0.12),
    ("POS PURCHASE {mmdd} ", "", 0.1),
)
RECURRING_STYLES = (
    ("RECURRING PAYMENT AUTHORIZED ON {md} ", "wf", 0.4),
    ("RECURRING PAYMENT ", "", 0.2),
    ("", "", 0.4),
)
REFUND_STYLES = (
    ("PURCHASE RETURN AUTHORIZED ON {md} ", 0.3),
    ("REFUND ", 0.25),
    ("RETURN ", 0.2),
    ("REVERSAL ", 0.1),
    ("CREDIT VOUCHER ", 0.15),
)


class Renderer:
    def __init__(self, pop: Population, catalog: Catalog) -> None:
        self.pop = pop
        self.cat = catalog
        self.ent = catalog.entities
        w = pop.window
        dates = [w.start + timedelta(days=i) for i in range(-3, w.n_days + 1)]
        self._offset = 3
        self.md = pa.array([d.strftime("%m/%d") for d in dates])
        self.mmdd = pa.array([d.strftime("%m%d") for d in dates])
        self.yymmdd = pa.array([d.strftime("%y%m%d") for d in dates])
        self.mdy = pa.array([d.strftime("%m-%d-%y") for d in dates])
        self.mdd = pa.array([d.strftime("%m-%d") for d in dates])
        acct = pop.accounts
        self.card_last4 = pc.utf8_slice_codeunits(pc.fill_null(acct.card_number, "0000"), 12, 16)
        self.acct_last4 = pc.utf8_slice_codeunits(acct.account_number, 8, 12)
        self.name22 = pc.utf8_slice_codeunits(pop.display_name, 0, 22)

    def _date(self, pool: pa.Array, day: I64) -> pa.Array:
        return take(pool, np.clip(day + self._offset, 0, len(pool) - 1))

    def _variant(self, rng: np.random.Generator, cust: I64, ent: I64) -> I64:
        n_var = self.ent.pool_len[ent]
        v = pick(mix(cust, ent, 9), n_var)
        jitter = rng.random(len(cust)) < 0.15
        return np.where(jitter, rng.integers(0, 1 << 30, len(cust)) % n_var, v)

    # -- card ----------------------------------------------------------------------------------
    def card(
        self,
        rng: np.random.Generator,
        cust: I64,
        acct: I64,
        ent: I64,
        day: I64,
        city: I64,
        on_credit_card: B,
        *,
        recurring: bool = False,
    ) -> tuple[pa.Array, I64]:
        """Card descriptors, returned in a new row order (``perm``) grouped by posting style:
        the caller reorders its columns by ``perm`` instead of the strings being reordered."""
        n = len(cust)
        if n == 0:
            return pa.array([], pa.string()), np.zeros(0, dtype=np.int64)
        styles = RECURRING_STYLES if recurring else CARD_STYLES
        style = weighted_index(rng.random(n), [s[2] for s in styles])
        # Credit-card statements carry the merchant field only (an extra, last group).
        style[on_credit_card] = len(styles)
        perm = np.argsort(style.astype(np.int8), kind="stable")
        cust, acct, ent, day, city, style = (x[perm] for x in (cust, acct, ent, day, city, style))
        e = self.ent
        v = self._variant(rng, cust, ent)
        merchant = take(e.pool, e.pool_off[ent] + v)
        loc = take(self.cat.city_pool, city * 2 + (v % 2))
        loc = pc.if_else(pa.array(e.physical[ent]), loc, pa.scalar("", pa.string()))
        # Online merchants print a reference number after "*" in one of their variants.
        with_ref = np.flatnonzero(e.pool_ref[e.pool_off[ent] + v])
        if len(with_ref):
            refs = np.zeros(n, dtype=np.int64)
            refs[with_ref] = np.arange(1, len(with_ref) + 1)
            ref_pool = pa.concat_arrays(
                [pa.array([""], pa.string()), random_alnum(rng, len(with_ref), 9)]
            )
            body = cat(merchant, take(ref_pool, refs), loc)
        else:
            body = cat(merchant, loc)
        auth = day - rng.integers(0, 3, n)
        bounds = np.searchsorted(style, np.arange(len(styles) + 2))
        out: list[pa.Array] = []
        for k in range(len(styles) + 1):
            lo, hi = int(bounds[k]), int(bounds[k + 1])
            if hi == lo:
                continue
            part = body.slice(lo, hi - lo)
            if k == len(styles):
                out.append(part)
                continue
            prefix, suffix, _w = styles[k]
            pieces: list[pa.Array | str] = []
            if "{md}" in prefix:
                a, b = prefix.split("{md}")
                pieces += [a, self._date(self.md, auth[lo:hi]), b]
            elif "{mmdd}" in prefix:
                a, b = prefix.split("{mmdd}")
                pieces += [a, self._date(self.mmdd, auth[lo:hi]), b]
            else:
                pieces.append(prefix)
            pieces.append(part)
            if suffix == "wf":
                pieces += [
                    " S",
                    random_digits(rng, hi - lo, 15),
                    " CARD ",
                    take(self.card_last4, acct[lo:hi]),
                ]
            elif suffix == "ref23":
                pieces += [" ", random_digits(rng, hi - lo, 23)]
            out.append(cat(*pieces))
        return pa.concat_arrays(out), perm

    def refund(self, rng: np.random.Generator, original: pa.Array, day: I64) -> pa.Array:
        n = len(original)
        if n == 0:
            return pa.array([], pa.string())
        # Drop the original posting style: keep the merchant field.
        body = pc.replace_substring_regex(
            original,
            r"^(PURCHASE AUTHORIZED ON \d\d/\d\d |CHECKCARD \d{4} |POS DEBIT |"
            r"DEBIT CARD PURCHASE - |POS PURCHASE \d{4} |"
            r"RECURRING PAYMENT (AUTHORIZED ON \d\d/\d\d )?)",
            "",
        )
        body = pc.replace_substring_regex(body, r" (S\d{15} CARD \d{4}|\d{23})$", "")
        style = weighted_index(rng.random(n), [s[1] for s in REFUND_STYLES])
        out, order = [], []
        for k, (prefix, _w) in enumerate(REFUND_STYLES):
            idx = np.flatnonzero(style == k)
            if not len(idx):
                continue
            part = body.take(pa.array(idx))
            if "{md}" in prefix:
                a, b = prefix.split("{md}")
                out.append(cat(a, self._date(self.md, day[idx]), b, part))
            else:
                out.append(cat(prefix, part))
            order.append(idx)
        return _unscatter(out, order, n)

    # -- ACH -----------------------------------------------------------------------------------
    def ach(self, rng: np.random.Generator, cust: I64, ent: I64, day: I64) -> pa.Array:
        n = len(cust)
        if n == 0:
            return pa.array([], pa.string())
        e = self.ent
        co = take(e.pool, e.pool_off[ent] + pick(mix(cust, ent, 21), e.pool_len[ent]))
        co16 = pc.utf8_rtrim_whitespace(pc.utf8_slice_codeunits(co, 0, 16))
        descr = take(e.descr_pool, e.descr_off[ent] + pick(mix(cust, ent, 22), e.descr_len[ent]))
        coid = take(e.company_id, ent)
        sec = take(list(SEC_CODES), e.sec[ent])
        ind_id = digits(pick(mix(cust, ent, 23), 10**11), 11)
        name = take(self.name22, cust)
        date6 = self._date(self.yymmdd, day - 1)
        layout = weighted_index(rng.random(n), (0.25, 0.3, 0.25, 0.2))
        out, order = [], []
        for k in range(4):
            idx = np.flatnonzero(layout == k)
            if not len(idx):
                continue
            ix = pa.array(idx)
            if k == 0:
                out.append(
                    cat(
                        "ORIG CO NAME:",
                        co16.take(ix),
                        " ORIG ID:",
                        coid.take(ix),
                        " DESC DATE:",
                        date6.take(ix),
                        " CO ENTRY DESCR:",
                        descr.take(ix),
                        " SEC:",
                        sec.take(ix),
                        " TRACE#:",
                        random_digits(rng, len(idx), 15),
                        " EED:",
                        date6.take(ix),
                        " IND ID:",
                        ind_id.take(ix),
                        " IND NAME:",
                        name.take(ix),
                        " TRN: ",
                        random_digits(rng, len(idx), 10),
                        "TC",
                    )
                )
            elif k == 1:
                out.append(
                    cat(
                        co.take(ix),
                        " DES:",
                        descr.take(ix),
                        " ID:",
                        ind_id.take(ix),
                        " INDN:",
                        name.take(ix),
                        " CO ID:",
                        coid.take(ix),
                        " ",
                        sec.take(ix),
                    )
                )
            elif k == 2:
                out.append(
                    cat(co.take(ix), " ", descr.take(ix), " ", sec.take(ix), " ID: ", coid.take(ix))
                )
            else:
                out.append(cat(co.take(ix), " ", descr.take(ix)))
            order.append(idx)
        return _unscatter(out, order, n)

    # -- P2P -----------------------------------------------------------------------------------
    def p2p(
        self, rng: np.random.Generator, app: str, credit: bool, cust: I64, day: I64
    ) -> pa.Array:
        n = len(cust)
        if n == 0:
            return pa.array([], pa.string())
        # The counterparty is another (synthetic) person.
        fi = rng.integers(0, len(names.FIRST_NAMES), n)
        li = rng.integers(0, len(names.LAST_NAMES), n)
        first = pc.utf8_upper(take(names.FIRST_NAMES, fi))
        last = pc.utf8_upper(take(names.LAST_NAMES, li))
        person = cat(first, " ", last)
        md = self._date(self.md, day)
        ref10 = random_digits(rng, n, 10)
        if app == "zelle":
            v = rng.integers(0, 3, n)
            word = "FROM " if credit else "TO "
            a = cat("ZELLE ", word, person, " ON ", md, " REF #PP0", random_alnum(rng, n, 7))
            mixed = pc.utf8_title(person)
            b = cat(
                "Zelle payment ",
                "from " if credit else "to ",
                mixed,
                " Conf# ",
                pc.utf8_lower(random_alnum(rng, n, 9)),
            )
            c = cat("ZELLE PAYMENT ", word, person, " ", random_digits(rng, n, 11))
            return _choose3(v, a, b, c)
        if app == "venmo":
            if credit:
                return cat("VENMO CASHOUT ", ref10, " PPD ID: 5264681992")
            return cat("VENMO PAYMENT ", ref10, " WEB ID: 3264681992")
        if app == "cashapp":
            if credit:
                return pa.array(["CASH APP*CASH OUT SAN FRANCISCO CA"] * n, pa.string())
            short = cat(first, " ", pc.utf8_slice_codeunits(last, 0, 1))
            city = take([c[0].upper() for c in self.cat.cities], self.pop.city0[cust])
            return cat("CASH APP*", short, " ", city, " CA")
        if app == "paypal":
            if credit:
                return cat("PAYPAL TRANSFER ", ref10, " PPD ID: PAYPALSD11")
            return cat("PAYPAL INST XFER ", ref10, " WEB ID: PAYPALSI77")
        word = "FROM " if credit else "TO "
        return cat(app.upper(), " PAYMENT ", word, person)

    # -- cash, checks, transfers, fees ---------------------------------------------------------
    def atm(self, rng: np.random.Generator, cust: I64, day: I64, city: I64, foreign: B) -> pa.Array:
        n = len(cust)
        if n == 0:
            return pa.array([], pa.string())
        street = cat(
            pc.cast(pa.array(rng.integers(100, 9900, n)), pa.string()),
            " ",
            pc.utf8_upper(take(names.STREET_NAMES, rng.integers(0, len(names.STREET_NAMES), n))),
            " ",
            pc.utf8_upper(
                take(names.STREET_SUFFIXES, rng.integers(0, len(names.STREET_SUFFIXES), n))
            ),
        )
        loc = take(self.cat.city_pool, city * 2)
        own = cat(
            "ATM WITHDRAWAL ",
            random_digits(rng, n, 6),
            " ",
            self._date(self.md, day),
            " ",
            street,
            loc,
        )
        alt = cat("ATM CASH WITHDRAWAL ", self._date(self.mmdd, day), " ", street, loc)
        other = cat("NON-BANK ATM WITHDRAW ", self._date(self.md, day), " ", street, loc)
        v = rng.integers(0, 2, n)
        mine = pc.if_else(pa.array(v == 0), own, alt)
        return pc.if_else(pa.array(foreign), other, mine)

    def funding(self, rng: np.random.Generator, method: int, n: int) -> pa.Array:
        """Opening deposits that are not ACH: card transfer (1), check (2), cash (3)."""
        if method == 1:
            return cat("ACCOUNT FUNDING CARD TRANSFER REF ", random_alnum(rng, n, 10))
        if method == 2:
            return cat("MOBILE DEPOSIT REF NUMBER :", random_digits(rng, n, 9))
        return take(
            ["BRANCH DEPOSIT - THANK YOU", "DEPOSIT", "COUNTER DEPOSIT"], rng.integers(0, 3, n)
        )

    def check(self, rng: np.random.Generator, numbers: I64) -> pa.Array:
        n = len(numbers)
        num = pc.cast(pa.array(numbers), pa.string())
        v = rng.integers(0, 3, n)
        return _choose3(v, cat("CHECK ", num), cat("CHECK # ", num), cat("CHECK", num))

    def deposit(self, rng: np.random.Generator, digital: B) -> pa.Array:
        n = len(digital)
        mobile = cat("MOBILE DEPOSIT REF NUMBER :", random_digits(rng, n, 9))
        remote = cat(
            "REMOTE ONLINE DEPOSIT # ", pc.cast(pa.array(rng.integers(1, 9, n)), pa.string())
        )
        branch = pc.if_else(
            pa.array(rng.random(n) < 0.5),
            pa.scalar("DEPOSIT", pa.string()),
            pa.scalar("BRANCH DEPOSIT - THANK YOU", pa.string()),
        )
        online = pc.if_else(pa.array(rng.random(n) < 0.6), mobile, remote)
        return pc.if_else(pa.array(digital), online, branch)

    def transfer(
        self, rng: np.random.Generator, day: I64, other: I64, *, outgoing: bool
    ) -> pa.Array:
        n = len(day)
        last4 = take(self.acct_last4, other)
        kind = take(["SAV", "CHK"], (self.pop.accounts.product[other] != 1).astype(np.int64))
        word = "TO" if outgoing else "FROM"
        a = cat(
            f"ONLINE TRANSFER {word} ",
            kind,
            " XXXX",
            last4,
            " REF #IB0",
            random_alnum(rng, n, 7),
            " ON ",
            self._date(self.md, day),
        )
        b = cat(f"ONLINE BANKING TRANSFER {word} ", kind, " ", last4)
        c = cat(f"INTERNET TRANSFER {word} ACCOUNT XXXXXX", last4)
        return _choose3(rng.integers(0, 3, n), a, b, c)

    def own_payment(
        self, rng: np.random.Generator, target: I64, day: I64, *, card: bool
    ) -> pa.Array:
        n = len(target)
        last4 = take(self.acct_last4, target)
        if card:
            a = cat("PAYMENT TO CREDIT CARD XXXX", last4)
            b = cat("ONLINE PAYMENT THANK YOU CARD ", last4)
        else:
            a = cat("LOAN PAYMENT TRANSFER TO LN XXXX", last4)
            b = cat("ONLINE TRANSFER TO LOAN ", last4, " ON ", self._date(self.md, day))
        return pc.if_else(pa.array(rng.random(n) < 0.5), a, b)

    def payment_received(self, rng: np.random.Generator, n: int, *, card: bool) -> pa.Array:
        text = "PAYMENT - THANK YOU" if card else "LOAN PAYMENT RECEIVED"
        return pa.array([text] * n, pa.string()) if n else pa.array([], pa.string())

    def fee(self, rng: np.random.Generator, kind: str, day: I64) -> pa.Array:
        n = len(day)
        if n == 0:
            return pa.array([], pa.string())
        if kind == "overdraft":
            a = cat(
                "OVERDRAFT ITEM FEE FOR ACTIVITY OF ",
                self._date(self.mdd, day),
                " ELECTRONIC TRANSACTION POSTING DATE ",
                self._date(self.mdy, day),
                " POSTING SEQ ",
                pc.cast(pa.array(rng.integers(1, 6, n)), pa.string()),
            )
            b = pa.array(["OVERDRAFT FEE"] * n, pa.string())
            c = pa.array(["NSF RETURNED ITEM FEE"] * n, pa.string())
            return _choose3(rng.integers(0, 3, n), a, b, c)
        options = {
            "service": ("MONTHLY SERVICE FEE", "MAINTENANCE FEE", "MONTHLY MAINTENANCE FEE"),
            "foreign": (
                "FOREIGN TRANSACTION FEE",
                "INTL TRANSACTION FEE",
                "INTERNATIONAL PURCHASE FEE",
            ),
            "atm": ("NON-BANK ATM FEE", "ATM FEE-OTHER BANK", "NON-NETWORK ATM FEE"),
        }[kind]
        return take(list(options), rng.integers(0, 3, n))

    def interest(self, rng: np.random.Generator, n: int) -> pa.Array:
        return take(["INTEREST PAYMENT", "INTEREST EARNED", "INTEREST PAID"], rng.integers(0, 3, n))


def _choose3(v: I64, a: pa.Array, b: pa.Array, c: pa.Array) -> pa.Array:
    return pc.if_else(pa.array(v == 0), a, pc.if_else(pa.array(v == 1), b, c))


def _unscatter(parts: list[pa.Array], order: list[I64], n: int) -> pa.Array:
    """Put per-group results back in row order."""
    if not parts:
        return pa.array([""] * n, pa.string())
    joined = pa.concat_arrays(parts)
    pos = np.concatenate(order)
    inverse = np.empty(n, dtype=np.int64)
    inverse[pos] = np.arange(n, dtype=np.int64)
    return joined.take(pa.array(inverse))
