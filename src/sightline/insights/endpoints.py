"""The ``/kli/v1`` API: KLIs in use by a partner's customers, one customer's KLIs, evidence, and a
streamed bulk export. Paths, parameters and field names are fixed by existing clients.

Every handler is ``async`` and does its SQL through :class:`~sightline.insights.repository.
KliReader` (one indexed query on a covering key, no ORM), with the taxonomy in memory and the
body serialised by orjson.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import anyio.to_thread
import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from sightline.api.deps import PartnerId
from sightline.api.errors import ERROR_RESPONSES
from sightline.errors import BadRequest, NotFound
from sightline.insights import repository as repo
from sightline.insights.repository import Db, KliReader
from sightline.insights.schemas import (
    Assignment,
    EvidenceOut,
    ExportFormat,
    Holder,
    KliDetail,
    KliInUse,
    Page,
)
from sightline.taxonomy.loader import Kli, Taxonomy, load_taxonomy
from sightline.taxonomy.queries import KliFilter, children_of, filter_codes

router = APIRouter(tags=["kli"])
PREFIX = "/kli/v1/partners/{partner_id}"
ERRORS: dict[int | str, dict[str, Any]] = {s: ERROR_RESPONSES[s] for s in (400, 404)}
JSON = "application/json"
EXPORT_BATCH = 5_000
"""Customers per fetch of the export (~12 assignments each)."""

Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page (1-1000).")]
Cursor = Annotated[
    str | None, Query(max_length=200, description="next_cursor of the previous page.")
]
ClassQ = Annotated[str | None, Query(description="PUBLIC or PRIVATE (any depth below).")]
CompetitiveQ = Annotated[str | None, Query(description="Y or N (any depth below).")]
LeafQ = Annotated[str | None, Query(description="Y or N (any depth below).")]


def reader_of(request: Request) -> KliReader:
    """The app's KLI reader, created on first use and closed with the app."""
    return reader_for(request.app.state)


def reader_for(state: Any) -> KliReader:
    """``reader_of`` for the app's ``state`` (the fast path has no ``Request``)."""
    found: KliReader | None = getattr(state, "kli_reader", None)
    if found is None:
        found = state.kli_reader = KliReader(state.ctx.settings.resolved_database_url)

        async def _close(_app: Any) -> None:
            found.close()

        state.shutdown_hooks.append(_close)
    return found


def _json(body: Any) -> Response:
    return Response(orjson.dumps(body), media_type=JSON)


@functools.cache
def _public_fields(code: int) -> dict[str, Any]:
    kli = load_taxonomy().nodes[code]
    return _fields(kli)


def _fields(kli: Kli) -> dict[str, Any]:
    return {
        "kli_code": kli.kli_code,
        "kli_name": kli.kli_name,
        "parent_kli_code": kli.parent_kli_code,
        "kli_class": kli.kli_class,
        "kli_is_competitive": kli.kli_is_competitive,
        "kli_is_leaf": kli.kli_is_leaf,
    }


def _in_use(kli: Kli, ucic_count: int) -> dict[str, Any]:
    return {**_fields(kli), "kli_description": kli.kli_description, "ucic_count": ucic_count}


def _code_cursor(cursor: str | None) -> int:
    if cursor is None:
        return -1
    try:
        return int(cursor)
    except ValueError:
        raise BadRequest("Field cursor is not valid; pass next_cursor unchanged.") from None


def _page_after(codes: list[int], cursor: str | None, limit: int) -> tuple[list[int], str | None]:
    """A page of an ordered code list; the cursor is the last code of the previous page."""
    start = 0
    if cursor is not None:
        after = _code_cursor(cursor)
        try:
            start = codes.index(after) + 1
        except ValueError:
            raise BadRequest("Field cursor is not valid; pass next_cursor unchanged.") from None
    page = codes[start : start + limit]
    more = start + limit < len(codes)
    return page, (str(page[-1]) if more and page else None)


def _known(tree: Taxonomy, code: int) -> Kli:
    kli = tree.nodes.get(code)
    if kli is None:
        raise NotFound(f"KLI {code} not found.")
    return kli


def _customer_codes(db: Db, partner_id: str, ucic: str) -> list[repo.Row]:
    rows = repo.ucic_assignments(db, partner_id, ucic)
    if not rows:
        raise NotFound(f"Customer {ucic} not found.")
    return rows


# --- one customer --------------------------------------------------------------------------------


