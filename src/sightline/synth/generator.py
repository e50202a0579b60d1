"""``generate()``: a whole synthetic FI — the six input feeds plus the ground truth.

Layout under the output directory (feed folders are what the ingestion commands take)::

    customers/customers-<end>.csv        accounts/accounts-YYYY-MM.csv
    transactions/transactions-YYYY-MM.csv events/events-YYYY-MM.ndjson
    telemetry/telemetry-YYYY-MM.csv      consents/consents-<end>.csv
    truth/transactions_truth-YYYY-MM.parquet, held_away.parquet, life_events.parquet,
          funnel.parquet, customers_truth.parquet

``--format parquet`` writes the feeds as typed Parquet (events stay NDJSON); the truth is always
Parquet. The same seed gives byte-identical files.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from sightline.errors import BadRequest
from sightline.ingest.schemas import CHANNELS, FEEDS
from sightline.synth import activity, names
from sightline.synth.catalog import Catalog, DirectoryLike, build_catalog
from sightline.synth.population import (
    ACCOUNT_PRODUCTS,
    FUNNEL_STAGES,
    LIFE_EVENTS,
    LOAN_PRODUCTS,
    NEVER,
    TRAITS,
    Population,
    Window,
    build_population,
)
from sightline.synth.transactions import KINDS, MonthGenerator, Rows
from sightline.synth.vec import cat, digits, mix, money, take, unit

Format = Literal["csv", "parquet"]
DEFAULT_END_DATE = date(2026, 10, 31)
MAX_CUSTOMERS = 50_000_000
MAX_MONTHS = 120
MERCHANT_KINDS = ("card_purchase", "refund", "ach_debit")


@dataclass(frozen=True)
class SynthConfig:
    customers: int
    months: int
    seed: int
    out: Path
    format: Format = "csv"
    end_date: date = DEFAULT_END_DATE

    def validate(self) -> None:
        problems = []
        if not 1 <= self.customers <= MAX_CUSTOMERS:
            problems.append(f"Field customers must be between 1 and {MAX_CUSTOMERS:,}.")
        if not 1 <= self.months <= MAX_MONTHS:
            problems.append(f"Field months must be between 1 and {MAX_MONTHS}.")
        if not 0 <= self.seed < 2**63:
            problems.append("Field seed must be a non-negative integer.")
        if self.format not in ("csv", "parquet"):
            problems.append("Field format must be csv or parquet.")
        if not date(1990, 1, 1) <= self.end_date <= date(2100, 12, 31):
            problems.append("Field end_date must be between 1990-01-01 and 2100-12-31.")
        if self.out.exists() and not self.out.is_dir():
            problems.append(f"Field out: {self.out} exists and is not a directory.")
        if problems:
            raise BadRequest(*problems)


@dataclass
class SynthResult:
    out: Path
    customers: int
    applicants: int
    accounts: int
    account_rows: int
    transactions: int
    events: int
    telemetry: int
    consents: int
    seconds: float
    transactions_per_individual_month: float
    files: list[Path] = field(default_factory=list)


def _schema(feed: str, fmt: Format) -> pa.Schema:
    types = {
        "string": pa.string(),
        "int": pa.int64(),
        "money": pa.string() if fmt == "csv" else pa.decimal128(18, 2),
        "date": pa.date32(),
        "timestamp": pa.string() if fmt == "csv" else pa.timestamp("us", tz="UTC"),
        "json": pa.string(),
    }
    return pa.schema([pa.field(f.name, types[f.kind.value]) for f in FEEDS[feed].fields])


def _conform(table: pa.Table, feed: str, fmt: Format) -> pa.Table:
    """Order and type the columns exactly as the published feed schema."""
    schema = _schema(feed, fmt)
    cols = []
    for fld in schema:
        col = table.column(fld.name) if fld.name in table.column_names else None
        if col is None:
            cols.append(pa.nulls(table.num_rows, fld.type))
            continue
        if fld.type == pa.timestamp("us", tz="UTC"):
            col = pc.strptime(col, format="%Y-%m-%dT%H:%M:%SZ", unit="us")
            col = pc.assume_timezone(col, "UTC")
        if fmt == "csv" and pa.types.is_dictionary(col.type) and fld.type == pa.string():
            # The CSV writer prints a dictionary column's values: no need to expand it.
            cols.append(col)
            continue
        cols.append(col.cast(fld.type))
    return pa.Table.from_arrays(cols, names=schema.names)


class _Writer:
    def __init__(self, out: Path, fmt: Format) -> None:
        self.out = out
        self.fmt = fmt
        self.files: list[Path] = []
        self._open: dict[Path, pcsv.CSVWriter | pq.ParquetWriter] = {}

    def append(self, feed: str, stem: str, table: pa.Table, *, close: bool) -> None:
        """Write ``table`` to a file that stays open for more parts until ``close``."""
        folder = self.out / feed
        folder.mkdir(parents=True, exist_ok=True)
        truth = feed == "truth"
        if not truth:
            table = _conform(table, feed, self.fmt)
        csv = self.fmt == "csv" and not truth
        path = folder / (f"{stem}.csv" if csv else f"{stem}.parquet")
        out = self._open.get(path)
        if out is None:
            if csv:
                options = pcsv.WriteOptions(quoting_style="needed")
                out = pcsv.CSVWriter(path, table.schema, write_options=options)
            else:
                out = pq.ParquetWriter(path, table.schema, compression="zstd")
            self._open[path] = out
        out.write_table(table)
        if close:
            out.close()
            del self._open[path]
            self.files.append(path)

    def feed(self, feed: str, stem: str, table: pa.Table) -> None:
        folder = self.out / feed
        folder.mkdir(parents=True, exist_ok=True)
        table = _conform(table, feed, self.fmt)
        if self.fmt == "csv":
            path = folder / f"{stem}.csv"
            pcsv.write_csv(table, path, pcsv.WriteOptions(quoting_style="needed"))
        else:
            path = folder / f"{stem}.parquet"
            pq.write_table(table, path, compression="zstd")
        self.files.append(path)

    def lines(self, feed: str, stem: str, lines: pa.Array) -> None:
        folder = self.out / feed
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{stem}.ndjson"
        with path.open("wb") as fh:
            if len(lines):
                buf = cat(lines, "\n").cast(pa.large_string())
                _validity, offsets_buf, data = buf.buffers()
                offsets = np.frombuffer(offsets_buf, dtype=np.int64)
                start, end = int(offsets[buf.offset]), int(offsets[buf.offset + len(buf)])
                fh.write(memoryview(data)[start:end])
        self.files.append(path)

    def truth(self, stem: str, table: pa.Table) -> None:
        folder = self.out / "truth"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{stem}.parquet"
        pq.write_table(table, path, compression="zstd")
        self.files.append(path)


def _dates(pop: Population, day: np.ndarray) -> pa.Array:
    return pa.array((pop.window.epoch_day + day).astype(np.int32), pa.date32())


def generate(
    config: SynthConfig,
    directory: DirectoryLike | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> SynthResult:
    """Write a synthetic FI to ``config.out``; see the module docstring for the layout."""
    config.validate()
    if directory is None:
        from sightline.enrich.directory import load_directory

        directory = load_directory()
    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    window = Window.ending(config.end_date, config.months)
    catalog = build_catalog(directory, config.seed)
    if not catalog.segments:
        raise BadRequest("The merchant directory has no merchants the generator can use.")
    root = np.random.SeedSequence(config.seed)
    rngs = [np.random.default_rng(s) for s in root.spawn(6)]
    pop = build_population(config.customers, window, catalog, rngs[0])
    _clear_previous(config.out)
    writer = _Writer(config.out, config.format)
    say("customers")
    email, phone = _write_customers(pop, writer, config, rngs[1])
    say("accounts")
    account_rows = _write_accounts(pop, writer)
    say("transactions")
    gen = MonthGenerator(pop, catalog, config.seed)
    n_txn = 0
    ind_txn = 0
    # Files are encoded and written on a second thread while the next part is generated
    # (Arrow's writers release the GIL); at most one part waits to be written. A month of a big
    # FI is generated in day ranges so that its rows fit in memory.
    with ThreadPoolExecutor(max_workers=1) as io_thread:
        pending: Future[None] | None = None
        for m, (y, mo, first, last) in enumerate(window.months()):
            month = f"{y:04d}-{mo:02d}"
            parts = _month_parts(config.customers, first, last)
            for k, (a, b) in enumerate(parts):
                rows = gen.month(m, first, last, (k, a, b))
                feed, truth = _transaction_tables(pop, catalog, rows, n_txn, m)
                n_txn += feed.num_rows
                ind_txn += int((~pop.is_business[rows.cust]).sum())
                del rows
                if pending is not None:
                    pending.result()
                done = k == len(parts) - 1
                pending = io_thread.submit(_write_part, writer, month, feed, truth, done)
            say(f"transactions {month}")
        if pending is not None:
            pending.result()
    say("events")
    ev_day, ev_lines = activity.events(pop, rngs[2])
    for y, mo, first, last in window.months():
        sel = np.flatnonzero((ev_day >= first) & (ev_day <= last))
        writer.lines("events", f"events-{y:04d}-{mo:02d}", ev_lines.take(pa.array(sel)))
    say("telemetry")
    n_tel = 0
    for m, (y, mo, first, last) in enumerate(window.months()):
        tel = activity.telemetry(pop, np.random.default_rng([config.seed, 5000 + m]), first, last)
        writer.feed("telemetry", f"telemetry-{y:04d}-{mo:02d}", tel)
        n_tel += tel.num_rows
    say("consents")
    cons = activity.consents(pop, rngs[3], email, phone)
    writer.feed("consents", f"consents-{config.end_date.isoformat()}", cons)
    say("truth")
    _write_truth(pop, catalog, writer)
    active_months = _individual_active_months(pop)
    return SynthResult(
        out=config.out,
        customers=pop.n,
        applicants=len(pop.funnel.cust),
        accounts=len(pop.accounts.owner),
        account_rows=account_rows,
        transactions=n_txn,
        events=len(ev_lines),
        telemetry=n_tel,
        consents=cons.num_rows,
        seconds=time.perf_counter() - started,
        transactions_per_individual_month=ind_txn / max(active_months, 1e-9),
        files=writer.files,
    )


FOLDERS = ("customers", "accounts", "transactions", "events", "telemetry", "consents", "truth")


def _clear_previous(out: Path) -> None:
    """Remove the files an earlier run wrote (only ours), so the folder holds one FI."""
    for folder in FOLDERS:
        if not (out / folder).is_dir():
            continue
        for path in (out / folder).iterdir():
            if path.is_file() and path.suffix in (".csv", ".parquet", ".ndjson"):
                path.unlink()


def _individual_active_months(pop: Population) -> float:
    nd = pop.window.n_days
    lo = np.clip(pop.start_day, 0, nd)
    hi = np.clip(pop.stop_day, 0, nd)
    days = np.maximum(hi - lo, 0)[~pop.is_business]
    return float(days.sum() / 30.44)


def _write_customers(
    pop: Population, writer: _Writer, config: SynthConfig, rng: np.random.Generator
) -> tuple[pa.Array, pa.Array]:
    n = pop.n
    is_b = pa.array(pop.is_business)
    first = take(names.FIRST_NAMES, pop.first)
    last = take(names.LAST_NAMES, pop.last)
    handle = pc.utf8_lower(
        pc.replace_substring_regex(cat(first, ".", last), pattern="[^A-Za-z.]", replacement="")
    )
    email_i = cat(handle, pc.cast(pa.array(pop.first_check % 97), pa.string()), "@example.com")
    slug = pc.replace_substring_regex(
        pc.utf8_lower(pc.fill_null(pop.business_name, "")), pattern="[^a-z0-9]", replacement=""
    )
    email = pc.if_else(is_b, cat("info@", slug, ".test"), email_i)
    city = pop.city1
    area = take([c[3] for c in names.CITIES], city)
    phone = cat("(", area, ") 555-01", digits(unit(mix(np.arange(n), 401)) * 100, 2))
    ssn_i = cat(
        digits(900 + (unit(mix(np.arange(n), 402)) * 99).astype(np.int64), 3),
        "-",
        digits(10 + (unit(mix(np.arange(n), 403)) * 89).astype(np.int64), 2),
        "-",
        digits(1 + (unit(mix(np.arange(n), 404)) * 9998).astype(np.int64), 4),
    )
    ein = cat(
        digits(10 + (unit(mix(np.arange(n), 405)) * 89).astype(np.int64), 2),
        "-",
        digits((unit(mix(np.arange(n), 406)) * 9_999_999).astype(np.int64), 7),
    )
    income = money(pop.income_cents // 100 * 100)
    income = pc.if_else(pa.array(rng.random(n) < 0.08), pa.nulls(n, pa.string()), income)
    birth = pc.if_else(is_b, pa.nulls(n, pa.date32()), _dates(pop, pop.birth_day))
    table = pa.table(
        {
            "ucic": pop.ucic,
            "member_id": pop.member_id,
            "ucic_type": pc.if_else(is_b, "B", "I"),
            "first_name": first,
            "last_name": last,
            "business_name": pop.business_name,
            "email": email,
            "phone": phone,
            "street_address": pop.street,
            "city": take([c[0] for c in names.CITIES], city),
            "state": take([c[1] for c in names.CITIES], city),
            "zip": cat(take([c[2] for c in names.CITIES], city), digits(pop.zip_suffix, 2)),
            "birth_date": birth,
            "ssn": pc.if_else(is_b, ein, ssn_i),
            "customer_since": _dates(pop, pop.since_day),
            "annual_income": income,
            "as_of": _dates(pop, np.full(n, pop.window.n_days - 1)),
        }
    )
    writer.feed("customers", f"customers-{config.end_date.isoformat()}", table)
    return email, phone


def _write_accounts(pop: Population, writer: _Writer) -> int:
    acc = pop.accounts
    a = len(acc.owner)
    holders_acct = np.concatenate([np.arange(a, dtype=np.int64), acc.joint_acct])
    holders_cust = np.concatenate([acc.owner, acc.joint_holder])
    role = np.concatenate([np.zeros(a, dtype=np.int64), np.ones(len(acc.joint_acct), np.int64)])
    order = np.lexsort((role, holders_acct))
    holders_acct, holders_cust, role = holders_acct[order], holders_cust[order], role[order]
    pname = np.array(ACCOUNT_PRODUCTS, dtype=object)[acc.product]
    is_loan = np.isin(pname, LOAN_PRODUCTS)
    snaps = pop.window.snapshot_days()
    total = 0
    by_month: dict[str, list[pa.Table]] = {}
    prev = -1
    for si, s in enumerate(snaps):
        ha, hc = holders_acct, holders_cust
        shown = (acc.open_day[ha] <= s) & (acc.close_day[ha] > prev)
        idx = np.flatnonzero(shown)
        ha, hc, rl = ha[idx], hc[idx], role[idx]
        closed = acc.close_day[ha] <= s
        drift = np.exp((unit(mix(ha, si, 501)) - 0.5) * 0.3)
        months_in = np.maximum(s - acc.open_day[ha], 0) / 30.44
        amort = np.clip(1 - months_in / 360, 0.05, 1.0)
        bal = acc.base_cents[ha] * np.where(is_loan[ha], amort, drift)
        bal = np.where(acc.dormant[ha], acc.base_cents[ha], bal)
        funded = s >= pop.start_day[acc.owner[ha]]
        bal = np.where(closed | ~funded, 0, bal).astype(np.int64)
        status = np.where(closed, 1, np.where(acc.dormant[ha], 2, 0))
        limit = acc.limit_cents[ha]
        n = len(ha)
        member_only = unit(mix(ha, hc, si, 502)) < 0.02
        ucic = take(pop.ucic, hc)
        table = pa.table(
            {
                "account_id": take(acc.account_id, ha),
                "ucic": pc.if_else(pa.array(member_only), pa.nulls(n, pa.string()), ucic),
                "member_id": take(pop.member_id, hc),
                "account_number": take(acc.account_number, ha),
                "product": take(list(ACCOUNT_PRODUCTS), acc.product[ha]),
                "product_code": take(acc.product_code, ha),
                "holder_role": take(["primary", "secondary"], rl),
                "balance": money(bal),
                "credit_limit": pc.if_else(
                    pa.array(limit > 0), money(limit), pa.nulls(n, pa.string())
                ),
                "open_date": _dates(pop, acc.open_day[ha]),
                "close_date": pc.if_else(
                    pa.array(closed),
                    _dates(pop, np.where(closed, acc.close_day[ha], 0)),
                    pa.nulls(n, pa.date32()),
                ),
                "status": take(["open", "closed", "dormant"], status),
                "branch": take(acc.branch, ha),
                "as_of": _dates(pop, np.full(n, s)),
            }
        )
        d = pop.window.date(s)
        by_month.setdefault(f"{d.year:04d}-{d.month:02d}", []).append(table)
        total += n
        prev = s
    for month, tables in by_month.items():
        writer.feed("accounts", f"accounts-{month}", pa.concat_tables(tables))
    return total


def _bounded(text: pa.Array, width: int) -> pa.Array:
    """Cut strings to the schema's max length (descriptors are built to fit; this is a guard)."""
    longest = pc.max(pc.binary_length(text)).as_py() or 0
    return pc.utf8_slice_codeunits(text, 0, width) if longest > width else text


