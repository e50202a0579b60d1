"""File ingestion end to end on real files: lake layout and types, validation and quarantine,
member map, exactly-once, whole-file problems, formats (CSV, gzip, Parquet, NDJSON), consents."""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from sightline.api.context import AppContext
from sightline.config import Settings
from sightline.ingest import masking, service
from sightline.ingest import repository as repo
from sightline.ingest.models import QuarantinedRow
from sightline.ingest.schemas import FEEDS
from sightline.store import db
from tests.conftest import PartnerKey
from tests.ingest.helpers import (
    lake_count,
    lake_rows,
    make_account,
    make_consent,
    make_event,
    make_txn,
    write_csv,
    write_ndjson,
    write_parquet,
)


def ingest(ctx: AppContext, settings: Settings, feed: str, path: Path) -> service.RunSummary:
    return service.ingest_path(ctx.sessions, settings, "acme", feed, path)


def quarantine(ctx: AppContext, run_id: str) -> list[QuarantinedRow]:
    with db.transaction(ctx.sessions) as s:
        return list(
            s.scalars(
                select(QuarantinedRow)
                .where(QuarantinedRow.run_id == run_id)
                .order_by(QuarantinedRow.line)
            )
        )


def test_transactions_land_typed_and_partitioned(
    tmp_path: Path, context: AppContext, settings: Settings, customers: service.RunSummary
) -> None:
    rows = [
        make_txn(),
        make_txn(txn_id="t2", posted_at="2026-01-06", amount="7", direction="credit"),
        make_txn(txn_id="t3", ucic="", member_id="m2", card_number=""),
    ]
    summary = ingest(context, settings, "transactions", write_csv(tmp_path / "t.csv", rows))
    assert (summary.status, summary.read, summary.stored) == ("succeeded", 3, 3)
    assert summary.dates == ["2026-01-05", "2026-01-06"]
    part = settings.lake_dir / "transactions" / "partner=acme" / "date=2026-01-05"
    files = sorted(part.glob("*.parquet"))
    assert files and all(f.name.startswith(summary.run_id + "-") for f in files)
    table = pq.ParquetFile(files[0]).read()
    schema = table.schema
    assert schema.field("amount").type == pa.decimal128(18, 2)
    assert schema.field("posted_at").type == pa.date32()
    assert schema.field("ingested_at").type == pa.timestamp("us", tz="UTC")
    assert {"partner_id", "ingest_run_id", "card_number_last4", "card_number_token"} <= set(
        schema.names
    )
    assert "card_number" not in schema.names
    # tokens (HMAC output, incompressible) are stored uncompressed, the rest with Snappy
    meta = pq.ParquetFile(files[0]).metadata.row_group(0)
    codecs = {meta.column(i).path_in_schema: meta.column(i).compression for i in range(len(schema))}
    assert codecs.pop("card_number_token") == "UNCOMPRESSED"
    assert set(codecs.values()) == {"SNAPPY"}
    by_id = {r["txn_id"]: r for r in lake_rows(settings.lake_dir, "transactions")}
    assert by_id["t1"]["amount"] == Decimal("12.50")
    assert by_id["t1"]["posted_at"] == date(2026, 1, 5)
    assert by_id["t1"]["card_number_last4"] == "1234"
    assert len(by_id["t1"]["card_number_token"]) == 32
    assert by_id["t2"]["amount"] == Decimal("7.00")
    assert by_id["t3"]["ucic"] == "c2"  # through the member map
    assert by_id["t3"]["partner_id"] == "acme" and by_id["t3"]["ingest_run_id"] == summary.run_id


