"""Batch enrichment: files (the CLI) and the lake stage."""

from __future__ import annotations

import datetime as dt
import os
import time
from decimal import Decimal
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from sightline import duck
from sightline.config import Settings
from sightline.enrich import batch
from sightline.enrich import engine as engine_module
from sightline.enrich.batch import enrich_file, enrich_lake
from sightline.enrich.engine import FIELDS, Enricher
from sightline.enrich.normalise import descriptor_key
from sightline.errors import BadRequest, NotFound
from tests.enrich.helpers import tiny_directory

DESCRIPTORS = [
    ("PURCHASE AUTHORIZED ON 04/12 STARBUCKS STORE 05812 SEATTLE WA CARD 1234", "debit", "card"),
    ("PURCHASE AUTHORIZED ON 05/01 STARBUCKS STORE 00931 SEATTLE WA CARD 1234", "debit", "card"),
    ("DOORDASH*ZEEKS PIZZA 855-973-1040 CA", "debit", "card"),
    ("WELLS FARGO HOME MTG AUTO PAY 041223", "debit", "ach"),
    ("ZELLE TO MCDONALD ROSS ON 04/12 REF # BACXYZ12345", "debit", "p2p"),
    ("ACME CORP DES:PAYROLL ID:XXXXX INDN:JANE DOE CO ID:XXXXX PPD", "credit", "ach"),
    ("CHECK 1043", "debit", "check"),
    ("SQ *PIRATES COVE MINI G 0423", "debit", "card"),
]


@pytest.fixture(scope="module")
def tiny() -> Enricher:
    return Enricher(tiny_directory())


@pytest.fixture
def lake_settings(tmp_path: Path) -> Settings:
    return Settings(env="test", data_dir=tmp_path / "data")


def write_transactions(settings: Settings, partner: str, day: str, n: int, *, run: str) -> Path:
    """A lake file as ingestion writes it: feed columns minus PII, plus partner/run/time."""
    folder = settings.lake_dir / "transactions" / f"partner={partner}" / f"date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    rows = [DESCRIPTORS[i % len(DESCRIPTORS)] for i in range(n)]
    ids = f"{partner}-{day}" if run == "r1" else f"{partner}-{day}-{run}"  # txn_id is the key
    table = pa.table(
        {
            "txn_id": [f"{ids}-{i}" for i in range(n)],
            "ucic": [f"C{i % 7}" for i in range(n)],
            "member_id": pa.array([None] * n, pa.string()),
            "account_id": [f"A{i % 7}" for i in range(n)],
            "posted_at": pa.array([dt.date.fromisoformat(day)] * n, pa.date32()),
            "amount": pa.array([Decimal("12.34")] * n, pa.decimal128(18, 2)),
            "direction": [r[1] for r in rows],
            "channel": [r[2] for r in rows],
            "mcc": pa.array([None] * n, pa.string()),
            "description": [r[0] for r in rows],
            "card_number_token": pa.array([None] * n, pa.string()),
            "card_number_last4": pa.array([None] * n, pa.string()),
            "partner_id": [partner] * n,
            "ingest_run_id": [run] * n,
            "ingested_at": pa.array(
                [dt.datetime(2026, 11, 22, tzinfo=dt.UTC)] * n, pa.timestamp("us", tz="UTC")
            ),
        }
    )
    path = folder / f"{run}-0.parquet"
    pq.write_table(table, path)
    return path


def read_enriched(settings: Settings, partner: str) -> pa.Table:
    """Every transaction column and the fields (the enriched files joined to the transactions),
    ordered by txn_id."""
    con = batch.backend()
    try:
        view = batch.enriched_transactions(con, settings.lake_dir, partner)
        return con.to_pyarrow(view.order_by("txn_id"))
    finally:
        con.disconnect()