@router.get(
    PREFIX + "/ucics/{ucic}/kli_assignments",
    response_class=Response,
    responses={200: {"model": Page[Assignment]}, **ERRORS},
    summary="Every KLI one customer holds",
)
async def ucic_kli_assignments(
    partner_id: PartnerId, ucic: str, request: Request, limit: Limit = 100, cursor: Cursor = None
) -> Response:
    work = functools.partial(
        ucic_assignments_body, partner_id=partner_id, ucic=ucic, cursor=cursor, limit=limit
    )
    return Response(await reader_for(request.app.state).run(work), media_type=JSON)


def ucic_assignments_body(
    db: Db, *, partner_id: str, ucic: str, cursor: str | None = None, limit: int = 100
) -> bytes:
    """The 200 body of ``ucic_kli_assignments`` (``NotFound`` for an unknown customer); the
    pure-ASGI fast path (``api/fastpath.py``) answers the same route with it."""
    rows = repo.ucic_assignments(db, partner_id, ucic, after=_code_cursor(cursor), limit=limit + 1)
    if not rows and cursor is None:
        raise NotFound(f"Customer {ucic} not found.")
    public = load_taxonomy().nodes
    items = []
    for code, first, last, strength in rows[:limit]:
        if code in public:
            fields = _public_fields(code)
        else:
            private = repo.private_kli(db, partner_id, code)
            if private is None:  # a private KLI deleted after the refresh
                continue
            fields = _fields(private)
        items.append(
            {**fields, "first_assigned": first, "last_assigned": last, "strength": strength}
        )
    nxt = str(rows[limit - 1][0]) if len(rows) > limit else None
    return orjson.dumps({"items": items, "next_cursor": nxt})