def _write_part(
    writer: _Writer, month: str, feed: pa.Table, truth: pa.Table, last_part: bool
) -> None:
    writer.append("transactions", f"transactions-{month}", feed, close=last_part)
    writer.append("truth", f"transactions_truth-{month}", truth, close=last_part)


ROWS_PER_PART = 6_000_000


def _month_parts(customers: int, first: int, last: int) -> list[tuple[int, int]]:
    """Day ranges of a month generated at a time: about ROWS_PER_PART transactions each."""
    days = last - first + 1
    expected = customers * 60 * days / 30.4
    k = int(min(days, max(1, np.ceil(expected / ROWS_PER_PART))))
    edges = np.linspace(first, last + 1, k + 1).astype(np.int64)
    return [(int(edges[i]), int(edges[i + 1]) - 1) for i in range(k)]


def _transaction_tables(
    pop: Population, catalog: Catalog, rows: Rows, offset: int, m: int
) -> tuple[pa.Table, pa.Table]:
    """The month's transactions feed table and its truth table (sorted by posting date)."""
    # Days fit in 16 bits, where numpy's stable sort is a radix sort.
    order = np.argsort(rows.day.astype(np.int16), kind="stable")
    ix = pa.array(order)
    cust, day, acct = rows.cust[order], rows.day[order], rows.acct[order]
    ent, kind = rows.ent[order], rows.kind[order]
    n = len(cust)
    e = catalog.entities
    txn_id = cat("T", digits(offset + np.arange(1, n + 1, dtype=np.int64), 11))
    member_only = unit(mix(np.arange(n), m, 601)) < 0.02
    chan = rows.channel[order]
    is_card_like = (chan == CHANNELS.index("card")) | (chan == CHANNELS.index("atm"))
    card = rows.card[order]

    def coded(values: pa.Array, index: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
        """``values[index]`` as a dictionary column (no per-row string copies)."""
        indices = pa.array(index.astype(np.int32), mask=null)
        return pa.DictionaryArray.from_arrays(indices, values)

    table = pa.table(
        {
            "txn_id": txn_id,
            "ucic": coded(pop.ucic, cust, member_only),
            "member_id": coded(pop.member_id, cust, ~member_only),
            "account_id": coded(pop.accounts.account_id, acct),
            "posted_at": _dates(pop, day),
            "amount": money(rows.cents[order]),
            "direction": coded(pa.array(["debit", "credit"]), rows.credit[order].astype(np.int32)),
            "channel": coded(pa.array(list(CHANNELS)), chan),
            "mcc": coded(
                pc.fill_null(e.mcc, ""),
                ent,
                ~is_card_like | pc.is_null(e.mcc).to_numpy(zero_copy_only=False)[ent],
            ),
            "description": _bounded(rows.desc.take(ix), 256),
            "card_number": coded(
                pc.fill_null(pop.accounts.card_number, ""),
                acct,
                ~card | pc.is_null(pop.accounts.card_number).to_numpy(zero_copy_only=False)[acct],
            ),
        }
    )
    merchant_kind = np.isin(kind, [KINDS.index(k) for k in MERCHANT_KINDS])

    used = np.flatnonzero(np.bincount(ent, minlength=len(e)))
    remap = np.zeros(len(e), dtype=np.int32)
    remap[used] = np.arange(len(used), dtype=np.int32)
    inverse_arr = pa.array(remap[ent])

    def by_entity(values: pa.Array, mask: np.ndarray | None = None) -> pa.Array:
        # Dictionary-encoded over the entities used this month: no per-row string copies.
        enc = values.take(pa.array(used)).dictionary_encode()
        indices = enc.indices.take(inverse_arr)
        if mask is not None:
            indices = pc.if_else(pa.array(mask), pa.scalar(None, pa.int32()), indices)
        return pa.DictionaryArray.from_arrays(indices, enc.dictionary)

    truth = pa.table(
        {
            "txn_id": txn_id,
            "merchant_id": by_entity(e.merchant_id, ~merchant_kind),
            "merchant_name": by_entity(e.name),
            "sub_merchant": by_entity(e.sub_merchant),
            "category_group": by_entity(e.group),
            "category": by_entity(e.category),
            "transaction_kind": pa.DictionaryArray.from_arrays(
                pa.array(kind.astype(np.int32)), pa.array(list(KINDS), pa.string())
            ),
            "competitive_fi": by_entity(e.fi),
            "fi_product": by_entity(e.fi_product),
            "is_local": take(e.is_local, ent),
        }
    )
    return table, truth


def _write_truth(pop: Population, catalog: Catalog, writer: _Writer) -> None:
    held = pop.held
    e = catalog.entities
    writer.truth(
        "held_away",
        pa.table(
            {
                "ucic": take(pop.ucic, held.cust),
                "institution_id": take(e.fi, held.entity),
                "institution_name": take(e.name, held.entity),
                "product": pa.array(held.product, pa.string()),
                "since": _dates(pop, np.maximum(held.since, -40 * 365)),
            }
        ),
    )
    cust_l, ev_l, day_l = [], [], []
    for event in LIFE_EVENTS:
        who = np.flatnonzero(pop.life[event] < NEVER)
        cust_l.append(who)
        ev_l.extend([event] * len(who))
        day_l.append(pop.life[event][who])
    cust = np.concatenate(cust_l)
    day = np.concatenate(day_l)
    order = np.lexsort((cust, day))
    writer.truth(
        "life_events",
        pa.table(
            {
                "ucic": take(pop.ucic, cust[order]),
                "event": pa.array([ev_l[i] for i in order], pa.string()),
                "date": _dates(pop, day[order]),
            }
        ),
    )
    f = pop.funnel
    cols: dict[str, pa.Array] = {"ucic": f.ucic, "became_customer": pa.array(f.cust >= 0)}
    for stage in FUNNEL_STAGES:
        d = f.stage_day[stage]
        cols[stage] = pc.if_else(
            pa.array(d < NEVER),
            _dates(pop, np.where(d < NEVER, d, 0)),
            pa.nulls(len(d), pa.date32()),
        )
    writer.truth("funnel", pa.table(cols))
    ct: dict[str, pa.Array] = {
        "ucic": pop.ucic,
        "ucic_type": pc.if_else(pa.array(pop.is_business), "B", "I"),
        "joined_in_window": pa.array(pop.since_day >= 0),
        "digital": pa.array(pop.digital),
        "employer": pc.if_else(
            pa.array(pop.employer1 >= 0),
            take(e.name, np.maximum(pop.employer1, 0)),
            pa.nulls(pop.n, pa.string()),
        ),
        "retired": pa.array(pop.retired | (pop.retire_day < NEVER)),
    }
    for trait in TRAITS:
        ct[trait] = pa.array(pop.traits[trait])
    writer.truth("customers_truth", pa.table(ct))
