"""Ingestion services: files (CLI, upload, landing folder), event webhooks, flushes, runs.

A file run owns its units of work, unlike other services: its ``running`` record is committed
first (so a crash leaves a trace), the lake files are published next, and the final counts, the
quarantine and the serving-DB side effects are committed last. Every step after the first is
idempotent, so running the same file again after a crash stores each row exactly once.
"""

from __future__ import annotations

import hashlib
import logging
import mmap
import secrets
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook, WebhookVerificationError

from sightline import lake
from sightline.config import Settings
from sightline.errors import BadRequest, NotFound, PayloadTooLarge, Unauthorized
from sightline.ingest import masking
from sightline.ingest import repository as repo
from sightline.ingest.models import IngestRun
from sightline.ingest.pipeline import Pipeline, PipelineResult, connect
from sightline.ingest.readers import (
    FileProblem,
    Source,
    friendly_duckdb_error,
    from_records,
    open_source,
)
from sightline.ingest.schemas import EVENTS, FEEDS, FeedSchema
from sightline.ingest.validate import validate_record
from sightline.store.base import utcnow
from sightline.store.db import transaction
from sightline.store.models import Partner

log = logging.getLogger("sightline.ingest")

MAX_EVENTS = 1_000
MAX_EVENT_BYTES = 1_000_000
FILE_SUFFIXES = (".csv", ".csv.gz", ".gz", ".parquet", ".ndjson", ".jsonl", ".json", ".ndjson.gz")
SIDE_EFFECTS: dict[str, list[str]] = {
    "customers": ["ucic", "member_id"],
    "consents": ["ucic", "channel", "purpose", "status", "changed_at", "source"],
}
# Feeds whose validation needs the known ucics / member map.
NEEDS_KNOWN = {"accounts", "transactions", "telemetry", "consents", "events"}


@dataclass
class RunSummary:
    run_id: str
    partner_id: str
    feed: str
    source: str
    status: str
    read: int = 0
    stored: int = 0
    quarantined: int = 0
    duplicate: int = 0
    message: str | None = None
    content_hash: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    dates: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """False when nothing could be stored (failed) — the CLI's exit status."""
        return self.status not in ("failed", "interrupted")

    @property
    def quarantine_share(self) -> float:
        return self.quarantined / self.read if self.read else 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for k in ("started_at", "finished_at"):
            data[k] = data[k].isoformat() if data[k] else None
        return data

    @classmethod
    def of(cls, run: IngestRun) -> RunSummary:
        return cls(
            run_id=run.run_id,
            partner_id=run.partner_id,
            feed=run.feed,
            source=run.source,
            status=run.status,
            read=run.rows_read,
            stored=run.rows_stored,
            quarantined=run.rows_quarantined,
            duplicate=run.rows_duplicate,
            message=run.message,
            content_hash=run.content_hash,
            started_at=run.started_at,
            finished_at=run.finished_at,
        )


def new_run_id() -> str:
    return "run_" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f") + "_" + secrets.token_hex(3)


def feed_schema(feed: str) -> FeedSchema:
    schema = FEEDS.get(feed)
    if schema is None:
        raise BadRequest(f"Field feed: {feed!r} is not one of {', '.join(FEEDS)}.")
    return schema


def file_hash(path: Path) -> str:
    """SHA-256 of the file. A regular file is hashed from a read-only memory map: the page
    cache in place, without copying 1.2 GB through ``read`` (a third of the kernel time)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        try:
            mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (ValueError, OSError):  # empty, or not mappable (a pipe): read it
            while chunk := fh.read(4 << 20):
                digest.update(chunk)
            return digest.hexdigest()
        with mapped:
            mapped.madvise(mmap.MADV_SEQUENTIAL)
            digest.update(mapped)
    return digest.hexdigest()


def list_files(path: Path) -> list[Path]:
    """A file, or the data files of a folder (sorted by name; hidden and partial files skipped)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileProblem(f"{path}: no such file or folder.")
    return sorted(
        p
        for p in path.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.name.lower().endswith(FILE_SUFFIXES)
    )


def _known(sessions: sessionmaker[Session], partner_id: str) -> pa.Table:
    with transaction(sessions) as session:
        return repo.known_ids(session, partner_id)


def _require_partner(sessions: sessionmaker[Session], partner_id: str) -> None:
    with transaction(sessions) as session:
        if session.get(Partner, partner_id) is None:
            raise NotFound(f"Partner {partner_id} not found.")


def _status(res: PipelineResult) -> tuple[str, str | None]:
    if res.read == 0:
        return "succeeded", "The file has a header but no rows."
    if res.stored == 0 and res.duplicate == 0:
        return "failed", f"No valid row: all {res.quarantined} rows were quarantined."
    if res.quarantined:
        return "partial", None
    return "succeeded", None