def read_enriched_files(settings: Settings, partner: str) -> pa.Table:
    """The enriched lake files as written, ordered by txn_id."""
    root = settings.lake_dir / "enriched_transactions" / f"partner={partner}"
    con = duck.connect()  # in UTC, as the backend of the view
    return con.execute(
        f"SELECT * FROM read_parquet('{root}/date=*/*.parquet', hive_partitioning = false) "
        "ORDER BY txn_id"
    ).to_arrow_table()


def test_lake_stage_enriches_distinct_descriptors_once(
    lake_settings: Settings, tiny: Enricher
) -> None:
    write_transactions(lake_settings, "acme", "2026-11-01", 40, run="r1")
    write_transactions(lake_settings, "acme", "2026-11-02", 16, run="r1")
    write_transactions(lake_settings, "globex", "2026-11-01", 5, run="r1")
    stats = enrich_lake(lake_settings, "acme", enricher=tiny)
    assert stats.rows == 56
    assert stats.distinct_descriptors == len(DESCRIPTORS) - 1  # the two Starbucks lines share a key
    assert stats.dates == ("2026-11-01", "2026-11-02")
    for f in stats.files:
        assert "/enriched_transactions/partner=acme/date=2026-11-0" in f
    table = read_enriched(lake_settings, "acme")
    assert table.num_rows == 56
    names = table.column_names
    for col in ("txn_id", "ucic", "amount", "description", "partner_id", "ingest_run_id"):
        assert col in names
    assert set(FIELDS) <= set(names)
    assert set(table.column("partner_id").to_pylist()) == {"acme"}
    assert table.schema.field("amount").type == pa.decimal128(18, 2)
    rows = {r["txn_id"]: r for r in table.to_pylist()}
    assert rows["acme-2026-11-01-0"]["merchant_name"] == "Starbucks"
    assert rows["acme-2026-11-01-2"]["sub_merchant"] == "Zeeks Pizza"
    mortgage = rows["acme-2026-11-01-3"]
    assert (mortgage["competitive_fi"], mortgage["fi_product"]) == ("Wells Fargo", "mortgage")
    assert rows["acme-2026-11-01-4"]["transaction_kind"] == "p2p"
    assert rows["acme-2026-11-01-5"]["merchant_name"] == "Acme Corp"
    assert rows["acme-2026-11-01-6"]["transaction_kind"] == "check"
    # the batch gives exactly what the single-descriptor path gives
    for r in table.to_pylist()[:16]:
        one = tiny.enrich(r["description"], direction=r["direction"], channel=r["channel"])
        assert {f: r[f] for f in FIELDS} == {f: getattr(one, f) for f in FIELDS}


def test_rerun_replaces_a_date_and_leaves_the_others(
    lake_settings: Settings, tiny: Enricher
) -> None:
    write_transactions(lake_settings, "acme", "2026-11-01", 8, run="r1")
    write_transactions(lake_settings, "acme", "2026-11-02", 8, run="r1")
    first = enrich_lake(lake_settings, "acme", enricher=tiny)
    day2_before = sorted(p for p in first.files if "2026-11-02" in p)
    write_transactions(lake_settings, "acme", "2026-11-01", 12, run="r2")  # a late file
    second = enrich_lake(lake_settings, "acme", dates=["2026-11-01"], enricher=tiny)
    assert second.dates == ("2026-11-01",)
    assert second.rows == 20
    out = lake_settings.lake_dir / "enriched_transactions" / "partner=acme"
    day1 = sorted(str(p) for p in (out / "date=2026-11-01").glob("*.parquet"))
    assert day1 == sorted(second.files)
    assert not set(day1) & set(first.files)
    assert sorted(str(p) for p in (out / "date=2026-11-02").glob("*.parquet")) == day2_before
    assert read_enriched(lake_settings, "acme").num_rows == 28
    assert not list(out.glob(".*"))  # no staging or old folders left behind


