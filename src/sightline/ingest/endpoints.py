"""Ingestion API: event webhooks, file uploads, runs and their quarantined rows, consents."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from sightline.api.deps import Context, DbSession, PartnerId
from sightline.api.errors import ERROR_RESPONSES, ErrorBody
from sightline.errors import BadRequest, NotFound, PayloadTooLarge
from sightline.ingest import repository as repo
from sightline.ingest import service
from sightline.ingest.api_models import (
    ConsentItem,
    Consents,
    EventsAccepted,
    QuarantineItem,
    QuarantinePage,
    RejectedEvent,
    Run,
    RunPage,
)
from sightline.ingest.safety import to_csv
from sightline.store.db import transaction
from sightline.store.models import Partner

log = logging.getLogger("sightline.ingest")
router = APIRouter(prefix="/ingest/v1/partners/{partner_id}", tags=["ingest"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    413: {"model": ErrorBody, "description": "payload too large"},
}
MAX_UPLOAD_BYTES = 4 << 30
MAX_ROW_ID = (1 << 63) - 1


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes; send smaller batches.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body is larger than {limit} bytes; send smaller batches.")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/events",
    status_code=202,
    response_model=EventsAccepted,
    responses=RESPONSES,
    summary="Post one event or a batch {events: [...]} (≤ 1,000 events, ≤ 1 MB).",
)
async def post_events(partner_id: PartnerId, ctx: Context, request: Request) -> EventsAccepted:
    """Answers 202 only once the accepted events are committed to the serving DB. When the
    partner has a webhook secret, the Standard Webhooks headers (`webhook-id`,
    `webhook-timestamp`, `webhook-signature`) must verify, within 5 minutes."""
    body = await _read_body(request, service.MAX_EVENT_BYTES)
    headers = {k.lower(): v for k, v in request.headers.items()}

    def store() -> service.EventsResult:
        with transaction(ctx.sessions) as session:
            partner = session.get(Partner, partner_id)
            if partner is None:
                raise NotFound(f"Partner {partner_id} not found.")
            service.verify_signature(partner, body, headers)
            events = service.parse_events(body)
            return service.accept_events(
                session, partner, events, secret_key=ctx.settings.secret_key
            )

    result = await run_in_threadpool(store)
    return EventsAccepted(
        accepted=result.accepted,
        duplicate=result.duplicate,
        rejected=[
            RejectedEvent(index=r.index, event_id=r.event_id, errors=r.errors)
            for r in result.rejected
        ],
    )


def _file_name(raw: str, field: str) -> str:
    """The last component of a client-supplied file name, else a 400 naming the field (``..``
    or ``/`` would name the upload directory itself; NUL or >255 bytes are refused by the OS)."""
    name = Path(raw).name
    if name in ("", ".", "..") or "\x00" in name or len(name.encode()) > 255:
        raise BadRequest(f"Field {field} must be a plain file name (got {raw[:100]!r}).")
    return name


@router.post(
    "/events/flush",
    response_model=Run | None,
    responses=RESPONSES,
    summary="Write the stored webhook events to the lake now (the watcher does it every scan).",
)
async def flush_events(partner_id: PartnerId, ctx: Context) -> Run | None:
    summary = await run_in_threadpool(service.flush_events, ctx.sessions, ctx.settings, partner_id)
    return Run.of(summary) if summary is not None else None


@router.post(
    "/files/{feed}",
    response_model=Run,
    responses=RESPONSES,
    summary="Upload a file (multipart field `file`, or the raw body): CSV, gzipped CSV, Parquet, "
    "NDJSON.",
)
async def upload_file(
    partner_id: PartnerId,
    feed: str,
    ctx: Context,
    request: Request,
    filename: Annotated[str | None, Query(description="File name (raw-body uploads).")] = None,
) -> Run:
    service.feed_schema(feed)
    uploads = ctx.settings.data_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    content_type = request.headers.get("content-type", "")
    with tempfile.TemporaryDirectory(dir=uploads) as tmp:
        name = _file_name(filename, "filename") if filename else f"{feed}.upload"
        if content_type.startswith("multipart/form-data"):
            form = await request.form(max_part_size=MAX_UPLOAD_BYTES)
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise BadRequest("Field file is required (multipart/form-data).")
            name = _file_name(upload.filename, "file.filename") if upload.filename else name
            target = Path(tmp) / name
            with target.open("wb") as out:
                while chunk := await upload.read(1 << 20):
                    out.write(chunk)
            await form.close()
        else:
            target = Path(tmp) / name
            size = 0
            with target.open("wb") as out:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > MAX_UPLOAD_BYTES:
                        raise PayloadTooLarge(f"Uploads are limited to {MAX_UPLOAD_BYTES} bytes.")
                    out.write(chunk)
        summary = await run_in_threadpool(
            service.ingest_path,
            ctx.sessions,
            ctx.settings,
            partner_id,
            feed,
            target,
            source=f"upload:{name}",
        )
    if summary.status == "failed":
        raise BadRequest(f"{summary.message} (run {summary.run_id})")
    return Run.of(summary)


@router.get(
    "/runs", response_model=RunPage, responses=RESPONSES, summary="Ingestion runs, newest first."
)
def list_runs(
    partner_id: PartnerId,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
    feed: str | None = None,
    status: str | None = None,
) -> RunPage:
    items, next_cursor = service.list_runs(
        session, partner_id, limit=limit, cursor=cursor, feed=feed, status=status
    )
    return RunPage(items=[Run.of(i) for i in items], next_cursor=next_cursor)


@router.get("/runs/{run_id}", response_model=Run, responses=RESPONSES)
def get_run(partner_id: PartnerId, run_id: str, session: DbSession) -> Run:
    return Run.of(service.get_run(session, partner_id, run_id))


@router.get(
    "/runs/{run_id}/quarantine",
    response_model=QuarantinePage,
    responses=RESPONSES,
    summary="Quarantined rows of a run (format=csv for a spreadsheet-safe CSV).",
)
def run_quarantine(
    partner_id: PartnerId,
    run_id: str,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
    cursor: str | None = None,
    format: Literal["json", "csv"] = "json",
) -> Any:
    service.get_run(session, partner_id, run_id)
    after = None
    if cursor is not None:
        if not (cursor.isascii() and cursor.isdigit()) or int(cursor) > MAX_ROW_ID:
            raise BadRequest("Field cursor: must be the next_cursor of a previous page.")
        after = int(cursor)
    rows = repo.list_quarantine(session, partner_id, run_id, limit=limit + 1, after=after)
    page = rows[:limit]
    next_cursor = str(page[-1].id) if len(rows) > limit and page else None
    if format == "csv":
        keys: list[str] = []
        for r in page:
            keys.extend(k for k in (r.record or {}) if k not in keys)
        body = to_csv(
            ["line", "field", "reason", *keys],
            [
                [r.line, r.field, r.reason, *[_cell((r.record or {}).get(k)) for k in keys]]
                for r in page
            ],
        )
        headers = {"content-disposition": f'attachment; filename="{run_id}-quarantine.csv"'}
        if next_cursor:
            headers["x-next-cursor"] = next_cursor
        return Response(body, media_type="text/csv; charset=utf-8", headers=headers)
    return QuarantinePage(
        items=[
            QuarantineItem(
                id=r.id, file=r.file, line=r.line, field=r.field, reason=r.reason, record=r.record
            )
            for r in page
        ],
        next_cursor=next_cursor,
    )


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return value


@router.get(
    "/ucics/{ucic}/consents",
    response_model=Consents,
    responses=RESPONSES,
    summary="A customer's current consent per channel and purpose, and the full history.",
)
def get_consents(partner_id: PartnerId, ucic: str, session: DbSession) -> Consents:
    def item(row: Any) -> ConsentItem:
        return ConsentItem(
            channel=row.channel,
            purpose=row.purpose,
            status=row.status,
            changed_at=row.changed_at,
            source=row.source,
        )

    return Consents(
        ucic=ucic,
        current=[item(r) for r in repo.consent_state(session, partner_id, ucic)],
        history=[item(r) for r in repo.consent_history(session, partner_id, ucic)],
    )


# -- the landing watcher inside `sightline serve` ------------------------------------------------
async def on_startup(app: FastAPI) -> None:
    ctx = app.state.ctx
    if not ctx.settings.watch_landing_enabled:
        return
    from sightline.ingest.watcher import run_forever

    stop = asyncio.Event()
    app.state.ingest_watch_stop = stop
    app.state.ingest_watch_task = asyncio.create_task(run_forever(ctx.sessions, ctx.settings, stop))
    log.info(
        "landing watcher started",
        extra={"fields": {"landing": str(ctx.settings.resolved_landing_dir)}},
    )


async def on_shutdown(app: FastAPI) -> None:
    stop = getattr(app.state, "ingest_watch_stop", None)
    task = getattr(app.state, "ingest_watch_task", None)
    if stop is None or task is None:
        return
    stop.set()
    try:
        await asyncio.wait_for(task, timeout=30)
    except TimeoutError:
        task.cancel()