def test_bad_rows_quarantined_with_line_field_reason(
    tmp_path: Path, context: AppContext, settings: Settings, customers: service.RunSummary
) -> None:
    rows = [
        make_txn(),  # line 2: good
        make_txn(txn_id="t2", amount="12.345"),  # line 3
        make_txn(txn_id="t3", posted_at="2026-02-30"),  # line 4
        make_txn(txn_id="t4", channel="teleport"),  # line 5
        make_txn(txn_id="t5", ucic="c404"),  # line 6: unknown customer
        make_txn(txn_id="t6", ucic="", member_id="m404"),  # line 7: unmapped member
        make_txn(txn_id="t7", ucic="", member_id=""),  # line 8: neither
        make_txn(txn_id="", description=""),  # line 9: two required fields
        make_txn(txn_id="t9", amount="-5.00", mcc="58"),  # line 10
        make_txn(txn_id="t10"),  # line 11: good
    ]
    summary = ingest(context, settings, "transactions", write_csv(tmp_path / "t.csv", rows))
    assert (summary.status, summary.read, summary.stored, summary.quarantined) == (
        "partial",
        10,
        2,
        8,
    )
    got = [(q.line, q.field, q.reason) for q in quarantine(context, summary.run_id)]
    assert got[0] == (
        3,
        "amount",
        'amount: "12.345" is not an amount (digits, at most 2 decimal places)',
    )
    assert got[1] == (4, "posted_at", 'posted_at: "2026-02-30" is not a date (YYYY-MM-DD)')
    assert got[2][0:2] == (5, "channel") and "is not one of card, ach" in got[2][2]
    assert got[3] == (
        6,
        "ucic",
        'ucic: "c404" is not a known customer (send it in the customers feed first)',
    )
    assert got[4] == (7, "member_id", 'member_id: "m404" maps to no known ucic')
    assert got[5] == (8, "ucic or member_id", "ucic or member_id: one of them is required")
    assert got[6][0:2] == (9, "txn_id") and "description: is required" in got[6][2]
    assert got[7][0] == 10 and "must not be negative" in got[7][2] and "4-digit MCC" in got[7][2]
    record = quarantine(context, summary.run_id)[0].record
    assert record is not None and record["txn_id"] == "t2" and record["card_number_last4"] == "1234"
    assert "card_number" not in record
    assert {r["txn_id"] for r in lake_rows(settings.lake_dir, "transactions")} == {"t1", "t10"}