def _start_run(
    sessions: sessionmaker[Session],
    partner_id: str,
    feed: str,
    source: str,
    content_hash: str | None,
) -> IngestRun:
    run = IngestRun(
        run_id=new_run_id(),
        partner_id=partner_id,
        feed=feed,
        source=source,
        content_hash=content_hash,
        status="running",
        rows_read=0,
        rows_stored=0,
        rows_quarantined=0,
        rows_duplicate=0,
        started_at=utcnow(),
    )
    with transaction(sessions) as session:
        repo.mark_interrupted(session, partner_id, feed, exclude=run.run_id)
        repo.add_run(session, run)
    return run


def _finish(
    sessions: sessionmaker[Session],
    run: IngestRun,
    *,
    status: str,
    message: str | None,
    res: PipelineResult | None = None,
    side_effects: Callable[[Session], None] | None = None,
) -> RunSummary:
    with transaction(sessions) as session:
        db_run = session.get(IngestRun, run.run_id)
        assert db_run is not None
        if res is not None:
            db_run.rows_read = res.read
            db_run.rows_stored = res.stored
            db_run.rows_quarantined = res.quarantined
            db_run.rows_duplicate = res.duplicate
            repo.add_quarantine(
                session,
                (
                    {
                        "partner_id": run.partner_id,
                        "run_id": run.run_id,
                        "file": Path(run.source).name,
                        "line": q.line,
                        "field": q.field[:64],
                        "reason": q.reason,
                        "record": q.record,
                    }
                    for q in res.quarantine
                ),
            )
            if res.quarantine_truncated:
                extra = f"only the first {len(res.quarantine)} quarantined rows are kept"
                message = f"{message}; {extra}" if message else extra
        if side_effects is not None:
            side_effects(session)
        db_run.status = status
        db_run.message = message
        db_run.finished_at = utcnow()
        summary = RunSummary.of(db_run)
    if res is not None:
        summary.dates = res.dates
    return summary


def _side_effects(
    feed: str, partner_id: str, run_id: str, res: PipelineResult
) -> Callable[[Session], None] | None:
    valid = res.valid
    if valid is None or valid.num_rows == 0:
        return None
    if feed == "customers":

        def customers(session: Session) -> None:
            repo.upsert_customer_ids(session, partner_id, valid)

        return customers
    if feed == "consents":
        rows = []
        for r in valid.to_pylist():
            changed = r["changed_at"]
            if changed.tzinfo is not None:
                changed = changed.astimezone(UTC).replace(tzinfo=None)
            rows.append({**r, "changed_at": changed})

        def consents(session: Session) -> None:
            repo.record_consents(session, partner_id, rows, run_id)

        return consents
    return None


def run_source(
    sessions: sessionmaker[Session],
    settings: Settings,
    partner_id: str,
    feed: str,
    open_: Callable[[duckdb.DuckDBPyConnection, FeedSchema], Source],
    *,
    source: str,
    content_hash: str | Future[str] | None,
    after_publish: Callable[[Session, str], None] | None = None,
    known: pa.Table | None = None,
) -> RunSummary:
    """Run the pipeline over one source under the partner/feed lock and record the run.
    ``known`` (the partner's ucics and member ids) is loaded here unless the caller did.

    ``content_hash`` may still be computing (a large file's SHA-256 on another thread): the
    pipeline then runs meanwhile, and a file found already ingested when the hash is known is
    dropped from staging and reported skipped, as it is when the hash is known up front."""
    schema = feed_schema(feed)
    lake_dir = settings.lake_dir
    with lake.feed_lock(lake_dir, feed, partner_id):
        if isinstance(content_hash, str):
            with transaction(sessions) as session:
                done = repo.succeeded_run_with_hash(session, partner_id, feed, content_hash)
                done_id = done.run_id if done is not None else None
            if done_id is not None:
                skipped = _start_run(sessions, partner_id, feed, source, content_hash)
                return _finish(
                    sessions,
                    skipped,
                    status="skipped",
                    message=f"Already ingested (same content) by run {done_id}.",
                )
        pending = content_hash if isinstance(content_hash, Future) else None
        known_hash = content_hash if isinstance(content_hash, str) else None
        run = _start_run(sessions, partner_id, feed, source, known_hash)
        lake.clear_stale_staging(lake_dir, feed, partner_id)
        stage = lake.staging_dir(lake_dir, feed, partner_id, run.run_id)
        con = connect()
        try:
            src = open_(con, schema)
            pipe = Pipeline(
                con,
                src,
                schema,
                partner_id=partner_id,
                run_id=run.run_id,
                pii_key=masking.partner_key(settings.secret_key, partner_id),
                lake_dir=lake_dir,
                # loaded by the pipeline while it reads the first chunk
                known=(
                    (lambda: _known(sessions, partner_id))
                    if known is None and feed in NEEDS_KNOWN
                    else known
                ),
            )
            res = pipe.run(stage, side_effect_columns=SIDE_EFFECTS.get(feed))
        except FileProblem as exc:
            return _failed(sessions, run, str(exc))
        except duckdb.Error as exc:
            return _failed(sessions, run, friendly_duckdb_error(exc))
        except Exception as exc:  # a bug: keep the record, never the data in the message
            log.error(
                "ingest run crashed",
                extra={"fields": {"run_id": run.run_id, "error": type(exc).__name__}},
            )
            return _failed(
                sessions, run, f"Internal error ({type(exc).__name__}); see the server log."
            )
        finally:
            con.close()
        if pending is not None:
            try:
                digest = pending.result()
            except OSError as exc:
                lake.discard_staging(stage)
                return _failed(sessions, run, f"Cannot read the file: {exc.strerror or exc}.")
            with transaction(sessions) as session:
                done = repo.succeeded_run_with_hash(session, partner_id, feed, digest)
                done_id = done.run_id if done is not None else None
                repo.set_content_hash(session, run.run_id, digest)
            if done_id is not None:
                lake.discard_staging(stage)
                return _finish(
                    sessions,
                    run,
                    status="skipped",
                    message=f"Already ingested (same content) by run {done_id}.",
                )
        status, message = _status(res)
        lake.publish(lake_dir, feed, partner_id, stage)
        effects = _side_effects(feed, partner_id, run.run_id, res)

        def side(session: Session) -> None:
            if effects is not None:
                effects(session)
            if after_publish is not None:
                after_publish(session, run.run_id)

        summary = _finish(sessions, run, status=status, message=message, res=res, side_effects=side)
    log.info(
        "ingest run finished",
        extra={
            "fields": {
                "run_id": summary.run_id,
                "partner_id": partner_id,
                "feed": feed,
                "status": summary.status,
                "read": summary.read,
                "stored": summary.stored,
                "quarantined": summary.quarantined,
                "duplicate": summary.duplicate,
            }
        },
    )
    return summary