@router.get(
    PREFIX + "/ucics/{ucic}/kli_assignments/{kli_code}/children",
    response_class=Response,
    responses={200: {"model": Page[Assignment]}, **ERRORS},
    summary="KLIs below a code that one customer holds",
)
async def ucic_kli_children(
    partner_id: PartnerId,
    ucic: str,
    kli_code: int,
    request: Request,
    kli_class: ClassQ = None,
    kli_is_competitive: CompetitiveQ = None,
    kli_is_leaf: LeafQ = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Response:
    """Without filters: the direct children of `kli_code` the customer holds (itself or through
    a descendant). With any filter: every KLI at any depth below `kli_code` matching them."""
    flt = KliFilter.parse(kli_class, kli_is_competitive, kli_is_leaf)

    def work(db: Db) -> dict[str, Any]:
        tree = repo.partner_tree(db, partner_id)
        _known(tree, kli_code)
        rows = _customer_codes(db, partner_id, ucic)
        held = {int(r[0]): r for r in rows}
        closure = tree.closure(held)
        codes = [c for c in children_of(tree, kli_code, flt) if c in closure]
        page, nxt = _page_after(codes, cursor, limit)
        items = []
        for code in page:
            kli = tree.nodes[code]
            own = held.get(code)
            if own is not None:
                first, last, strength = own[1], own[2], own[3]
            else:
                below = [held[c] for c in tree.descendants(code) if c in held]
                first = min(r[1] for r in below)
                last = max(r[2] for r in below)
                strength = None
            items.append(
                {
                    **_fields(kli),
                    "first_assigned": first,
                    "last_assigned": last,
                    "strength": strength,
                }
            )
        return {"items": items, "next_cursor": nxt}

    return _json(await reader_of(request).run(work))


@router.get(
    PREFIX + "/ucics/{ucic}/kli_assignments/{kli_code}/evidence",
    response_class=Response,
    responses={200: {"model": EvidenceOut}, **ERRORS},
    summary="Why one customer holds a KLI",
)
async def ucic_kli_evidence(
    partner_id: PartnerId, ucic: str, kli_code: int, request: Request
) -> Response:
    def work(db: Db) -> dict[str, Any]:
        tree = repo.partner_tree(db, partner_id)
        kli = _known(tree, kli_code)
        rows = _customer_codes(db, partner_id, ucic)
        own = next((r for r in rows if int(r[0]) == kli_code), None)
        if own is None:
            raise NotFound(f"Customer {ucic} does not hold KLI {kli_code}.")
        raw = repo.evidence(db, partner_id, ucic, kli_code)
        return {
            "ucic": ucic,
            "kli_code": kli_code,
            "kli_name": kli.kli_name,
            "first_assigned": own[1],
            "last_assigned": own[2],
            "strength": own[3],
            "evidence": orjson.loads(raw) if raw else None,
        }

    return _json(await reader_of(request).run(work))


# --- the partner's customers ---------------------------------------------------------------------


@router.get(
    PREFIX + "/kli_assignments/{kli_code}/children",
    response_class=Response,
    responses={200: {"model": Page[KliInUse]}, **ERRORS},
    summary="KLIs below a code in use by the partner's customers, with customer counts",
)
async def kli_children(
    partner_id: PartnerId,
    kli_code: int,
    request: Request,
    kli_class: ClassQ = None,
    kli_is_competitive: CompetitiveQ = None,
    kli_is_leaf: LeafQ = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Response:
    """Without filters: the direct children of `kli_code` in use. With any filter: every KLI
    at any depth below `kli_code` matching all filters (e.g. 8616194 with kli_is_leaf=Y: the
    merchant leaves under the category nodes). `ucic_count` counts customers holding the KLI
    or any KLI below it."""
    flt = KliFilter.parse(kli_class, kli_is_competitive, kli_is_leaf)

    def work(db: Db) -> dict[str, Any]:
        tree = repo.partner_tree(db, partner_id)
        _known(tree, kli_code)
        counts = repo.counts(db, partner_id)
        codes = [c for c in children_of(tree, kli_code, flt) if c in counts]
        page, nxt = _page_after(codes, cursor, limit)
        items = [_in_use(tree.nodes[c], counts[c][0]) for c in page]
        return {"items": items, "next_cursor": nxt}

    return _json(await reader_of(request).run(work))


@router.get(
    PREFIX + "/kli_details",
    response_class=Response,
    responses={200: {"model": Page[KliInUse]}, **ERRORS},
    summary="Every KLI in use by the partner's customers, with customer counts",
)
async def kli_details(
    partner_id: PartnerId,
    request: Request,
    kli_class: ClassQ = None,
    kli_is_competitive: CompetitiveQ = None,
    kli_is_leaf: LeafQ = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Response:
    flt = KliFilter.parse(kli_class, kli_is_competitive, kli_is_leaf)

    def work(db: Db) -> dict[str, Any]:
        tree = repo.partner_tree(db, partner_id)
        counts = repo.counts(db, partner_id)
        codes = filter_codes(tree, sorted(counts), flt)
        page, nxt = _page_after(codes, cursor, limit)
        return {"items": [_in_use(tree.nodes[c], counts[c][0]) for c in page], "next_cursor": nxt}

    return _json(await reader_of(request).run(work))


@router.get(
    PREFIX + "/kli_details/{kli_code}",
    response_class=Response,
    responses={200: {"model": KliDetail}, **ERRORS},
    summary="One KLI: name, description, flags, parents up to the root, customer counts",
)
async def kli_detail(partner_id: PartnerId, kli_code: int, request: Request) -> Response:
    def work(db: Db) -> dict[str, Any]:
        tree = repo.partner_tree(db, partner_id)
        kli = _known(tree, kli_code)
        ucic_count, direct = repo.counts(db, partner_id).get(kli_code, (0, 0))
        parents = [
            {"kli_code": p, "kli_name": tree.nodes[p].kli_name} for p in tree.ancestors(kli_code)
        ]
        return {**_in_use(kli, ucic_count), "parents": parents, "direct_ucic_count": direct}

    return _json(await reader_of(request).run(work))


@router.get(
    PREFIX + "/kli_assignments/{kli_code}/ucics",
    response_class=Response,
    responses={200: {"model": Page[Holder]}, **ERRORS},
    summary="Customers holding a KLI (or any KLI below it)",
)
async def kli_ucics(
    partner_id: PartnerId,
    kli_code: int,
    request: Request,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Response:
    def work(db: Db) -> dict[str, Any]:
        tree = repo.partner_tree(db, partner_id)
        _known(tree, kli_code)
        counts = repo.counts(db, partner_id)
        codes = [c for c in (kli_code, *tree.descendants(kli_code)) if counts.get(c, (0, 0))[1]]
        if not codes:
            return {"items": [], "next_cursor": None}
        rows = repo.holders(db, partner_id, codes, after=cursor or "", limit=limit + 1)
        items = [
            {"ucic": u, "first_assigned": f, "last_assigned": la, "strength": s}
            for u, f, la, s in rows[:limit]
        ]
        nxt = rows[limit - 1][0] if len(rows) > limit else None
        return {"items": items, "next_cursor": nxt}

    return _json(await reader_of(request).run(work))


# --- bulk export ---------------------------------------------------------------------------------

EXPORT_SCHEMA = pa.schema(
    [
        pa.field("ucic", pa.string()),
        pa.field("kli_code", pa.int64()),
        pa.field("first_assigned", pa.date32()),
        pa.field("last_assigned", pa.date32()),
        pa.field("strength", pa.float64()),
    ]
)
MEDIA = {
    "parquet": "application/vnd.apache.parquet",
    "csv": "text/csv",
    "ndjson": "application/x-ndjson",
}


class _Chunks:
    """A write-only file object collecting what a writer produced since the last ``take``."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.pos = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self.pos

    def flush(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def _batch(rows: list[repo.Row]) -> pa.RecordBatch:
    cols = list(zip(*rows, strict=True))
    dates = [pa.array(c, pa.string()).cast(pa.date32()) if c and isinstance(c[0], str)
             else pa.array(c, pa.date32()) for c in (cols[2], cols[3])]  # fmt: skip
    return pa.RecordBatch.from_arrays(
        [pa.array(cols[0], pa.string()), pa.array(cols[1], pa.int64()), *dates,
         pa.array(cols[4], pa.float64())],
        schema=EXPORT_SCHEMA,
    )  # fmt: skip


def _encode_rows(encode: Callable[[pa.RecordBatch], bytes], rows: list[repo.Row]) -> bytes:
    return encode(_batch(repo.expand(rows)))


def _encoder(fmt: str) -> tuple[Callable[[pa.RecordBatch], bytes], Callable[[], bytes]]:
    if fmt == "parquet":
        sink = _Chunks()
        writer = pq.ParquetWriter(sink, EXPORT_SCHEMA, compression="zstd")

        def parquet(batch: pa.RecordBatch) -> bytes:
            writer.write_batch(batch)
            return sink.take()

        def parquet_end() -> bytes:
            writer.close()
            return sink.take()

        return parquet, parquet_end
    if fmt == "csv":
        state = {"header": True}

        def csv(batch: pa.RecordBatch) -> bytes:
            out = pa.BufferOutputStream()
            pacsv.write_csv(batch, out, pacsv.WriteOptions(include_header=state["header"]))
            state["header"] = False
            return bytes(out.getvalue().to_pybytes())

        def csv_end() -> bytes:
            if state["header"]:
                return ",".join(f'"{n}"' for n in EXPORT_SCHEMA.names).encode() + b"\n"
            return b""

        return csv, csv_end

    def ndjson(batch: pa.RecordBatch) -> bytes:
        opt = orjson.OPT_APPEND_NEWLINE
        return b"".join(orjson.dumps(row, option=opt) for row in batch.to_pylist())

    return ndjson, lambda: b""


@router.get(
    PREFIX + "/kli_assignments/export",
    response_class=StreamingResponse,
    responses={
        200: {"description": "Every assignment: ucic, kli_code, dates, strength."},
        **ERRORS,
    },
    summary="Stream every assignment of every customer (Parquet, CSV or NDJSON)",
)
async def kli_export(
    partner_id: PartnerId,
    request: Request,
    format: Annotated[ExportFormat, Query(description="parquet, csv or ndjson.")] = "parquet",
) -> StreamingResponse:
    """One consistent snapshot (a single statement), streamed in batches; one row per
    (ucic, kli_code) in that order. Join `kli_code` to `kli_details` or `sightline taxonomy
    export` for names."""
    reader = reader_of(request)
    db = await anyio.to_thread.run_sync(reader.fresh)
    cur = KliReader.streaming_cursor(db)
    await anyio.to_thread.run_sync(
        lambda: cur.execute(db.sql(repo.EXPORT_ALL), (partner_id, partner_id))
    )
    encode, finish = _encoder(format)

    async def body() -> AsyncIterator[bytes]:
        try:
            while True:
                rows = await anyio.to_thread.run_sync(cur.fetchmany, EXPORT_BATCH)
                if not rows:
                    break
                chunk = await anyio.to_thread.run_sync(_encode_rows, encode, rows)
                if chunk:
                    yield chunk
            tail = finish()
            if tail:
                yield tail
        finally:
            cur.close()
            db.raw.close()

    ext = {"parquet": "parquet", "csv": "csv", "ndjson": "ndjson"}[format]
    headers = {"Content-Disposition": f'attachment; filename="kli_assignments_{partner_id}.{ext}"'}
    return StreamingResponse(body(), media_type=MEDIA[format], headers=headers)