def test_exactly_once_across_files_and_within_a_file(
    tmp_path: Path, context: AppContext, settings: Settings, customers: service.RunSummary
) -> None:
    first = write_csv(tmp_path / "a.csv", [make_txn(), make_txn(txn_id="t2")])
    s1 = ingest(context, settings, "transactions", first)
    assert (s1.stored, s1.duplicate) == (2, 0)
    again = ingest(context, settings, "transactions", first)
    assert again.status == "skipped" and s1.run_id in (again.message or "")
    # the hash ran beside the pipeline: the skipped run still records it, stages nothing
    with db.transaction(context.sessions) as session:
        hashes = {r.run_id: r.content_hash for r in repo.list_runs(session, "acme")}
    assert hashes[again.run_id] == hashes[s1.run_id] == service.file_hash(first)
    assert lake_count(settings.lake_dir, "transactions") == 2
    assert not list((settings.lake_dir / "_staging").rglob("*.parquet"))
    # a new file re-delivering t2, and t3 twice
    second = write_csv(
        tmp_path / "b.csv",
        [
            make_txn(txn_id="t2"),
            make_txn(txn_id="t3"),
            make_txn(txn_id="t3"),
            make_txn(txn_id="t4"),
        ],
    )
    s2 = ingest(context, settings, "transactions", second)
    assert (s2.status, s2.read, s2.stored, s2.duplicate) == ("succeeded", 4, 2, 2)
    assert sorted(r["txn_id"] for r in lake_rows(settings.lake_dir, "transactions")) == [
        "t1",
        "t2",
        "t3",
        "t4",
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty (0 bytes)"),
        (b"\n\n", "empty: no header"),
        (b"\x00\x01\x02PK\x03\x04binary\x00", "binary"),
        (
            b"txn_id;ucic;account_id\nt1;c1;a1\n",
            "Wrong delimiter: the header looks semicolon-separated",
        ),
        (b"foo,bar\n1,2\n", "missing required column(s): txn_id"),
        (
            b"txn_id,account_id,posted_at,amount,direction,channel,description,ucic,color\n",
            "unknown column(s): 'color'",
        ),
        (
            "txn_id,ucic,account_id,posted_at,amount,direction,channel,description\nt1,c1,a1,2026-01-01,1.00,debit,card,CAF\xc9\n".encode(
                "latin-1"
            ),
            "not UTF-8",
        ),
        (
            b"txn_id,ucic,account_id,posted_at,amount,direction,channel,description\nt1,c1,a1,2026-01-01,1.00,debit,card,x,EXTRA\n",
            "different number of fields",
        ),
    ],
)
def test_whole_file_problems_get_one_clear_message(
    tmp_path: Path,
    context: AppContext,
    settings: Settings,
    customers: service.RunSummary,
    content: bytes,
    expected: str,
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    summary = ingest(context, settings, "transactions", path)
    assert summary.status == "failed", summary
    assert summary.message is not None and expected in summary.message
    assert "Traceback" not in summary.message
    assert lake_count(settings.lake_dir, "transactions") == 0


def test_truncated_gzip_and_header_only(
    tmp_path: Path, context: AppContext, settings: Settings, customers: service.RunSummary
) -> None:
    good = write_csv(
        tmp_path / "t.csv.gz",
        [make_txn(txn_id=f"t{i}", description="X" * 200) for i in range(3000)],
    )
    data = good.read_bytes()
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(data[: len(data) // 2])
    summary = ingest(context, settings, "transactions", cut)
    assert summary.status == "failed"
    assert summary.message == "The file is gzip-compressed but truncated or corrupt; send it again."
    header_only = tmp_path / "h.csv"
    header_only.write_text(
        "txn_id,ucic,account_id,posted_at,amount,direction,channel,description\n"
    )
    empty = ingest(context, settings, "transactions", header_only)
    assert (empty.status, empty.read) == ("succeeded", 0)


def test_gzip_parquet_and_ndjson_inputs(
    tmp_path: Path, context: AppContext, settings: Settings, customers: service.RunSummary
) -> None:
    gz = write_csv(tmp_path / "t.csv.gz", [make_txn(txn_id="g1"), make_txn(txn_id="g2")])
    with gzip.open(gz, "rb") as fh:
        assert fh.read().startswith(b"txn_id")
    assert ingest(context, settings, "transactions", gz).stored == 2
    parquet = write_parquet(
        tmp_path / "t.parquet",
        [
            {**make_txn(txn_id="p1"), "amount": 12.5},  # a float amount
            {**make_txn(txn_id="p2"), "amount": 12.345},  # 3 decimals: refused, not rounded
            {**make_txn(txn_id="p3"), "amount": 0.1 + 0.2},  # float noise is not a third decimal
        ],
    )
    ps = ingest(context, settings, "transactions", parquet)
    assert (ps.stored, ps.quarantined) == (2, 1)
    assert quarantine(context, ps.run_id)[0].line == 2
    events = write_ndjson(
        tmp_path / "e.ndjson",
        [
            make_event(),
            make_event(event_id="e2", type="first_login"),
            make_event(event_id="e3", type="nope"),
        ],
    )
    (tmp_path / "e.ndjson").write_text(events.read_text() + "{not json\n")
    es = ingest(context, settings, "events", events)
    assert (es.read, es.stored, es.quarantined) == (4, 2, 2)
    lines = [(q.line, q.field) for q in quarantine(context, es.run_id)]
    assert lines == [(3, "type"), (4, "line")]
    ev = {r["event_id"]: r for r in lake_rows(settings.lake_dir, "events")}
    assert ev["e1"]["occurred_at"] == datetime(2026, 1, 5, 10, tzinfo=UTC)
    assert ev["e1"]["attributes"] == '{"amount":"100.00"}'


def test_accounts_snapshot_and_consents_history(
    tmp_path: Path, context: AppContext, settings: Settings, customers: service.RunSummary
) -> None:
    acc = ingest(
        context,
        settings,
        "accounts",
        write_csv(
            tmp_path / "acc.csv",
            [
                make_account(close_date=""),
                make_account(account_id="a2", close_date="2019-01-01", status="closed"),
            ],
        ),
    )
    assert (acc.stored, acc.quarantined) == (1, 1)
    row = lake_rows(settings.lake_dir, "accounts")[0]
    assert row["account_number_last4"] == "6789" and "account_number" not in row
    c1 = write_csv(
        tmp_path / "c1.csv",
        [
            make_consent(),
            make_consent(status="revoked", changed_at="2026-01-07T08:00:00Z"),
            make_consent(channel="sms", contact="+1 555 010 2030"),
        ],
    )
    assert ingest(context, settings, "consents", c1).stored == 3
    # an older change arriving late goes into the history but does not win
    late = write_csv(
        tmp_path / "c2.csv",
        [make_consent(status="granted", changed_at="2026-01-06T00:00:00+02:00")],
    )
    assert ingest(context, settings, "consents", late).stored == 1
    with db.transaction(context.sessions) as s:
        assert repo.consent_status(s, "acme", "c1", "email", "marketing") == "revoked"
        assert repo.consent_status(s, "acme", "c1", "sms", "marketing") == "granted"
        history = [(h.channel, h.status) for h in repo.consent_history(s, "acme", "c1")]
    assert history == [
        ("email", "granted"),
        ("sms", "granted"),
        ("email", "granted"),
        ("email", "revoked"),
    ]


def test_partner_scoping_and_unknown_partner(
    tmp_path: Path,
    context: AppContext,
    settings: Settings,
    customers: service.RunSummary,
    globex: PartnerKey,
) -> None:
    path = write_csv(tmp_path / "t.csv", [make_txn()])
    # globex does not know acme's customers: the same file is quarantined there
    summary = service.ingest_path(context.sessions, settings, "globex", "transactions", path)
    assert (summary.status, summary.quarantined) == ("failed", 1)
    with pytest.raises(Exception, match="Partner nobody not found"):
        service.ingest_path(context.sessions, settings, "nobody", "transactions", path)
    assert set(FEEDS) == {
        "customers",
        "accounts",
        "transactions",
        "events",
        "telemetry",
        "consents",
    }


def test_telemetry_partitions_by_its_own_date_and_dedupes(
    tmp_path: Path, context: AppContext, settings: Settings, customers: service.RunSummary
) -> None:
    def day(d: str, **kw: str) -> dict[str, str]:
        row = {"ucic": "c1", "date": d, "channel": "mobile", "logins": "3", "bill_pay": "0"}
        row.update({"p2p": "1", "rdc": "0", **kw})
        return row

    first = write_csv(tmp_path / "t1.csv", [day("2026-01-05"), day("2026-01-06", logins="-1")])
    s1 = ingest(context, settings, "telemetry", first)
    assert (s1.stored, s1.quarantined) == (1, 1)
    second = write_csv(
        tmp_path / "t2.csv",
        [day("2026-01-05"), day("2026-01-06"), day("2026-01-06", channel="web")],
    )
    s2 = ingest(context, settings, "telemetry", second)
    assert (s2.stored, s2.duplicate) == (2, 1)
    rows = lake_rows(settings.lake_dir, "telemetry")
    assert sorted((r["date"].isoformat(), r["channel"]) for r in rows) == [
        ("2026-01-05", "mobile"),
        ("2026-01-06", "mobile"),
        ("2026-01-06", "web"),
    ]
    assert all(isinstance(r["logins"], int) for r in rows)


def test_small_chunks_give_the_same_result(
    tmp_path: Path,
    context: AppContext,
    settings: Settings,
    customers: service.RunSummary,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A file read in many chunks (tokens cached across chunks, a date's rows in several row
    groups, duplicates in different chunks, bad rows' line numbers) lands as in one chunk."""
    from sightline.ingest import pipeline

    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 3)
    monkeypatch.setattr(pipeline, "ROW_GROUP_ROWS", 2)
    rows = [
        make_txn(txn_id=f"t{i}", posted_at=f"2026-01-0{1 + i % 3}", card_number=f"4111 {i % 4:04d}")
        for i in range(20)
    ]
    rows[7] = make_txn(txn_id="t7", amount="1.234")  # line 9
    rows[15] = make_txn(txn_id="t15", ucic="", member_id="m2")  # through the member map
    rows.append(make_txn(txn_id="t3", posted_at="2026-01-01", card_number="4111 0003"))
    rows.append(make_txn(txn_id="t19", ucic="c404"))  # line 23
    summary = ingest(context, settings, "transactions", write_csv(tmp_path / "t.csv", rows))
    assert (summary.read, summary.stored, summary.quarantined, summary.duplicate) == (22, 19, 2, 1)
    assert [(q.line, q.field) for q in quarantine(context, summary.run_id)] == [
        (9, "amount"),
        (23, "ucic"),
    ]
    lake = lake_rows(settings.lake_dir, "transactions")
    assert sorted(r["txn_id"] for r in lake) == sorted(f"t{i}" for i in range(20) if i != 7)
    key = masking.partner_key(settings.secret_key, "acme")
    for r in lake:
        n = int(r["txn_id"][1:])
        if n != 15:
            assert r["card_number_token"] == masking.token(key, f"4111{n % 4:04d}")
            assert r["card_number_last4"] == f"{n % 4:04d}"
    assert {r["ucic"] for r in lake if r["txn_id"] == "t15"} == {"c2"}
    assert summary.dates == ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-05"]


def test_parquet_read_in_many_batches_lands_every_row_once(
    tmp_path: Path,
    context: AppContext,
    settings: Settings,
    customers: service.RunSummary,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Parquet file is read by DuckDB on a background thread while the chunks before it are
    validated with DuckDB queries: the two must not share one connection (a query on the
    connection ends the reader's pending result and rows were read twice or lost)."""
    from sightline.ingest import pipeline, readers

    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 500)
    monkeypatch.setattr(readers, "DUCKDB_BATCH_ROWS", 256)
    rows = [
        make_txn(txn_id=f"q{i}", posted_at=f"2026-01-0{1 + i % 5}", mcc=str(5000 + i % 7))
        for i in range(6_000)
    ]
    summary = ingest(context, settings, "transactions", write_parquet(tmp_path / "t.parquet", rows))
    assert (summary.read, summary.stored, summary.quarantined, summary.duplicate) == (
        6_000,
        6_000,
        0,
        0,
    )
    assert sorted(r["txn_id"] for r in lake_rows(settings.lake_dir, "transactions")) == sorted(
        f"q{i}" for i in range(6_000)
    )


def test_each_run_hands_its_memory_back(
    tmp_path: Path,
    context: AppContext,
    settings: Settings,
    customers: service.RunSummary,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """jemalloc keeps freed pages during a run (set before pyarrow loads); every pipeline run,
    one that stores nothing included, releases them at its end."""
    import os

    from sightline.ingest import pipeline

    assert "dirty_decay_ms:-1" in os.environ["JE_ARROW_MALLOC_CONF"]
    calls: list[int] = []
    monkeypatch.setattr(pipeline, "_release_memory", lambda: calls.append(1))
    ok = ingest(context, settings, "transactions", write_csv(tmp_path / "t.csv", [make_txn()]))
    bad = write_csv(tmp_path / "bad.csv", [make_txn(txn_id="b1", amount="twelve")])
    failed = ingest(context, settings, "transactions", bad)  # every row refused
    assert (ok.status, failed.status) == ("succeeded", "failed")
    assert len(calls) == 2


def test_the_collector_is_paused_during_a_run_and_restored(
    tmp_path: Path,
    context: AppContext,
    settings: Settings,
    customers: service.RunSummary,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Python's cyclic collector is off while a run works (it walked every live object ~800
    times per 10M rows) and back on after it, when the run fails too; a process that had
    switched it off keeps it off."""
    import gc

    from sightline.ingest import pipeline

    seen: list[bool] = []
    load_known = pipeline.Pipeline._load_known

    def spy(self: pipeline.Pipeline) -> None:
        seen.append(gc.isenabled())
        load_known(self)

    monkeypatch.setattr(pipeline.Pipeline, "_load_known", spy)
    assert gc.isenabled()
    ok = ingest(context, settings, "transactions", write_csv(tmp_path / "t.csv", [make_txn()]))
    bad = write_csv(tmp_path / "bad.csv", [make_txn(txn_id="b1", amount="twelve")])
    failed = ingest(context, settings, "transactions", bad)
    assert (ok.status, failed.status, seen, gc.isenabled()) == (
        "succeeded",
        "failed",
        [False] * 2,
        True,
    )
    gc.disable()
    try:
        again = write_csv(tmp_path / "again.csv", [make_txn(txn_id="t2")])
        assert ingest(context, settings, "transactions", again).status == "succeeded"
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_file_hash_is_the_sha256_of_the_bytes(tmp_path: Path) -> None:
    """Hashed from a memory map; an empty file (which cannot be mapped) too."""
    import hashlib
    import os

    for name, data in (("empty", b""), ("small", b"a,b\n1,2\n"), ("big", os.urandom(9 << 20))):
        path = tmp_path / name
        path.write_bytes(data)
        assert service.file_hash(path) == hashlib.sha256(data).hexdigest(), name