def test_interrupted_swap_is_repaired(lake_settings: Settings, tiny: Enricher) -> None:
    write_transactions(lake_settings, "acme", "2026-11-01", 8, run="r1")
    enrich_lake(lake_settings, "acme", enricher=tiny)
    out = lake_settings.lake_dir / "enriched_transactions" / "partner=acme"
    # a crash after moving the old folder away but before the new one arrived
    (out / "date=2026-11-01").rename(out / ".old-run9-abc-date=2026-11-01")
    (out / ".staging-run9-abc" / "date=2026-11-01").mkdir(parents=True)
    assert enrich_lake(lake_settings, "acme", dates=["2026-11-02"], enricher=tiny).rows == 0
    assert (out / "date=2026-11-01").is_dir()
    assert not list(out.glob(".*"))
    assert read_enriched(lake_settings, "acme").num_rows == 8


def test_lake_stage_bad_input(lake_settings: Settings, tiny: Enricher) -> None:
    assert enrich_lake(lake_settings, "acme", enricher=tiny).rows == 0
    with pytest.raises(BadRequest, match="partner_id"):
        enrich_lake(lake_settings, "../etc", enricher=tiny)
    with pytest.raises(BadRequest, match="dates"):
        enrich_lake(lake_settings, "acme", dates=["2026-13-01"], enricher=tiny)


def test_enrich_file_csv_and_parquet(tmp_path: Path, tiny: Enricher) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        "id,description,direction,mcc,amount,category\n"
        '1,"SQ *PIRATES COVE MINI G 0423",debit,7999,12.50,x\n'
        '2,"WELLS FARGO HOME MTG AUTO PAY",debit,,1500.00,y\n'
        '3,"STARBUCKS STORE 123 SEATTLE WA",debit,0742,4.50,z\n'
    )
    stats = enrich_file(src, tmp_path / "out.parquet", enricher=tiny)
    assert (stats.rows, stats.distinct_descriptors) == (3, 3)
    table = pq.read_table(tmp_path / "out.parquet")
    cols = table.column_names
    assert cols[:6] == ["id", "description", "direction", "mcc", "amount", "category_input"]
    assert set(FIELDS) <= set(cols)
    got = table.to_pylist()
    assert got[0]["mcc"] == "7999" and got[2]["mcc"] == "0742"  # input kept as written
    assert got[1]["competitive_fi"] == "Wells Fargo"
    assert got[2]["merchant_name"] == "Starbucks"
    again = enrich_file(tmp_path / "out.parquet", tmp_path / "again.csv", enricher=tiny)
    assert again.rows == 3
    assert (tmp_path / "again.csv").read_text().splitlines()[0].startswith("id,description")


def test_enrich_file_errors(tmp_path: Path, tiny: Enricher) -> None:
    with pytest.raises(NotFound):
        enrich_file(tmp_path / "missing.csv", tmp_path / "o.csv", enricher=tiny)
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n")
    with pytest.raises(BadRequest, match="Column description is required"):
        enrich_file(bad, tmp_path / "o.csv", enricher=tiny)
    with pytest.raises(BadRequest, match=r"\.csv or \.parquet"):
        enrich_file(bad, tmp_path / "o.json", enricher=tiny)
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"not parquet at all")
    with pytest.raises(BadRequest, match=r"Cannot read garbage\.parquet"):
        enrich_file(garbage, tmp_path / "o.csv", enricher=tiny)


