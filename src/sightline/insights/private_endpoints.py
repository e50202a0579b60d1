"""``/kli/v1/partners/{partner_id}/private_klis``: a partner's own (PRIVATE) KLIs.

Also starts the refresh scheduler with the app (see :mod:`sightline.insights.scheduler`): the
router's lifespan runs the scheduler's startup and shutdown hooks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Response

from sightline.api.deps import DbSession, PartnerId
from sightline.api.errors import ERROR_RESPONSES
from sightline.errors import BadRequest, NotFound
from sightline.insights import private_service as service
from sightline.insights import scheduler
from sightline.insights.private import PRIVATE_CODE_MAX
from sightline.insights.private_service import PrivateKliCreate, PrivateKliOut


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    await scheduler.startup_hook(app)
    try:
        yield
    finally:
        await scheduler.shutdown_hook(app)


router = APIRouter(tags=["kli"], lifespan=_lifespan)
PREFIX = "/kli/v1/partners/{partner_id}/private_klis"
ERRORS: dict[int | str, dict[str, Any]] = {
    s: ERROR_RESPONSES[s] for s in (400, 404, 409) if s in ERROR_RESPONSES
}


@router.post(PREFIX, status_code=201, response_model=PrivateKliOut, responses=ERRORS)
def create_private_kli(
    partner_id: PartnerId, session: DbSession, body: PrivateKliCreate
) -> PrivateKliOut:
    """Define a private KLI; customers get it from the partner's next refresh on."""
    return service.to_out(service.create_private_kli(session, partner_id, body))


@router.get(PREFIX, responses=ERRORS)
def list_private_klis(
    partner_id: PartnerId,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=1000, description="Items per page.")] = 100,
    cursor: Annotated[str | None, Query(max_length=20, description="next_cursor.")] = None,
) -> dict[str, Any]:
    """The partner's private KLIs in code order: ``{"items": [...], "next_cursor": ...}``."""
    after = None
    if cursor is not None:
        # isdigit() alone admits '²' (int() refuses it); codes never exceed PRIVATE_CODE_MAX
        if not (cursor.isascii() and cursor.isdigit()) or int(cursor) > PRIVATE_CODE_MAX:
            raise BadRequest("Field cursor is not valid.")
        after = int(cursor)
    rows = service.list_private_klis(session, partner_id, after=after, limit=limit + 1)
    items = [service.to_out(r).model_dump() for r in rows[:limit]]
    next_cursor = str(rows[limit - 1].kli_code) if len(rows) > limit else None
    return {"items": items, "next_cursor": next_cursor}


def _storable(kli_code: int) -> int:
    """404 for a code no private KLI can have (beyond the column's range: a 500 otherwise)."""
    if not 0 <= kli_code <= PRIVATE_CODE_MAX:
        raise NotFound(f"Private KLI {kli_code} not found.")
    return kli_code


@router.get(PREFIX + "/{kli_code}", response_model=PrivateKliOut, responses=ERRORS)
def get_private_kli(partner_id: PartnerId, session: DbSession, kli_code: int) -> PrivateKliOut:
    return service.to_out(service.get_private_kli(session, partner_id, _storable(kli_code)))


@router.delete(PREFIX + "/{kli_code}", status_code=204, responses=ERRORS)
def delete_private_kli(partner_id: PartnerId, session: DbSession, kli_code: int) -> Response:
    """Delete a private KLI; its assignments go with the partner's next refresh."""
    service.delete_private_kli(session, partner_id, _storable(kli_code))
    return Response(status_code=204)
