"""The refresh runner on SQLite and PostgreSQL: full, incremental, failures, the CLI."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from sightline.api.context import AppContext
from sightline.config import Settings
from sightline.insights.codes import taxonomy_lookup
from sightline.insights.refresh import (
    changed_customers,
    dates_to_enrich,
    default_as_of,
    lake_watermark,
    partner_lock,
    run_refresh,
    spill_dir,
)
from sightline.insights.refresh_models import KliRefresh
from sightline.insights.repository import Db, ucic_assignments
from sightline.store import db
from sightline.taxonomy import load_taxonomy
from tests.conftest import PartnerKey
from tests.insights import smallfi
from tests.insights.lakefixtures import txn, write_feed


def served(context: AppContext, ucic: str) -> set[str]:
    tax = load_taxonomy()
    with db.transaction(context.sessions) as session:
        rows = ucic_assignments(Db.of(session), "acme", ucic)
    return {tax.get(int(r[0])).key for r in rows}


def log_rows(context: AppContext) -> list[KliRefresh]:
    with db.transaction(context.sessions) as session:
        stmt = select(KliRefresh).order_by(KliRefresh.started_at)
        return list(session.execute(stmt).scalars())


def test_full_then_incremental_refresh(
    settings: Settings, context: AppContext, acme: PartnerKey
) -> None:
    lake = settings.lake_dir
    smallfi.build(lake)
    assert default_as_of(lake, "acme") == smallfi.AS_OF

    first = run_refresh(settings, context.sessions, "acme", enrich=None)
    assert first.mode == "full"  # the first refresh is always full
    assert first.customers == 4
    assert first.assignments > 30
    assert first.lost == 0  # the first publication is the history baseline
    c1 = served(context, "c1")
    assert {"merchant:starbucks", "competitive_product:mortgage:wells-fargo",
            "competitive_bank:wells-fargo", "fi_product:mortgage"} <= c1  # fmt: skip
    assert "competitive_bank:chase" not in c1

    # nothing new: an incremental refresh recomputes nobody
    idle = run_refresh(settings, context.sessions, "acme", enrich=None)
    assert (idle.mode, idle.customers, idle.assignments) == ("incremental", 0, 0)

    # a new day's file for c2: a first Starbucks visit; only c2 is recomputed
    later = datetime.now(UTC) + timedelta(seconds=5)
    row = txn("T-new-1", "c2", smallfi.AS_OF, 4.5, merchant_id="starbucks",
              category="Coffee Shops", category_group="Food & Dining")  # fmt: skip
    write_feed(lake, "transactions", "acme", [row], ingested_at=later)
    write_feed(lake, "enriched_transactions", "acme", [row], ingested_at=later)
    before_c1 = served(context, "c1")
    inc = run_refresh(settings, context.sessions, "acme", enrich=None)
    assert inc.mode == "incremental"
    assert inc.customers == 1
    assert inc.gained >= 1 and inc.lost == 0
    assert "merchant:starbucks" in served(context, "c2")
    assert served(context, "c1") == before_c1

    rows = log_rows(context)
    assert [r.mode for r in rows] == ["full", "incremental", "incremental"]
    assert all(r.status == "succeeded" and r.duration_seconds is not None for r in rows)
    assert rows[-1].watermark is not None and rows[-1].watermark > rows[0].watermark
    assert rows[0].detail and "compute" in rows[0].detail["timings"]

    full = run_refresh(settings, context.sessions, "acme", full=True, enrich=None)
    assert full.mode == "full" and full.customers == 4 and full.gained == 0 and full.lost == 0


def test_customer_losing_every_kli_is_cleared(
    settings: Settings, context: AppContext, acme: PartnerKey
) -> None:
    lake = settings.lake_dir
    old = datetime.now(UTC) - timedelta(days=1)
    row = txn("T1", "solo", smallfi.d(3), 9.0, merchant_id="target",
              category="Superstores", category_group="Shopping")  # fmt: skip
    write_feed(lake, "enriched_transactions", "acme", [row], ingested_at=old)
    write_feed(lake, "transactions", "acme", [row], ingested_at=old)
    run_refresh(settings, context.sessions, "acme", enrich=None, as_of=smallfi.AS_OF)
    assert "merchant:target" in served(context, "solo")
    # a refund-only event for "solo" in the future of the windows: data moves on a year
    event = {"event_id": "x1", "ucic": "solo", "type": "offer_clicked",
             "occurred_at": datetime.now(UTC)}  # fmt: skip
    write_feed(lake, "events", "acme", [event], ingested_at=datetime.now(UTC))
    later = smallfi.AS_OF + timedelta(days=400)
    inc = run_refresh(settings, context.sessions, "acme", enrich=None, as_of=later)
    assert inc.mode == "incremental" and inc.customers == 1
    assert served(context, "solo") == set()
    assert inc.lost >= 1


def test_failures_are_recorded(settings: Settings, context: AppContext, acme: PartnerKey) -> None:
    smallfi.build(settings.lake_dir)
    write_feed(settings.lake_dir, "transactions", "acme", [txn("R1", "c1", smallfi.d(1), 1.0)])

    def broken(_settings: Settings, _partner: str, dates: list) -> int:
        raise RuntimeError(f"enricher down for {len(dates)} dates")

    with pytest.raises(RuntimeError):
        run_refresh(settings, context.sessions, "acme", enrich=broken)
    (row,) = log_rows(context)
    assert row.status == "failed"
    assert row.error == "RuntimeError: enricher down for 1 dates"
    with pytest.raises(Exception, match="Partner nobody not found"):
        run_refresh(settings, context.sessions, "nobody", enrich=None)


def test_a_refresh_left_running_by_an_ended_process_is_closed_as_failed(
    settings: Settings, context: AppContext, acme: PartnerKey
) -> None:
    """A process killed mid-refresh leaves its row "running"; the partner's next refresh (which
    holds the partner's lock, so nothing else is running) closes it as failed, with the reason."""
    from sightline.insights.refresh import INTERRUPTED

    smallfi.build(settings.lake_dir)
    with db.transaction(context.sessions) as session:
        session.add(
            KliRefresh(
                refresh_id="ref_killed",
                partner_id="acme",
                mode="full",
                status="running",
                engine="duckdb",
                as_of=smallfi.d(1),
            )
        )
    spilled = spill_dir(settings, "ref_killed")  # what it had computed, never published
    spilled.mkdir(parents=True)
    (spilled / "assignments-00000.arrow").write_bytes(b"x" * 100)
    run_refresh(settings, context.sessions, "acme", full=True, as_of=smallfi.AS_OF)
    rows = {r.refresh_id: r for r in log_rows(context)}
    killed = rows.pop("ref_killed")
    assert (killed.status, killed.error) == ("failed", INTERRUPTED)
    assert killed.ended_at is not None
    assert [r.status for r in rows.values()] == ["succeeded"]
    assert not spilled.exists()


