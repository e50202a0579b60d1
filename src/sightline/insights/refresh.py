"""The refresh runner: enrich new transactions, compute the KLIs, publish them, log the refresh.

- **full**: every customer of the partner is recomputed and the complete set is published;
- **incremental**: only customers with data ingested after the last successful refresh's
  *watermark* (the newest ``ingested_at`` it saw) are recomputed — over their full windows — and
  only their rows are replaced. A partner's first refresh is always full.

Each refresh is a row in ``kli_refreshes`` (status, timings, counts: customers, assignments,
gained, lost). The runner owns its units of work (it is an edge like the CLI): the ``running``
row is committed first, then the publish and the ``succeeded`` row commit together, so readers
switch to the new assignments exactly when the log says ``succeeded``. The duration is recorded
truthfully: a short transaction after that commit (and after the purge of the old generation)
stores the whole run's wall time and the ``commit`` / ``purge`` timings beside the others.
"""

from __future__ import annotations

import fcntl
import logging
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sightline.config import Settings
from sightline.errors import BadRequest, NotFound
from sightline.insights import private as private_expr
from sightline.insights.codes import CodeLookup, taxonomy_lookup
from sightline.insights.engines import Engine, create_engine
from sightline.insights.inputs import ENRICHED
from sightline.insights.pipeline import AssignmentParts, PrivateKli, compute_assignments
from sightline.insights.refresh_models import KliRefresh
from sightline.insights.rules import RuleSet, load_rules
from sightline.lake import date_partitions, partner_dir
from sightline.store.base import utcnow
from sightline.store.db import transaction
from sightline.store.models import Partner

log = logging.getLogger(__name__)

RAW_FEEDS = ("transactions", "accounts", "customers", "events", "telemetry")
#: feeds whose new rows make a customer "changed" for an incremental refresh
CHANGE_FEEDS = ("transactions", "customers", "events", "telemetry")


@dataclass
class RefreshResult:
    refresh_id: str
    partner_id: str
    mode: str
    as_of: date
    customers: int
    assignments: int
    gained: int
    lost: int
    transactions_enriched: int
    duration_seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    unmapped_keys: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "refresh_id": self.refresh_id,
            "partner_id": self.partner_id,
            "mode": self.mode,
            "as_of": self.as_of.isoformat(),
            "customers": self.customers,
            "assignments": self.assignments,
            "gained": self.gained,
            "lost": self.lost,
            "transactions_enriched": self.transactions_enriched,
            "duration_seconds": self.duration_seconds,
            "timings": self.timings,
            "unmapped_keys": self.unmapped_keys,
        }


