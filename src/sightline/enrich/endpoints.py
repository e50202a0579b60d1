"""``/merchant/v1``: cleanse one descriptor or a batch of up to 1,000.

The routes are ``async`` and call the in-memory Enricher directly (no database, no thread hop);
the answer is serialised with orjson.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter
from fastapi.responses import Response

from sightline.api.deps import PartnerId
from sightline.api.errors import ERROR_RESPONSES
from sightline.enrich import service
from sightline.enrich.schemas import (
    MerchantBatchRequest,
    MerchantBatchResponse,
    MerchantRequest,
    MerchantResponse,
)

router = APIRouter(prefix="/merchant/v1", tags=["merchant"])
_ERRORS: dict[int | str, dict[str, Any]] = {400: ERROR_RESPONSES[400], 404: ERROR_RESPONSES[404]}


@router.post(
    "/partners/{partner_id}/merchant",
    responses={200: {"model": MerchantResponse}, **_ERRORS},
    summary="Cleanse one descriptor",
)
async def cleanse_one(partner_id: PartnerId, body: MerchantRequest) -> Response:
    """Merchant name, location, two category levels, MCC description, the merchant's KLI code,
    competing institution and product, transaction kind, match type and score."""
    return Response(cleanse_one_body(body), media_type="application/json")


def cleanse_one_body(body: MerchantRequest) -> bytes:
    """The 200 body of ``cleanse_one``; the pure-ASGI fast path (``api/fastpath.py``) answers
    the same route with it, so both stay one implementation."""
    return orjson.dumps(service.cleanse(body))


@router.post(
    "/partners/{partner_id}/merchants",
    responses={200: {"model": MerchantBatchResponse}, **_ERRORS},
    summary="Cleanse up to 1,000 descriptors",
)
async def cleanse_batch(partner_id: PartnerId, body: MerchantBatchRequest) -> Response:
    """The same answer as the single route for each item, in order."""
    engine = service.enricher()
    return _json({"items": [service.cleanse(item, engine=engine) for item in body.items]})


def _json(payload: object) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json")