def test_a_full_refresh_in_ranges_publishes_range_by_range_and_cleans_up(
    settings: Settings, context: AppContext, acme: PartnerKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Computed in three ucic ranges, a full refresh keeps each range's assignments on disk
    and publishes them one after the other: the served sets are the one-range refresh's, and
    nothing is left in the data directory's tmp/ afterwards."""
    from sightline.insights import publish
    from sightline.insights.engines import DuckDBEngine

    smallfi.build(settings.lake_dir)
    run_refresh(settings, context.sessions, "acme", full=True, enrich=None)
    one_range = {u: served(context, u) for u in ("c1", "c2", "c3", "c4")}

    seen: list[int] = []
    original = publish._publish_full

    def parts_seen(db: object, partner_id: str, parts: object, *args: object, **kw: object):
        tables = list(parts)  # type: ignore[call-overload]
        seen.extend(t.num_rows for t in tables)
        spilled = sorted((settings.data_dir / "tmp").glob("ref_*/*.arrow"))
        seen.append(-len(spilled))  # the parts are files while they are published
        return original(db, partner_id, tables, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(publish, "_publish_full", parts_seen)
    ranged = DuckDBEngine(threads=2, memory_limit="1GB", parts=3)
    try:
        result = run_refresh(
            settings, context.sessions, "acme", full=True, enrich=None, engine=ranged
        )
    finally:
        ranged.close()
    *sizes, files = seen
    assert len(sizes) >= 2 and sum(sizes) == result.assignments and files == -len(sizes)
    assert {u: served(context, u) for u in one_range} == one_range
    assert result.gained == result.lost == 0
    assert not any((settings.data_dir / "tmp").glob("ref_*"))


def test_change_detection(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    t1 = t0 + timedelta(hours=1)
    acct = {"account_id": "a1", "ucic": "u1", "product": "checking", "balance": 5,
            "open_date": smallfi.d(900), "status": "open"}  # fmt: skip
    other = {**acct, "account_id": "a2", "ucic": "u2"}
    day2 = [{**acct, "as_of": smallfi.d(2)}, {**other, "as_of": smallfi.d(2)}]
    write_feed(lake, "accounts", "acme", day2, ingested_at=t0)
    write_feed(lake, "transactions", "acme", [txn("X", "u3", smallfi.d(2), 1.0)], ingested_at=t0)
    assert lake_watermark(lake, "acme") == t0.replace(tzinfo=None)
    # next day: same accounts (only balances move) + u2's account closes
    write_feed(
        lake,
        "accounts",
        "acme",
        [{**acct, "balance": 99, "as_of": smallfi.d(1)},
         {**other, "status": "closed", "as_of": smallfi.d(1)}],
        ingested_at=t1,
    )  # fmt: skip
    write_feed(lake, "transactions", "acme", [txn("Y", "u4", smallfi.d(1), 1.0)], ingested_at=t1)
    assert changed_customers(lake, "acme", t0.replace(tzinfo=None)) == {"u2", "u4"}
    assert lake_watermark(lake, "acme") == t1.replace(tzinfo=None)
    assert dates_to_enrich(lake, "acme", t0.replace(tzinfo=None)) == [smallfi.d(2), smallfi.d(1)]


def test_cli_refresh_and_log(
    settings: Settings, context: AppContext, acme: PartnerKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sightline.cli import app
    from sightline.cli_support import settings as cached_settings

    smallfi.build(settings.lake_dir)
    monkeypatch.setenv("SIGHTLINE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SIGHTLINE_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("SIGHTLINE_ENV", "test")
    cached_settings.cache_clear()
    try:
        runner = CliRunner()
        out = runner.invoke(app, ["refresh", "--partner", "acme", "--full", "--no-enrich",
                                  "--json"])  # fmt: skip
        assert out.exit_code == 0, out.output
        result = json.loads(out.stdout)
        assert result["mode"] == "full" and result["customers"] == 4
        log = runner.invoke(app, ["refresh-log", "--partner", "acme", "--json"])
        assert json.loads(log.stdout)[0]["refresh_id"] == result["refresh_id"]
        bad = runner.invoke(app, ["refresh", "--partner", "acme", "--as-of", "yesterday"])
        assert bad.exit_code == 2 and "--as-of" in bad.output
        missing = runner.invoke(app, ["refresh", "--partner", "nobody"])
        assert missing.exit_code == 1 and "nobody" in missing.output
    finally:
        cached_settings.cache_clear()
    assert taxonomy_lookup()("merchant:starbucks") is not None


def test_refreshes_of_one_partner_never_overlap(tmp_path: Path) -> None:
    settings = Settings(env="test", data_dir=tmp_path)
    order: list[str] = []

    def second() -> None:
        with partner_lock(settings, "acme"):
            order.append("second")

    with partner_lock(settings, "acme"):
        worker = threading.Thread(target=second)
        worker.start()
        time.sleep(0.3)
        order.append("first done")
    worker.join(timeout=5)
    assert order == ["first done", "second"]
    with partner_lock(settings, "acme"), partner_lock(settings, "globex"):
        pass  # other partners are independent


def test_recorded_duration_includes_the_commit_and_the_purge(
    settings: Settings, context: AppContext, acme: PartnerKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The publication and the ``succeeded`` row commit together; the duration stored after
    them covers the commit and the purge (a slow purge shows in it), and a failure after the
    commit leaves the refresh succeeded."""
    from sightline.insights import publish

    smallfi.build(settings.lake_dir)
    real_purge = publish.purge_stale_generations
    seen: list[str | None] = []

    def slow_purge(session: object, partner_id: str) -> None:
        # the publication is committed when the purge starts: another session sees it
        with db.transaction(context.sessions) as other:
            seen.append(other.execute(select(KliRefresh.status)).scalar_one())
        time.sleep(0.4)
        real_purge(session, partner_id)  # type: ignore[arg-type]

    monkeypatch.setattr(publish, "purge_stale_generations", slow_purge)
    result = run_refresh(settings, context.sessions, "acme", enrich=None)
    (row,) = log_rows(context)
    assert seen == ["succeeded"]
    assert row.status == "succeeded" and row.duration_seconds == result.duration_seconds
    assert row.detail is not None
    timings = row.detail["timings"]
    assert timings["purge"] >= 0.4 and "commit" in timings
    assert result.duration_seconds >= sum(timings.values()) - 0.01
    assert row.detail["scope"] is None and row.detail["unmapped_keys"] >= 0

    def broken_purge(session: object, partner_id: str) -> None:
        # the publish purges too before it writes; fail only the purge after the commit
        if [r.status for r in log_rows(context)] == ["succeeded", "succeeded"]:
            raise RuntimeError("purge failed")
        real_purge(session, partner_id)  # type: ignore[arg-type]

    monkeypatch.setattr(publish, "purge_stale_generations", broken_purge)
    with pytest.raises(RuntimeError, match="purge failed"):
        run_refresh(settings, context.sessions, "acme", full=True, enrich=None)
    assert [r.status for r in log_rows(context)] == ["succeeded", "succeeded"]


def test_footer_answers_are_cached_per_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sightline.insights import refresh

    lake = tmp_path / "lake"
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    row = txn("X", "u3", smallfi.d(2), 1.0)
    write_feed(lake, "transactions", "acme", [row], run_id="fixed", ingested_at=t0)
    reads: list[Path] = []
    real = refresh._read_max_ingested

    def counting(path: Path) -> datetime | None:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(refresh, "_read_max_ingested", counting)
    assert lake_watermark(lake, "acme") == t0.replace(tzinfo=None)
    assert lake_watermark(lake, "acme") == t0.replace(tzinfo=None)
    assert len(reads) == 1  # the second pass only stats the file
    # a new file is read, and so is a file replaced under the same name (new mtime)
    t1 = t0 + timedelta(hours=1)
    write_feed(lake, "transactions", "acme", [txn("Y", "u4", smallfi.d(1), 1.0)], ingested_at=t1)
    assert lake_watermark(lake, "acme") == t1.replace(tzinfo=None)
    assert len(reads) == 2
    t2 = t1 + timedelta(hours=1)
    write_feed(lake, "transactions", "acme", [row], run_id="fixed", ingested_at=t2)
    assert lake_watermark(lake, "acme") == t2.replace(tzinfo=None)
    assert len(reads) == 3