def test_cli(tmp_path: Path, tiny: Enricher, monkeypatch: pytest.MonkeyPatch) -> None:
    from sightline.cli import app

    monkeypatch.setattr(engine_module, "default_enricher", lambda: tiny)
    src = tmp_path / "in.csv"
    src.write_text('description,direction\n"CHECK 1043",debit\n"ZELLE TO MCDONALD ROSS",debit\n')
    runner = CliRunner()
    ok = runner.invoke(app, ["enrich", str(src), "-o", str(tmp_path / "out.csv")])
    assert ok.exit_code == 0, ok.output
    assert "enriched 2 rows" in ok.output
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert len(lines) == 3 and "transaction_kind" in lines[0]
    missing = runner.invoke(app, ["enrich", str(tmp_path / "nope.csv"), "-o", "x.csv"])
    assert missing.exit_code == 1
    assert "does not exist" in " ".join(missing.output.split())
    assert "Traceback" not in missing.output
    bad = tmp_path / "bad.csv"
    bad.write_text("x\n1\n")
    nodesc = runner.invoke(app, ["enrich", str(bad), "-o", str(tmp_path / "o.csv")])
    assert nodesc.exit_code == 1
    assert "Column description is required" in " ".join(nodesc.output.split())


def test_cli_enrich_lake(tmp_path: Path, tiny: Enricher, monkeypatch: pytest.MonkeyPatch) -> None:
    from sightline import cli_support
    from sightline.cli import app

    settings = Settings(env="test", data_dir=tmp_path / "data")
    write_transactions(settings, "acme", "2026-11-01", 8, run="r1")
    monkeypatch.setenv("SIGHTLINE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setattr(engine_module, "default_enricher", lambda: tiny)
    cli_support.settings.cache_clear()
    try:
        runner = CliRunner()
        ok = runner.invoke(app, ["enrich-lake", "acme", "--date", "2026-11-01"])
        assert ok.exit_code == 0, ok.output
        assert "enriched 8 rows, 1 dates" in " ".join(ok.output.split())
        assert read_enriched(settings, "acme").num_rows == 8
        bad = runner.invoke(app, ["enrich-lake", "acme", "--date", "2026-02-30"])
        assert bad.exit_code == 2
        assert "Traceback" not in bad.output
    finally:
        cli_support.settings.cache_clear()


def test_key_expr_equals_python_key() -> None:
    """The Ibis key (what the stage groups on) is exactly the engine's Python key."""
    import csv

    with (Path(__file__).parents[1] / "data" / "labelled_descriptors.csv").open() as fh:
        raws = [r["description"] for r in csv.DictReader(fh)]
    raws += [d for d, _, _ in DESCRIPTORS]
    raws += ["McDonald's #4412 (617) 555-0134 $12.50", "A\tB  C\n", "  ", "", "JOE'S 04/12/26"]
    con = batch.backend()
    try:
        t = ibis.memtable({"raw": raws})
        got = con.execute(t.select(key=batch.key_expr(t.raw)))["key"].tolist()
    finally:
        con.disconnect()
    assert got == [descriptor_key(r) for r in raws]


def _context_rows() -> list[tuple[str, str | None, str | None]]:
    """One descriptor under every context the join must keep apart (NULL included)."""
    out: list[tuple[str, str | None, str | None]] = []
    for desc in ("TRANSFER FROM SAV 1234", "ACME CORP PAYROLL PPD", "STARBUCKS STORE 123"):
        for direction in ("debit", "credit", None, "sideways"):
            for mcc in (None, "5814", "742", "0742"):
                out.append((desc, direction, mcc))
    return out


def test_enrich_file_context_nulls_and_order(tmp_path: Path, tiny: Enricher) -> None:
    """Rows keep the input's order (the join back does not) and every row gets exactly what the
    single-descriptor path gives for its own context; NULL context matches NULL."""
    import random

    variants = _context_rows()
    rng = random.Random(5)
    n = 300_000  # 30 row groups, scanned and joined in parallel: unsorted, the order is lost
    picks = [rng.randrange(len(variants)) for _ in range(n)]
    table = pa.table(
        {
            "row": pa.array(range(n), pa.int64()),
            "description": [variants[i][0] for i in picks],
            "direction": [variants[i][1] for i in picks],
            "mcc": [variants[i][2] for i in picks],
        }
    )
    src = tmp_path / "in.parquet"
    pq.write_table(table, src, row_group_size=10_000)
    stats = enrich_file(src, tmp_path / "out.parquet", enricher=tiny)
    assert stats.rows == n
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.column("row").to_pylist() == list(range(n))
    assert out.column_names == [*table.column_names, *FIELDS]
    assert all(
        pa.types.is_string(out.schema.field(f).type)
        for f in FIELDS
        if f not in ("merchant_kli_code", "match_score")
    )
    seen: dict[tuple[str, str | None, str | None], dict[str, object]] = {}
    for r in out.slice(0, 5_000).to_pylist():
        ctx = (r["description"], r["direction"], r["mcc"])
        got = {f: r[f] for f in FIELDS}
        if ctx in seen:
            assert got == seen[ctx]
            continue
        one = tiny.enrich(r["description"], direction=r["direction"], mcc=r["mcc"])
        want = {f: getattr(one, f) for f in FIELDS}
        if r["direction"] not in ("debit", "credit"):
            want = {f: getattr(tiny.enrich(r["description"], mcc=r["mcc"]), f) for f in FIELDS}
        assert got == want, ctx
        seen[ctx] = got
    # the context really reached the engine: direction and MCC change the answer
    payroll = {c[1:]: seen[c] for c in seen if c[0] == "ACME CORP PAYROLL PPD"}
    assert payroll[("credit", None)]["transaction_kind"] == "payroll"
    assert payroll[(None, None)]["transaction_kind"] == "card_purchase"
    assert payroll[("debit", "5814")]["mcc_description"] == "Fast Food Restaurants"
    assert payroll[("debit", "742")] == payroll[("debit", "0742")] != payroll[("debit", None)]


def test_enum_and_text_paths_write_the_same(
    tmp_path: Path, tiny: Enricher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fields written from ENUMs (few values) and as plain text (too many values, or a small
    batch) are equal, and ENUM fields reach the file as dictionary-encoded text."""
    src = tmp_path / "in.csv"
    lines = [f'"{d}",{direction}' for d, direction, _ in DESCRIPTORS * 3]
    src.write_text("description,direction\n" + "\n".join(lines) + "\n")
    enrich_file(src, tmp_path / "small.parquet", enricher=tiny)  # this small: text by default
    monkeypatch.setattr(batch, "ENUM_MIN_ROWS", 0)
    enrich_file(src, tmp_path / "enum.parquet", enricher=tiny)
    monkeypatch.setattr(batch, "ENUM_MAX_VALUES", 0)
    enrich_file(src, tmp_path / "text.parquet", enricher=tiny)
    assert pq.read_table(tmp_path / "enum.parquet").equals(pq.read_table(tmp_path / "text.parquet"))
    assert pq.read_table(tmp_path / "small.parquet").equals(
        pq.read_table(tmp_path / "text.parquet")
    )
    assert pq.read_schema(tmp_path / "enum.parquet").field("merchant_name").type == pa.string()


def test_dictionary_table_types() -> None:
    con = batch.backend()
    try:
        answers = pa.table({"_sl_key": ["A", "B", "C"], "merchant_name": ["X", "Y", None]})
        answers = answers.append_column("city", pa.array([None] * 3, pa.string()))
        batch._dictionary_table(con, "_sl_t", answers)
        types = {r[0]: r[1] for r in con.raw_sql("DESCRIBE _sl_t").fetchall()}
    finally:
        con.disconnect()
    assert types == {"_sl_key": "VARCHAR", "merchant_name": "ENUM('X', 'Y')", "city": "VARCHAR"}


def test_input_columns_named_like_fields_are_kept(tmp_path: Path, tiny: Enricher) -> None:
    src = tmp_path / "in.csv"
    src.write_text('description,category,category_input\n"CHECK 1043",mine,also mine\n')
    enrich_file(src, tmp_path / "out.csv", enricher=tiny)
    header = (tmp_path / "out.csv").read_text().splitlines()[0].split(",")
    assert header[:3] == ["description", "category_input_2", "category_input"]
    assert "category" in header[3:]


def test_lake_files_ordered_by_ucic_in_small_row_groups(
    lake_settings: Settings, tiny: Enricher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With order_by_ucic each date is one file, rows ordered by ucic, row groups with narrow
    ucic min/max; the rows are those of the Ibis file path (same fields for every row)."""
    monkeypatch.setattr(batch, "ROW_GROUP_ROWS", 2048)
    src = write_transactions(lake_settings, "acme", "2026-11-01", 9000, run="r1")
    stats = enrich_lake(lake_settings, "acme", enricher=tiny, order_by_ucic=True)
    (path,) = stats.files
    meta = pq.read_metadata(path)
    assert meta.num_rows == 9000 and meta.num_row_groups == 5
    ucic = meta.schema.to_arrow_schema().names.index("ucic")
    bounds = [
        (
            meta.row_group(i).column(ucic).statistics.min,
            meta.row_group(i).column(ucic).statistics.max,
        )
        for i in range(meta.num_row_groups)
    ]
    assert all(lo <= hi for lo, hi in bounds)
    assert all(bounds[i][1] <= bounds[i + 1][0] for i in range(len(bounds) - 1))
    lake_rows = pq.read_table(path)
    assert lake_rows.column("ucic").to_pylist() == sorted(lake_rows.column("ucic").to_pylist())
    plain = lake_settings.data_dir / "plain.parquet"  # outside the hive folders
    plain.write_bytes(src.read_bytes())
    enrich_file(plain, lake_settings.data_dir / "file.parquet", enricher=tiny)
    by_file = pq.read_table(lake_settings.data_dir / "file.parquet")
    by_file = by_file.select([*(batch.LAKE_COLUMNS or ()), *FIELDS])
    assert lake_rows.schema.equals(by_file.schema)
    assert lake_rows.sort_by("txn_id").equals(by_file.sort_by("txn_id"))
    # the unordered write (the default's alternative) holds the same rows
    (unordered,) = enrich_lake(lake_settings, "acme", enricher=tiny, order_by_ucic=False).files
    assert pq.read_table(unordered).sort_by("txn_id").equals(lake_rows.sort_by("txn_id"))


def test_lake_dates_with_other_columns_and_empty_files(
    lake_settings: Settings, tiny: Enricher
) -> None:
    """Dates are written one by one with the union's columns and types: a column a date's file
    lacks is NULL there; a date whose files have no rows gets no output."""
    write_transactions(lake_settings, "acme", "2026-11-01", 8, run="r1")
    old = write_transactions(lake_settings, "acme", "2026-11-02", 8, run="r1")
    pq.write_table(pq.read_table(old).drop_columns(["channel", "account_id"]), old)
    empty = write_transactions(lake_settings, "acme", "2026-11-03", 4, run="r1")
    pq.write_table(pq.read_table(empty).slice(0, 0), empty)
    stats = enrich_lake(lake_settings, "acme", enricher=tiny)
    assert stats.dates == ("2026-11-01", "2026-11-02")
    assert stats.rows == 16
    schemas = {pq.read_schema(f).remove_metadata() for f in stats.files}
    assert len(schemas) == 1  # the same columns and types in every date
    rows = {r["txn_id"]: r for r in read_enriched(lake_settings, "acme").to_pylist()}
    assert rows["acme-2026-11-02-0"]["channel"] is None
    assert rows["acme-2026-11-02-0"]["account_id"] is None
    assert rows["acme-2026-11-01-0"]["channel"] == "card"
    # no channel: the context differs, so the answer is the one for no channel
    one = tiny.enrich(DESCRIPTORS[0][0], direction="debit")
    assert rows["acme-2026-11-02-0"]["merchant_name"] == one.merchant_name


def test_answers_reused_across_batches(
    lake_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A later batch with the same Enricher enriches only keys it has not seen; answers equal."""
    engine = Enricher(tiny_directory())
    calls: list[str] = []
    original = engine.enrich_key

    def counting(key: str, *args: str | None) -> object:
        calls.append(key)
        return original(key, *args)

    monkeypatch.setattr(engine, "enrich_key", counting)
    write_transactions(lake_settings, "acme", "2026-11-01", 16, run="r1")
    first = enrich_lake(lake_settings, "acme", enricher=engine)
    assert len(calls) == first.distinct_descriptors == len(DESCRIPTORS) - 1
    before = read_enriched(lake_settings, "acme")
    calls.clear()
    write_transactions(lake_settings, "acme", "2026-11-02", 16, run="r1")
    second = enrich_lake(lake_settings, "acme", dates=["2026-11-02"], enricher=engine)
    assert second.distinct_descriptors == len(DESCRIPTORS) - 1 and calls == []
    after = read_enriched(lake_settings, "acme")
    day1 = [r for r in after.to_pylist() if r["txn_id"].startswith("acme-2026-11-01")]
    day2 = {r["txn_id"].rsplit("-", 1)[1]: r for r in after.to_pylist() if r not in day1}
    for r in before.to_pylist():
        twin = day2[r["txn_id"].rsplit("-", 1)[1]]
        assert {f: r[f] for f in FIELDS} == {f: twin[f] for f in FIELDS}
    # a full cache starts over rather than growing without bound
    monkeypatch.setattr(batch, "ANSWER_CACHE_MAX", 0)
    enrich_lake(lake_settings, "acme", dates=["2026-11-02"], enricher=engine)
    assert len(calls) == len(DESCRIPTORS) - 1


def test_keys_enriched_on_forked_cores_give_the_same_answers(
    lake_settings: Settings, tiny: Enricher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above PARALLEL_MIN_KEYS new keys, shares go to forked children: the files are the same
    as one core's, the progress ends at the total, and a child that dies has its share done in
    the parent."""
    folder = lake_settings.lake_dir / "transactions" / "partner=acme" / "date=2026-11-01"
    folder.mkdir(parents=True)
    tags = [f"{chr(65 + n // 26)}{chr(65 + n % 26)}Q" for n in range(40)]  # keys drop digits
    rows = [(f"{d} {tag}", direction) for tag in tags for d, direction, _ in DESCRIPTORS]
    rows += [(d, direction) for d, direction, _ in _context_rows()]
    n = len(rows)
    pq.write_table(
        pa.table(
            {
                "txn_id": [f"t{i}" for i in range(n)],
                "ucic": [f"C{i % 7}" for i in range(n)],
                "description": [r[0] for r in rows],
                "direction": [r[1] for r in rows],
            }
        ),
        folder / "r1-0.parquet",
    )

    def run(min_keys: int) -> tuple[pa.Table, list[tuple[int, int]]]:
        batch._answers.pop(tiny, None)  # every key new again
        monkeypatch.setattr(batch, "PARALLEL_MIN_KEYS", min_keys)
        seen: list[tuple[int, int]] = []
        stats = enrich_lake(
            lake_settings,
            "acme",
            enricher=tiny,
            threads=2,
            progress=lambda d, t: seen.append((d, t)),
        )
        assert stats.rows == n
        return read_enriched(lake_settings, "acme"), seen

    calls: list[str] = []  # keys enriched in this process (a child's calls stay in the child)
    original = tiny.enrich_key

    def counting(key: str, *args: str | None) -> object:
        calls.append(key)
        return original(key, *args)

    monkeypatch.setattr(tiny, "enrich_key", counting)
    one_core, _ = run(10**9)
    keys = len(calls)
    calls.clear()
    forked, progress = run(4)
    assert progress[-1][0] == progress[-1][1] == keys > 100
    assert 0 < len(calls) <= keys // 2 + 1
    assert forked.equals(one_core)

    def dies(*args: object) -> None:
        os._exit(3)

    monkeypatch.setattr(batch, "_child_share", dies)
    calls.clear()
    assert run(4)[0].equals(one_core)
    assert len(calls) == keys

    def hangs(*args: object) -> None:
        time.sleep(3600)

    monkeypatch.setattr(batch, "_child_share", hangs)  # stopped when its time is up
    monkeypatch.setattr(batch, "CHILD_SECONDS", 0.5)
    monkeypatch.setattr(batch, "CHILD_SECONDS_PER_KEY", 0.0)
    calls.clear()
    started = time.monotonic()
    assert run(4)[0].equals(one_core)
    assert len(calls) == keys and time.monotonic() - started < 60


def test_lake_files_keep_the_key_and_rule_columns_and_the_view_gives_every_column(
    lake_settings: Settings, tiny: Enricher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Enriched files hold LAKE_COLUMNS then FIELDS; enriched_transactions() joined back to the
    transactions equals, row for row and type for type, the files of the layout that copied every
    transaction column (LAKE_COLUMNS = None); a date not enriched yet is left out."""
    write_transactions(lake_settings, "acme", "2026-11-01", 40, run="r1")
    write_transactions(lake_settings, "acme", "2026-11-02", 16, run="r1")
    enrich_lake(lake_settings, "acme", enricher=tiny)
    files = read_enriched_files(lake_settings, "acme")
    assert files.column_names == [*(batch.LAKE_COLUMNS or ()), *FIELDS]
    assert files.schema.field("amount").type == pa.decimal128(18, 2)
    assert files.schema.field("posted_at").type == pa.date32()
    view = read_enriched(lake_settings, "acme")
    monkeypatch.setattr(batch, "LAKE_COLUMNS", None)
    enrich_lake(lake_settings, "acme", enricher=tiny)
    full = read_enriched_files(lake_settings, "acme")
    assert (
        full.column_names[: -len(FIELDS)]
        == pq.read_schema(
            lake_settings.lake_dir / "transactions/partner=acme/date=2026-11-01/r1-0.parquet"
        ).names
    )
    assert view.equals(full)
    # a date ingested but not enriched yet: not in the view
    write_transactions(lake_settings, "acme", "2026-11-03", 4, run="r1")
    assert read_enriched(lake_settings, "acme").num_rows == 56
    con = batch.backend()
    try:
        one_day = batch.enriched_transactions(
            con, lake_settings.lake_dir, "acme", dates=[dt.date(2026, 11, 2)]
        )
        assert con.to_pyarrow(one_day).num_rows == 16
        with pytest.raises(NotFound, match="partner globex"):
            batch.enriched_transactions(con, lake_settings.lake_dir, "globex")
        with pytest.raises(BadRequest, match="partner_id"):
            batch.enriched_transactions(con, lake_settings.lake_dir, "../x")
    finally:
        con.disconnect()


def test_a_failing_batch_leaves_no_forked_child(
    tiny: Enricher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When this process's share fails, the children (here: stuck) are stopped, and the error
    is raised."""
    import multiprocessing
    import time

    parent = os.getpid()

    def broken(key: str, *args: str | None) -> object:
        if os.getpid() == parent:
            raise RuntimeError("engine broke")
        time.sleep(60)
        raise AssertionError("unreachable")

    monkeypatch.setattr(tiny, "enrich_key", broken)
    monkeypatch.setattr(batch, "PARALLEL_MIN_KEYS", 4)
    todo: list[batch.AnswerKey] = [(f"KEY {i}", "debit", None, None, None) for i in range(20)]
    started = time.perf_counter()
    with pytest.raises(RuntimeError, match="engine broke"):
        batch._enrich_keys(tiny, todo, 2, None)
    assert multiprocessing.active_children() == []
    assert time.perf_counter() - started < 30
