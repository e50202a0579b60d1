"""The synthetic FI: layout and columns, determinism, truth consistent with the feeds."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from sightline.errors import BadRequest
from sightline.ingest.schemas import CHANNELS, EVENT_TYPES, FEEDS, PRODUCTS
from sightline.synth.generator import SynthConfig, SynthResult, generate
from tests.synth.conftest import CUSTOMERS, make
from tests.synth.fake_directory import FAKE_DIRECTORY

FEED_DIRS = ("customers", "accounts", "transactions", "events", "telemetry", "consents")


def read_csv(folder: Path) -> pa.Table:
    files = sorted(folder.glob("*.csv"))
    assert files, f"no CSV files in {folder}"
    opts = pcsv.ConvertOptions(strings_can_be_null=True, column_types={})
    tables = [
        pcsv.read_csv(
            f, convert_options=opts, read_options=pcsv.ReadOptions(autogenerate_column_names=False)
        )
        for f in files
    ]
    names = tables[0].column_names
    return pa.concat_tables([t.select(names).cast(tables[0].schema) for t in tables])


def read_strings(folder: Path) -> pa.Table:
    """A feed folder as all-string columns (exactly as written)."""
    files = sorted(folder.glob("*.csv"))
    header = files[0].read_text().splitlines()[0].replace('"', "").split(",")
    opts = pcsv.ConvertOptions(
        column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=True
    )
    return pa.concat_tables([pcsv.read_csv(f, convert_options=opts) for f in files])


def events(out: Path) -> list[dict[str, object]]:
    lines = []
    for f in sorted((out / "events").glob("*.ndjson")):
        lines += [json.loads(line) for line in f.read_text().splitlines() if line]
    return lines


def truth(out: Path, stem: str) -> pa.Table:
    return pa.concat_tables(
        [pq.read_table(f) for f in sorted((out / "truth").glob(f"{stem}*.parquet"))]
    )


def digest(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


# -- layout and columns ----------------------------------------------------------------------


def test_layout_has_one_folder_per_feed_plus_truth(fi: SynthResult) -> None:
    out = fi.out
    assert sorted(p.name for p in out.iterdir()) == sorted([*FEED_DIRS, "truth"])
    months = ["2026-08", "2026-09", "2026-10"]
    for feed in ("transactions", "accounts", "telemetry"):
        assert sorted(p.name for p in (out / feed).iterdir()) == [f"{feed}-{m}.csv" for m in months]
    assert sorted(p.name for p in (out / "events").iterdir()) == [
        f"events-{m}.ndjson" for m in months
    ]
    assert [p.name for p in (out / "customers").iterdir()] == ["customers-2026-10-31.csv"]
    assert {p.name for p in (out / "truth").iterdir()} >= {
        "held_away.parquet",
        "life_events.parquet",
        "funnel.parquet",
        "customers_truth.parquet",
        "transactions_truth-2026-08.parquet",
    }


@pytest.mark.parametrize("feed", [f for f in FEED_DIRS if f != "events"])
def test_csv_columns_are_exactly_the_published_schema(fi: SynthResult, feed: str) -> None:
    for f in (fi.out / feed).glob("*.csv"):
        header = f.read_text().splitlines()[0].replace('"', "").split(",")
        assert tuple(header) == FEEDS[feed].names, f


def test_event_lines_carry_exactly_the_schema_fields(fi: SynthResult) -> None:
    evs = events(fi.out)
    assert evs
    for ev in evs:
        assert tuple(ev) == FEEDS["events"].names
        assert ev["type"] in EVENT_TYPES
        assert isinstance(ev["attributes"], dict)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", str(ev["occurred_at"]))
        assert ev["ucic"] or ev["member_id"]
    assert len({e["event_id"] for e in evs}) == len(evs)


def test_values_follow_the_schema(fi: SynthResult) -> None:
    tx = read_strings(fi.out / "transactions")
    amounts = tx.column("amount").to_pylist()
    assert all(re.fullmatch(r"\d+\.\d\d", a) for a in amounts)
    assert set(tx.column("direction").to_pylist()) == {"debit", "credit"}
    assert set(tx.column("channel").to_pylist()) <= set(CHANNELS)
    dates = set(tx.column("posted_at").to_pylist())
    assert min(dates) >= "2026-08-01" and max(dates) <= "2026-10-31"
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", d) for d in dates)
    assert max(len(d) for d in tx.column("description").to_pylist()) <= 256
    mccs = {m for m in tx.column("mcc").to_pylist() if m is not None}
    assert all(re.fullmatch(r"\d{4}", m) for m in mccs)
    assert len(set(tx.column("txn_id").to_pylist())) == tx.num_rows
    acc = read_strings(fi.out / "accounts")
    assert set(acc.column("product").to_pylist()) <= set(PRODUCTS)
    assert set(acc.column("status").to_pylist()) <= {"open", "closed", "dormant", "charged_off"}
    cons = read_strings(fi.out / "consents")
    assert set(cons.column("status").to_pylist()) == {"granted", "revoked"}
    assert all(t.endswith("Z") for t in cons.column("changed_at").to_pylist())


def test_direct_pii_is_present_and_synthetic(fi: SynthResult) -> None:
    cust = read_strings(fi.out / "customers")
    emails = cust.column("email").to_pylist()
    assert all(e.endswith(("@example.com", ".test")) for e in emails)
    assert all(re.fullmatch(r"\(\d{3}\) 555-01\d\d", p) for p in cust.column("phone").to_pylist())
    ssn = [
        s
        for s, t in zip(
            cust.column("ssn").to_pylist(), cust.column("ucic_type").to_pylist(), strict=True
        )
        if t == "I"
    ]
    assert all(re.fullmatch(r"9\d\d-\d\d-\d{4}", s) for s in ssn)  # 9xx: never a real SSN
    tx = read_strings(fi.out / "transactions")
    cards = [c for c in tx.column("card_number").to_pylist() if c]
    assert cards and all(_luhn_ok(c) and len(c) == 16 for c in cards[:500])
    accts = read_strings(fi.out / "accounts").column("account_number").to_pylist()
    assert all(re.fullmatch(r"\d{12}", a) for a in accts)


def _luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def test_parquet_format_is_typed_and_has_the_same_columns(fi_parquet: SynthResult) -> None:
    out = fi_parquet.out
    for feed in ("customers", "accounts", "transactions", "telemetry", "consents"):
        files = sorted((out / feed).glob("*.parquet"))
        assert files
        schema = pq.read_schema(files[0])
        assert tuple(schema.names) == FEEDS[feed].names
    tx = pq.read_schema(sorted((out / "transactions").glob("*.parquet"))[0])
    assert tx.field("amount").type == pa.decimal128(18, 2)
    assert tx.field("posted_at").type == pa.date32()
    cons = pq.read_schema(sorted((out / "consents").glob("*.parquet"))[0])
    assert cons.field("changed_at").type == pa.timestamp("us", tz="UTC")
    assert list((out / "events").glob("*.ndjson"))


# -- determinism ----------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    a = make(tmp_path / "a", customers=150)
    b = make(tmp_path / "b", customers=150)
    c = make(tmp_path / "c", customers=150, seed=12)
    da, db, dc = digest(a.out), digest(b.out), digest(c.out)
    assert da == db
    assert da.keys() == dc.keys()
    assert all(da[k] != dc[k] for k in da if k.startswith(("transactions", "customers")))


# -- customers, accounts, ids ----------------------------------------------------------------


def test_individuals_and_businesses(fi: SynthResult) -> None:
    cust = read_strings(fi.out / "customers")
    types = cust.column("ucic_type").to_pylist()
    assert cust.num_rows == CUSTOMERS
    share_b = types.count("B") / len(types)
    assert 0.03 < share_b < 0.15
    biz = cust.filter(pc.equal(cust.column("ucic_type"), "B"))
    assert all(biz.column("business_name").to_pylist())
    assert all(m for m in cust.column("member_id").to_pylist())
    assert len(set(cust.column("member_id").to_pylist())) == cust.num_rows


def test_member_id_only_rows_map_through_customers(fi: SynthResult) -> None:
    cust = read_strings(fi.out / "customers")
    member_to_ucic = dict(
        zip(cust.column("member_id").to_pylist(), cust.column("ucic").to_pylist(), strict=True)
    )
    for feed in ("transactions", "telemetry", "consents"):
        t = read_strings(fi.out / feed)
        only = t.filter(pc.is_null(t.column("ucic")))
        assert only.num_rows > 0, feed
        assert all(m in member_to_ucic for m in only.column("member_id").to_pylist()), feed
        assert 0.005 < only.num_rows / t.num_rows < 0.05
    evs = [e for e in events(fi.out) if e["ucic"] is None]
    assert evs and all(e["member_id"] in member_to_ucic for e in evs)


def test_joint_accounts_have_a_primary_and_a_secondary_holder(fi: SynthResult) -> None:
    acc = read_strings(fi.out / "accounts")
    last = acc.filter(pc.equal(acc.column("as_of"), "2026-10-31"))
    roles: dict[str, set[str]] = {}
    holders: dict[str, set[str]] = {}
    for a, m, r in zip(
        last.column("account_id").to_pylist(),
        last.column("member_id").to_pylist(),
        last.column("holder_role").to_pylist(),
        strict=True,
    ):
        roles.setdefault(a, set()).add(r)
        holders.setdefault(a, set()).add(m)
    joint = [a for a, r in roles.items() if r == {"primary", "secondary"}]
    assert len(joint) >= 10
    assert all(len(holders[a]) == 2 for a in joint)


def test_account_snapshots_at_each_month_end(fi: SynthResult) -> None:
    acc = read_strings(fi.out / "accounts")
    assert set(acc.column("as_of").to_pylist()) == {"2026-08-31", "2026-09-30", "2026-10-31"}
    closed = acc.filter(pc.equal(acc.column("status"), "closed"))
    assert all(closed.column("close_date").to_pylist())
    assert set(closed.column("balance").to_pylist()) <= {"0.00"}


def test_snapshot_on_the_last_day_when_it_is_not_a_month_end(tmp_path: Path) -> None:
    config = SynthConfig(
        customers=60, months=2, seed=3, out=tmp_path / "o", end_date=date(2026, 5, 14)
    )
    generate(config, FAKE_DIRECTORY)
    acc = read_strings(tmp_path / "o" / "accounts")
    assert set(acc.column("as_of").to_pylist()) == {"2026-04-30", "2026-05-14"}
    tx = read_strings(tmp_path / "o" / "transactions")
    assert max(tx.column("posted_at").to_pylist()) <= "2026-05-14"


# -- truth ----------------------------------------------------------------------------------


def test_every_transaction_has_its_truth(fi: SynthResult) -> None:
    tx = read_strings(fi.out / "transactions")
    tt = truth(fi.out, "transactions_truth")
    assert sorted(tx.column("txn_id").to_pylist()) == sorted(tt.column("txn_id").to_pylist())
    kinds = set(tt.column("transaction_kind").to_pylist())
    assert kinds == {
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
    }
    assert all(tt.column("category").to_pylist())
    merchant = tt.filter(pc.is_valid(tt.column("merchant_id")))
    assert set(merchant.column("transaction_kind").to_pylist()) <= {
        "card_purchase",
        "refund",
        "ach_debit",
    }
    local = tt.filter(tt.column("is_local"))
    assert local.num_rows / tt.num_rows > 0.05
    assert all(local.column("merchant_name").to_pylist())
    assert local.column("merchant_id").null_count == local.num_rows
    subs = tt.filter(pc.is_valid(tt.column("sub_merchant")))
    assert subs.num_rows > 0
    assert set(subs.column("merchant_id").to_pylist()) == {"doordash"}


def _joined(out: Path) -> list[dict[str, object]]:
    """Transactions with their truth, ucic resolved through the member-id map."""
    cust = read_strings(out / "customers")
    m2u = dict(
        zip(cust.column("member_id").to_pylist(), cust.column("ucic").to_pylist(), strict=True)
    )
    tx = read_strings(out / "transactions")
    tt = {r["txn_id"]: r for r in truth(out, "transactions_truth").to_pylist()}
    rows = []
    for r in tx.to_pylist():
        r["ucic"] = r["ucic"] or m2u[r["member_id"]]
        r.update(tt[r["txn_id"]])
        rows.append(r)
    return rows


@pytest.fixture(scope="module")
def joined(fi: SynthResult) -> list[dict[str, object]]:
    return _joined(fi.out)


def test_held_away_products_show_as_payments(
    fi: SynthResult, joined: list[dict[str, object]]
) -> None:
    held = truth(fi.out, "held_away").to_pylist()
    assert len(held) > CUSTOMERS // 2
    paid = {
        (r["ucic"], r["competitive_fi"], r["fi_product"]) for r in joined if r["competitive_fi"]
    }
    missing = [h for h in held if (h["ucic"], h["institution_id"], h["product"]) not in paid]
    assert not missing, missing[:5]
    products = {h["product"] for h in held}
    assert {"mortgage", "auto_loan", "credit_card", "insurance", "p2p"} <= products


def test_life_events_change_behaviour(fi: SynthResult, joined: list[dict[str, object]]) -> None:
    life = truth(fi.out, "life_events").to_pylist()
    assert {e["event"] for e in life} >= {"new_mover", "new_job", "new_vehicle"}
    evs = events(fi.out)
    moved = {(e["ucic"], str(e["occurred_at"])[:10]) for e in evs if e["type"] == "address_changed"}
    cust = read_strings(fi.out / "customers")
    m2u = dict(
        zip(cust.column("member_id").to_pylist(), cust.column("ucic").to_pylist(), strict=True)
    )
    moved |= {
        (m2u[str(e["member_id"])], str(e["occurred_at"])[:10])
        for e in evs
        if e["type"] == "address_changed" and e["ucic"] is None
    }
    employer = {r["ucic"]: r["employer"] for r in truth(fi.out, "customers_truth").to_pylist()}
    by_ucic: dict[str, list[dict[str, object]]] = {}
    for r in joined:
        by_ucic.setdefault(str(r["ucic"]), []).append(r)
    expects = {
        "new_mover": lambda r, d: r["category"] == "Storage & Moving",
        "new_baby": lambda r, d: r["category"] == "Baby & Kids Clothing" and r["posted_at"] >= d,
        "wedding": lambda r, d: r["category"] == "Jewelry & Accessories",
        "new_vehicle": lambda r, d: r["fi_product"] == "auto_loan",
        "college": lambda r, d: r["category"] == "Tuition",
        "retirement": lambda r, d: (
            r["category"] in ("Government Benefits", "Retirement Income") and r["posted_at"] >= d
        ),
    }
    for e in life:
        ucic, d = str(e["ucic"]), e["date"].isoformat()
        rows = by_ucic.get(ucic, [])
        if e["event"] == "new_mover":
            assert (ucic, d) in moved
        if e["event"] == "new_job":
            assert any(
                r["transaction_kind"] == "payroll"
                # the truth names the payer on the line: the employer, or its payroll processor
                and r["merchant_name"] in (employer[ucic], "ADP", "Paychex", "Gusto")
                and r["posted_at"] >= d
                for r in rows
            ), e
            continue
        check = expects[str(e["event"])]
        assert any(check(r, d) for r in rows), e


def test_funnel_truth_matches_events(fi: SynthResult) -> None:
    funnel = truth(fi.out, "funnel").to_pylist()
    assert funnel
    joined_c = [f for f in funnel if f["became_customer"]]
    dropped = [f for f in funnel if not f["became_customer"]]
    assert joined_c and dropped
    assert all(f["account_opened"] is not None for f in joined_c)
    assert all(f["account_opened"] is None for f in dropped)
    assert any(f["application_declined"] for f in funnel) or any(f["kyc_failed"] for f in funnel)
    cust = read_strings(fi.out / "customers")
    m2u = dict(
        zip(cust.column("member_id").to_pylist(), cust.column("ucic").to_pylist(), strict=True)
    )
    seen = {
        (e["ucic"] or m2u[str(e["member_id"])], e["type"], str(e["occurred_at"])[:10])
        for e in events(fi.out)
    }
    for f in funnel:
        for stage, value in f.items():
            if stage in ("ucic", "became_customer") or value is None:
                continue
            assert (f["ucic"], stage, value.isoformat()) in seen
    since = dict(
        zip(cust.column("ucic").to_pylist(), cust.column("customer_since").to_pylist(), strict=True)
    )
    for f in joined_c:
        assert since[f["ucic"]] == f["account_opened"].isoformat()


def test_transactions_per_individual_month_are_realistic(fi: SynthResult) -> None:
    assert 38 <= fi.transactions_per_individual_month <= 65


def test_bad_configuration_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BadRequest) as err:
        generate(SynthConfig(customers=0, months=0, seed=1, out=tmp_path), FAKE_DIRECTORY)
    assert "Field customers" in str(err.value) and "Field months" in str(err.value)
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(BadRequest, match="not a directory"):
        generate(SynthConfig(customers=5, months=1, seed=1, out=f), FAKE_DIRECTORY)


def test_a_rerun_replaces_the_previous_files(tmp_path: Path) -> None:
    out = tmp_path / "fi"
    (out / "transactions").mkdir(parents=True)
    keep = out / "notes.txt"
    keep.write_text("mine")
    generate(SynthConfig(customers=40, months=3, seed=1, out=out), FAKE_DIRECTORY)
    generate(SynthConfig(customers=40, months=1, seed=1, out=out), FAKE_DIRECTORY)
    assert [p.name for p in (out / "transactions").iterdir()] == ["transactions-2026-10.csv"]
    assert len(list((out / "truth").glob("transactions_truth-*.parquet"))) == 1
    assert keep.read_text() == "mine"


def test_new_customers_transactions_follow_their_funnel(
    fi: SynthResult, joined: list[dict[str, object]]
) -> None:
    funnel = {f["ucic"]: f for f in truth(fi.out, "funnel").to_pylist() if f["became_customer"]}
    first_card: dict[str, str] = {}
    first_any: dict[str, str] = {}
    payroll: dict[str, str] = {}
    for r in joined:
        u, d = str(r["ucic"]), str(r["posted_at"])
        if u not in funnel:
            continue
        first_any[u] = min(first_any.get(u, d), d)
        if r["transaction_kind"] == "card_purchase":
            first_card[u] = min(first_card.get(u, d), d)
        if r["transaction_kind"] == "payroll":
            payroll[u] = min(payroll.get(u, d), d)
    checked = 0
    for u, f in funnel.items():
        funded = f["account_funded"]
        if funded is None:
            assert u not in first_any
            continue
        assert first_any[u] >= funded.isoformat()
        purchase = f["first_card_purchase"]
        assert first_card.get(u) == (purchase.isoformat() if purchase else None)
        if u in payroll:
            assert f["direct_deposit_setup"] is not None
            assert payroll[u] >= f["direct_deposit_setup"].isoformat()
        checked += 1
    assert checked >= 10
    deposits = {
        (str(r["ucic"]), str(r["posted_at"]), str(r["amount"]))
        for r in joined
        if r["direction"] == "credit"
    }
    cust = read_strings(fi.out / "customers")
    m2u = dict(
        zip(cust.column("member_id").to_pylist(), cust.column("ucic").to_pylist(), strict=True)
    )
    funded_events = [e for e in events(fi.out) if e["type"] == "account_funded"]
    assert funded_events
    for e in funded_events:
        u = str(e["ucic"] or m2u[str(e["member_id"])])
        amount = e["attributes"]["amount"]  # type: ignore[index]
        assert (u, str(e["occurred_at"])[:10], amount) in deposits, e


def test_big_months_are_generated_in_day_ranges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sightline.synth import generator

    whole = make(tmp_path / "whole", customers=150)
    monkeypatch.setattr(generator, "ROWS_PER_PART", 2000)
    assert len(generator._month_parts(150, 0, 30)) >= 4
    split = make(tmp_path / "split", customers=150)
    for f in (split.out / "transactions").glob("*.csv"):
        lines = f.read_text().splitlines()
        assert sum(1 for line in lines if line.startswith('"txn_id"')) == 1
    tx = read_strings(split.out / "transactions")
    posted = tx.column("posted_at").to_pylist()
    assert posted == sorted(posted)
    tt = truth(split.out, "transactions_truth")
    assert tx.column("txn_id").to_pylist() == tt.column("txn_id").to_pylist()
    assert len(set(posted)) == 92
    ratio = split.transactions / whole.transactions
    assert 0.9 < ratio < 1.1
    # Same customers, accounts and held-away products: only the draws of the month differ.
    assert (
        digest(split.out)["customers/customers-2026-10-31.csv"]
        == digest(whole.out)["customers/customers-2026-10-31.csv"]
    )
    joined_split = _joined(split.out)
    held = truth(split.out, "held_away").to_pylist()
    paid = {(r["ucic"], r["competitive_fi"], r["fi_product"]) for r in joined_split}
    assert all((h["ucic"], h["institution_id"], h["product"]) in paid for h in held)


def test_truth_names_what_the_line_shows(tmp_path: Path) -> None:
    """A property manager's line names the manager; COA UTILITIES is Austin's alone; no
    employer is "<...> Group Group"."""
    import duckdb

    out = tmp_path / "s"
    generate(SynthConfig(customers=300, months=2, seed=7, out=out, format="parquet"))
    con = duckdb.connect()
    rows = con.execute(
        f"""SELECT t.description, r.merchant_name
        FROM read_parquet('{out}/transactions/*.parquet') t
        JOIN read_parquet('{out}/truth/transactions_truth-*.parquet') r USING (txn_id)"""
    ).fetchall()
    for description, name in rows:
        if " PROP MG" in description:
            assert name.endswith("Property Management"), (description, name)
        if "COA UTILITIES" in description:
            assert name == "City of Austin Utilities", (description, name)
        assert not (name or "").endswith("Group Group"), name