# --- what is new in the lake -----------------------------------------------------------------


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _file_max_ingested(path: Path) -> datetime | None:
    """Newest ``ingested_at`` of a Parquet file, from its row-group statistics when present.

    Lake files are never rewritten in place (:mod:`sightline.lake`), so the answer is kept per
    (path, size, mtime): in a long-lived process (the server's scheduler) a refresh reads only
    the footers of files it has not seen."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return _read_max_ingested(path)  # let the reader raise its own error
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key in _NEWEST:
        return _NEWEST[key]
    value = _read_max_ingested(path)
    if len(_NEWEST) >= NEWEST_CACHE_MAX:
        _NEWEST.clear()
    _NEWEST[key] = value
    return value


#: files whose newest ``ingested_at`` is cached (cleared when full)
NEWEST_CACHE_MAX = 200_000
_NEWEST: dict[tuple[str, int, int], datetime | None] = {}


def _read_max_ingested(path: Path) -> datetime | None:
    meta = pq.ParquetFile(path).metadata
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    if "ingested_at" not in names:
        return None
    idx = names.index("ingested_at")
    best: datetime | None = None
    for rg in range(meta.num_row_groups):
        stats = meta.row_group(rg).column(idx).statistics
        if stats is None or not stats.has_min_max:
            column = pq.read_table(path, columns=["ingested_at"])["ingested_at"]
            top = pc.max(column).as_py()
            return _naive_utc(top) if top is not None else None
        value = stats.max
        if isinstance(value, datetime):
            value = _naive_utc(value)
            best = value if best is None or value > best else best
    return best


def feed_files(lake_dir: Path, feed: str, partner_id: str) -> list[Path]:
    root = partner_dir(lake_dir, feed, partner_id)
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("date=*/*.parquet") if p.is_file())


def newer_files(
    lake_dir: Path, feed: str, partner_id: str, watermark: datetime | None
) -> list[tuple[Path, datetime | None]]:
    out = []
    for path in feed_files(lake_dir, feed, partner_id):
        newest = _file_max_ingested(path)
        if watermark is None or (newest is not None and newest > watermark):
            out.append((path, newest))
    return out


def lake_watermark(lake_dir: Path, partner_id: str) -> datetime | None:
    best: datetime | None = None
    for feed in RAW_FEEDS:
        for _, newest in newer_files(lake_dir, feed, partner_id, None):
            if newest is not None and (best is None or newest > best):
                best = newest
    return best


def _rows_after(paths: list[Path], columns: list[str], watermark: datetime) -> pa.Table:
    dataset = ds.dataset([str(p) for p in paths], format="parquet")
    col_type = dataset.schema.field("ingested_at").type
    threshold = pa.scalar(watermark.replace(tzinfo=UTC) if col_type.tz else watermark, col_type)
    return dataset.to_table(columns=columns, filter=ds.field("ingested_at") > threshold)


def changed_customers(lake_dir: Path, partner_id: str, watermark: datetime) -> set[str]:
    """ucics with rows ingested after ``watermark``; for account snapshots only those whose
    accounts, products or statuses changed (a new daily snapshot alone changes nobody)."""
    found: set[str] = set()
    for feed in CHANGE_FEEDS:
        paths = [p for p, _ in newer_files(lake_dir, feed, partner_id, watermark)]
        if paths:
            table = _rows_after(paths, ["ucic"], watermark)
            found.update(v for v in pc.unique(table["ucic"]).to_pylist() if v)
    found.update(_changed_accounts(lake_dir, partner_id, watermark))
    return found


def _changed_accounts(lake_dir: Path, partner_id: str, watermark: datetime) -> set[str]:
    parts = date_partitions(lake_dir, "accounts", partner_id)
    new = [p for p, _ in newer_files(lake_dir, "accounts", partner_id, watermark)]
    if not new:
        return set()
    cols = ["ucic", "account_id", "product", "status"]
    fresh = _rows_after(new, cols, watermark)
    new_dates = {date.fromisoformat(p.parent.name.removeprefix("date=")) for p in new}
    older = sorted(d for d in parts if d < min(new_dates))
    if not older:
        return {v for v in pc.unique(fresh["ucic"]).to_pylist() if v}
    previous = ds.dataset(
        [str(p) for p in sorted(parts[older[-1]].glob("*.parquet"))], format="parquet"
    ).to_table(columns=cols)
    seen = {tuple(r.values()) for r in previous.to_pylist()}
    return {r["ucic"] for r in fresh.to_pylist() if r["ucic"] and tuple(r.values()) not in seen}


def dates_to_enrich(lake_dir: Path, partner_id: str, watermark: datetime | None) -> list[date]:
    """Transaction dates with rows newer than the watermark, and dates never enriched."""
    raw = date_partitions(lake_dir, "transactions", partner_id)
    enriched = date_partitions(lake_dir, ENRICHED, partner_id)
    wanted = {d for d in raw if d not in enriched}
    if watermark is not None:
        for path, _ in newer_files(lake_dir, "transactions", partner_id, watermark):
            wanted.add(date.fromisoformat(path.parent.name.removeprefix("date=")))
    return sorted(wanted)


def default_as_of(lake_dir: Path, partner_id: str) -> date:
    """The newest posting/snapshot date in the lake (not after today): the data's "today"."""
    today = datetime.now(UTC).date()
    dates = [
        d
        for feed in ("transactions", ENRICHED, "accounts")
        for d in date_partitions(lake_dir, feed, partner_id)
        if d <= today
    ]
    return max(dates) if dates else today


# --- the runner ------------------------------------------------------------------------------

Enrich = Callable[[Settings, str, list[date]], int]


def _enrich_with_lake_stage(settings: Settings, partner_id: str, dates: list[date]) -> int:
    try:
        from sightline.enrich.batch import enrich_lake
    except ImportError:  # pragma: no cover - enrichment is part of the package
        log.warning("enrichment is not available; computing on enriched files as they are")
        return 0
    stats = enrich_lake(settings, partner_id, dates=dates)
    return int(getattr(stats, "rows", 0) or 0)


def last_success(session: Session, partner_id: str) -> KliRefresh | None:
    stmt = (
        select(KliRefresh)
        .where(KliRefresh.partner_id == partner_id, KliRefresh.status == "succeeded")
        .order_by(KliRefresh.started_at.desc())
        .limit(1)
    )
    return session.execute(stmt).scalar_one_or_none()