def _failed(sessions: sessionmaker[Session], run: IngestRun, message: str) -> RunSummary:
    return _finish(sessions, run, status="failed", message=message)


def ingest_path(
    sessions: sessionmaker[Session],
    settings: Settings,
    partner_id: str,
    feed: str,
    path: Path,
    *,
    source: str | None = None,
    alert: bool = True,
) -> RunSummary:
    """Ingest one file (CSV, gzipped CSV, Parquet, NDJSON) into the lake and record the run."""
    feed_schema(feed)
    _require_partner(sessions, partner_id)
    label = source or str(path)
    # the file's SHA-256 (which releases the GIL) runs beside the pipeline; a file already
    # ingested is found when both are done (a re-delivery costs one run's work, every first
    # delivery saves the hash's time)
    with ThreadPoolExecutor(1, thread_name_prefix="ingest-hash") as pool:
        summary = run_source(
            sessions,
            settings,
            partner_id,
            feed,
            lambda con, schema: open_source(con, path, schema),
            source=label,
            content_hash=pool.submit(file_hash, path),
        )
    if alert:
        from sightline.ingest.alerts import alert_if_needed

        alert_if_needed(sessions, settings, summary)
    return summary


def ingest_paths(
    sessions: sessionmaker[Session],
    settings: Settings,
    partner_id: str,
    feed: str,
    path: Path,
) -> list[RunSummary]:
    """A file, or every data file of a folder, one run each."""
    return [ingest_path(sessions, settings, partner_id, feed, f) for f in list_files(path)]


# -- event webhooks ------------------------------------------------------------------------------
@dataclass
class Rejected:
    index: int
    event_id: str | None
    errors: list[str]


@dataclass
class EventsResult:
    accepted: int
    duplicate: int
    rejected: list[Rejected]


def verify_signature(partner: Partner, body: bytes, headers: dict[str, str]) -> None:
    """Standard Webhooks signature check when the partner has a ``whsec_…`` secret (5-minute
    tolerance on ``webhook-timestamp``)."""
    if not partner.webhook_secret:
        return
    try:
        hook = Webhook(partner.webhook_secret)
    except (EmptyWebhookSecretError, ValueError):  # stored before secrets were checked
        raise Unauthorized(
            "Webhook signature cannot be checked: the partner's webhook secret is not a"
            " whsec_ secret; set a new one."
        ) from None
    try:
        hook.verify(body, headers, json_parse=False)
    except WebhookVerificationError as exc:
        raise Unauthorized(f"Webhook signature rejected: {exc}.") from None
    # the library lets these escape as bare ValueErrors: a client's error, not a 500
    except UnicodeDecodeError:
        raise BadRequest("Request body is not valid JSON (not UTF-8).") from None
    except ValueError:
        raise Unauthorized(
            "Webhook signature rejected: webhook-signature must be space-separated"
            " v1,<base64> signatures."
        ) from None