def list_refreshes(session: Session, partner_id: str, *, limit: int = 50) -> list[KliRefresh]:
    stmt = (
        select(KliRefresh)
        .where(KliRefresh.partner_id == partner_id)
        .order_by(KliRefresh.started_at.desc())
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def load_private(session: Session, partner_id: str) -> list[PrivateKli]:
    from sightline.insights.models import PrivateKli as PrivateRow

    rows = session.execute(
        select(PrivateRow).where(PrivateRow.partner_id == partner_id).order_by(PrivateRow.kli_code)
    ).scalars()
    out = []
    for row in rows:
        definition = row.definition or {}
        tree = definition.get("expression")
        if tree is None:
            continue
        out.append(PrivateKli(int(row.kli_code), private_expr.from_json(tree)))
    return out


def run_refresh(
    settings: Settings,
    sessions: sessionmaker[Session],
    partner_id: str,
    *,
    full: bool = False,
    as_of: date | None = None,
    trigger: str = "manual",
    rules: RuleSet | None = None,
    codes: CodeLookup | None = None,
    engine: Engine | None = None,
    enrich: Enrich | None = _enrich_with_lake_stage,
) -> RefreshResult:
    """Run one refresh of a partner end to end and record it (see the module docstring).

    Refreshes of one partner never overlap, across processes too (the scheduler in the server
    and ``sightline refresh`` share ``<data_dir>/run/refresh-<partner>.lock``): a second one
    waits for the first, then sees what it published and only does what is left.
    """
    with partner_lock(settings, partner_id):
        return _locked_refresh(
            settings,
            sessions,
            partner_id,
            full=full,
            as_of=as_of,
            trigger=trigger,
            rules=rules,
            codes=codes,
            engine=engine,
            enrich=enrich,
        )


@contextmanager
def partner_lock(settings: Settings, partner_id: str) -> Iterator[None]:
    run_dir = settings.data_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / f"refresh-{partner_id}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


INTERRUPTED = "Interrupted: the process ended before the refresh finished (nothing was published)."


def _close_interrupted(session: Session, partner_id: str, settings: Settings) -> None:
    """Rows of this partner still ``running``: under the partner's lock no other refresh is in
    progress, so each was left by a process that ended mid-refresh (killed, out of memory, a
    machine restart). Its publication never committed (it commits with the ``succeeded`` row):
    the row is closed as failed, with the reason, instead of staying "running" for ever, and the
    assignments it had spilled are deleted."""
    stale = select(KliRefresh).where(
        KliRefresh.partner_id == partner_id, KliRefresh.status == "running"
    )
    for row in session.execute(stale).scalars():
        row.status = "failed"
        row.ended_at = utcnow()
        row.error = INTERRUPTED
        shutil.rmtree(spill_dir(settings, row.refresh_id), ignore_errors=True)


def spill_dir(settings: Settings, refresh_id: str) -> Path:
    """Where a full refresh computed in ucic ranges keeps each range's assignments until the
    publish reads them back, one at a time (:class:`.pipeline.AssignmentParts`)."""
    return settings.data_dir / "tmp" / refresh_id


def _locked_refresh(
    settings: Settings,
    sessions: sessionmaker[Session],
    partner_id: str,
    *,
    full: bool,
    as_of: date | None,
    trigger: str,
    rules: RuleSet | None,
    codes: CodeLookup | None,
    engine: Engine | None,
    enrich: Enrich | None,
) -> RefreshResult:
    lake_dir = settings.lake_dir
    started = time.perf_counter()
    timings: dict[str, float] = {}
    with transaction(sessions) as session:
        if session.get(Partner, partner_id) is None:
            raise NotFound(f"Partner {partner_id} not found.")
        _close_interrupted(session, partner_id, settings)
        previous = last_success(session, partner_id)
        watermark = previous.watermark if previous is not None else None
        mode = "full" if full or previous is None else "incremental"
        as_of = as_of or default_as_of(lake_dir, partner_id)
        refresh_id = f"ref_{utcnow():%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:8]}"
        session.add(
            KliRefresh(
                refresh_id=refresh_id,
                partner_id=partner_id,
                mode=mode,
                status="running",
                trigger=trigger,
                engine=settings.engine,
                as_of=as_of,
            )
        )
    spill = spill_dir(settings, refresh_id)
    try:
        result = _run(
            settings,
            sessions,
            partner_id,
            refresh_id=refresh_id,
            mode=mode,
            as_of=as_of,
            watermark=watermark,
            rules=rules or load_rules(),
            codes=codes or taxonomy_lookup(),
            engine=engine,
            enrich=enrich,
            timings=timings,
            started=started,
            spill_dir=spill if mode == "full" else None,
        )
    except BaseException as exc:
        with transaction(sessions) as session:
            row = session.get(KliRefresh, refresh_id)
            # once its publication committed a refresh stays succeeded (readers see it); a
            # failure after that (the purge, the final timing) is raised but not logged as one
            if row is not None and row.status == "running":
                row.status = "failed"
                row.ended_at = utcnow()
                row.duration_seconds = round(time.perf_counter() - started, 3)
                row.error = f"{type(exc).__name__}: {exc}"[:4000]
                row.detail = {"timings": timings}
        raise
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    result.timings = timings
    return result


def _run(
    settings: Settings,
    sessions: sessionmaker[Session],
    partner_id: str,
    *,
    refresh_id: str,
    mode: str,
    as_of: date,
    watermark: datetime | None,
    rules: RuleSet,
    codes: CodeLookup,
    engine: Engine | None,
    enrich: Enrich | None,
    timings: dict[str, float],
    started: float,
    spill_dir: Path | None = None,
) -> RefreshResult:
    from sightline.insights.publish import publish_assignments, purge_stale_generations

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - since, 3)
        return now

    lake_dir = settings.lake_dir
    t = time.perf_counter()
    new_watermark = lake_watermark(lake_dir, partner_id)
    enriched_rows = 0
    if enrich is not None:
        dates = dates_to_enrich(lake_dir, partner_id, watermark)
        if dates:
            enriched_rows = enrich(settings, partner_id, dates)
    t = lap("enrich", t)

    scope: list[str] | None = None
    if mode == "incremental":
        assert watermark is not None
        scope = sorted(changed_customers(lake_dir, partner_id, watermark))
    t = lap("scope", t)

    with transaction(sessions) as session:
        private = load_private(session, partner_id)
    own_engine = engine is None
    eng = engine or create_engine(settings)
    try:
        if scope == []:
            computed = None
        else:
            computed = compute_assignments(
                eng,
                lake_dir,
                partner_id,
                as_of=as_of,
                rules=rules,
                codes=codes,
                scope=scope,
                private=private,
                spill_dir=spill_dir,
            )
    finally:
        if own_engine:
            eng.close()
    t = lap("compute", t)

    source: pa.Table | AssignmentParts
    if computed is not None and mode == "full":
        # published part by part: one ucic range's assignments in memory at a time
        source = computed.parts
        assignments = source.num_rows
    else:
        table = pa.table({"ucic": pa.array([], pa.string()), "kli_code": pa.array([], pa.int64())})
        if computed is not None:
            table = computed.assignments
        if scope:
            # customers recomputed without any KLI now: a null-code marker clears their old rows
            present = set(pc.unique(table["ucic"]).to_pylist())
            gone = [u for u in scope if u not in present]
            if gone:
                markers = pa.table(
                    {
                        "ucic": pa.array(gone, pa.string()),
                        "kli_code": pa.nulls(len(gone), pa.int64()),
                        "strength": pa.nulls(len(gone), pa.float64()),
                        "evidence": pa.nulls(len(gone), pa.string()),
                    }
                )
                table = pa.concat_tables([table.select(markers.column_names), markers])
        source = table
        assignments = int(pc.sum(pc.is_valid(table["kli_code"])).as_py() or 0)

    with transaction(sessions) as session:
        if source.num_rows or mode == "full":
            summary = publish_assignments(
                session, partner_id, source, as_of=as_of, full=mode == "full", refresh_id=refresh_id
            )
            gained, lost = summary.gained, summary.lost
        else:
            gained = lost = 0
        t = lap("publish", t)
        row = session.get(KliRefresh, refresh_id)
        if row is None:  # pragma: no cover - the row was committed above
            raise BadRequest(f"Refresh {refresh_id} disappeared.")
        if scope is not None:
            customers = len(scope)
        else:
            customers = computed.customers if computed is not None else 0
        # committed with the publication: readers switch exactly when the log says succeeded
        row.status = "succeeded"
        row.ended_at = utcnow()
        row.duration_seconds = round(time.perf_counter() - started, 3)  # until the commit
        row.customers = customers
        row.assignments = assignments
        row.gained = gained
        row.lost = lost
        row.transactions_enriched = enriched_rows
        row.watermark = new_watermark or watermark
        detail = {
            "unmapped_keys": len(computed.unmapped_keys) if computed else 0,
            "scope": len(scope) if scope is not None else None,
        }
        row.detail = {"timings": dict(timings), **detail}
    t = lap("commit", t)
    with transaction(sessions) as session:
        purge_stale_generations(session, partner_id)
    lap("purge", t)
    # the duration the log keeps covers the publication's commit and the purge after it
    duration = round(time.perf_counter() - started, 3)
    with transaction(sessions) as session:
        row = session.get(KliRefresh, refresh_id)
        if row is not None:
            row.ended_at = utcnow()
            row.duration_seconds = duration
            row.detail = {"timings": dict(timings), **detail}
    return RefreshResult(
        refresh_id=refresh_id,
        partner_id=partner_id,
        mode=mode,
        as_of=as_of,
        customers=customers,
        assignments=assignments,
        gained=gained,
        lost=lost,
        transactions_enriched=enriched_rows,
        duration_seconds=duration,
        unmapped_keys=len(computed.unmapped_keys) if computed else 0,
    )