def parse_events(body: bytes) -> list[Any]:
    if len(body) > MAX_EVENT_BYTES:
        raise PayloadTooLarge(
            f"The body is larger than {MAX_EVENT_BYTES} bytes; send smaller batches."
        )
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("Request body is not valid JSON.") from None
    if isinstance(data, dict) and "events" in data and set(data) == {"events"}:
        events = data["events"]
        if not isinstance(events, list):
            raise BadRequest("Field events must be a list of event objects.")
    elif isinstance(data, dict):
        events = [data]
    else:
        raise BadRequest('The body must be one event object or {"events": [...]}.')
    if len(events) > MAX_EVENTS:
        raise PayloadTooLarge(
            f"A batch holds at most {MAX_EVENTS} events; this one has {len(events)}."
        )
    if not events:
        raise BadRequest("Field events must not be empty.")
    return events


def accept_events(
    session: Session, partner: Partner, events: list[Any], *, secret_key: str
) -> EventsResult:
    """Validate, mask and store events (insert-or-ignore by event id); the caller commits before
    answering 202."""
    key = masking.partner_key(secret_key, partner.partner_id)
    rejected: list[Rejected] = []
    good: dict[str, dict[str, Any]] = {}
    duplicate = 0
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            rejected.append(Rejected(index, None, ["event: is not a JSON object"]))
            continue
        values, problems = validate_record(EVENTS, event)
        event_id = values.get("event_id")
        if problems:
            rejected.append(Rejected(index, event_id, problems))
            continue
        assert event_id is not None
        if event_id in good:
            duplicate += 1
            continue
        payload = dict(values)
        attrs = event.get("attributes")
        payload["attributes"] = (
            orjson.dumps(masking.scrub_json(key, attrs), option=orjson.OPT_SORT_KEYS).decode()
            if isinstance(attrs, dict)
            else None
        )
        payload.update(masking.mask_record(key, EVENTS, {}))
        good[event_id] = payload
    existing = repo.existing_event_ids(session, partner.partner_id, list(good))
    duplicate += len(existing)
    now = utcnow()
    rows = [
        {"partner_id": partner.partner_id, "event_id": eid, "payload": payload, "received_at": now}
        for eid, payload in good.items()
        if eid not in existing
    ]
    repo.insert_events(session, rows)
    return EventsResult(accepted=len(rows), duplicate=duplicate, rejected=rejected)


def flush_events(
    sessions: sessionmaker[Session], settings: Settings, partner_id: str, *, batch: int = 100_000
) -> RunSummary | None:
    """Write stored webhook events that are not in the lake yet to the ``events`` feed (one run).

    Called by the landing watcher loop (every scan), by ``sightline flush-events`` and by the
    demo. A crash between the lake write and the flush mark is harmless: the next flush finds
    those event ids in the lake and counts them as duplicates.
    """
    with transaction(sessions) as session:
        pending = repo.unflushed_events(session, partner_id, batch)
        records = [{**e.payload, "event_id": e.event_id} for e in pending]
    if not records:
        return None
    ids = [r["event_id"] for r in records]

    def mark(session: Session, run_id: str) -> None:
        repo.mark_flushed(session, partner_id, ids, run_id)

    summary = run_source(
        sessions,
        settings,
        partner_id,
        "events",
        lambda _con, schema: from_records(records, schema, name="webhook"),
        source="webhook",
        content_hash=None,
        after_publish=mark,
    )
    from sightline.ingest.alerts import alert_if_needed

    alert_if_needed(sessions, settings, summary)
    return summary


def flush_all_events(sessions: sessionmaker[Session], settings: Settings) -> list[RunSummary]:
    with transaction(sessions) as session:
        partners = repo.partners_with_unflushed_events(session)
    out = []
    for partner_id in partners:
        summary = flush_events(sessions, settings, partner_id)
        if summary is not None:
            out.append(summary)
    return out


# -- runs ------------------------------------------------------------------------------------------
def list_runs(
    session: Session,
    partner_id: str,
    *,
    limit: int = 50,
    cursor: str | None = None,
    feed: str | None = None,
    status: str | None = None,
) -> tuple[list[RunSummary], str | None]:
    runs = repo.list_runs(
        session, partner_id, limit=limit + 1, before=cursor, feed=feed, status=status
    )
    items = [RunSummary.of(r) for r in runs[:limit]]
    next_cursor = items[-1].run_id if len(runs) > limit and items else None
    return items, next_cursor


def get_run(session: Session, partner_id: str, run_id: str) -> RunSummary:
    run = repo.get_run(session, partner_id, run_id)
    if run is None:
        raise NotFound(f"Run {run_id} not found.")
    return RunSummary.of(run)
