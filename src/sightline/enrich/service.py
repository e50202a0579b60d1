"""The merchant service: one process-wide :class:`Enricher`, and the API answer shape."""

from __future__ import annotations

import gc
import secrets
from typing import Any

from sightline.enrich.engine import Enricher, Enrichment, default_enricher
from sightline.enrich.schemas import MerchantRequest

_enricher: list[Enricher] = []

NETWORK = {
    "card_purchase": "CARD",
    "refund": "CARD",
    "ach_debit": "ACH",
    "ach_credit": "ACH",
    "payroll": "ACH",
    "p2p": "P2P",
    "check": "CHECK",
    "atm": "ATM",
    "transfer": "TRANSFER",
    "fee": "INTERNAL",
    "interest": "INTERNAL",
}


def enricher() -> Enricher:
    """The process-wide Enricher, built on first use (directory load + automata)."""
    if not _enricher:
        _enricher.append(default_enricher())
        # The directory and automata live as long as the process: move them out of the cyclic
        # collector's view, so full collections (stop-the-world pauses of tens of ms at serving
        # time) stop re-scanning them.
        gc.collect()
        gc.freeze()
    return _enricher[0]


def use_enricher(instance: Enricher | None) -> None:
    """Replace the process-wide Enricher (tests, or a custom directory); ``None`` resets it."""
    _enricher.clear()
    if instance is not None:
        _enricher.append(instance)


def cleanse(request: MerchantRequest, *, engine: Enricher | None = None) -> dict[str, Any]:
    """Enrich one API request and shape the answer (the established fields plus Sightline's)."""
    r = (engine or enricher()).enrich(
        request.merchant_description,
        direction=request.trans_type,
        mcc=request.mcc,
        trans_category=request.trans_category,
    )
    return response_body(r, trans_type=request.trans_type, network=_network(r, request))


def _network(r: Enrichment, request: MerchantRequest) -> str:
    if r.transaction_kind == "refund" and request.trans_category == "olb":
        return "ACH"
    return NETWORK.get(r.transaction_kind, "OTHER")


def response_body(r: Enrichment, *, trans_type: str, network: str) -> dict[str, Any]:
    return {
        "matchType": r.match_type,
        "matchScore": r.match_score,
        "transId": secrets.token_hex(12),
        "transType": trans_type,
        "network": network,
        "matchDetail": {
            "cleansed": r.cleansed,
            "merchant": {
                "classification": r.merchant_name,
                "logoUrl": r.logo_url,
                "location": {
                    "city": r.city,
                    "state": r.state,
                    "zip": None,
                    "country": "US" if r.state else None,
                },
            },
            "category1": {"classification": r.category_group},
            "category2": {"classification": r.category},
            "mcc": {"classification": r.mcc_description},
        },
        "cleansed": r.cleansed,
        "merchant_id": r.merchant_id,
        "merchant_name": r.merchant_name,
        "sub_merchant": r.sub_merchant,
        "city": r.city,
        "state": r.state,
        "category": r.category,
        "category_group": r.category_group,
        "pfc_primary": r.pfc_primary,
        "pfc_detailed": r.pfc_detailed,
        "mcc_description": r.mcc_description,
        "merchant_kli_code": r.merchant_kli_code,
        "competitive_fi": r.competitive_fi,
        "competitive_fi_id": r.competitive_fi_id,
        "fi_product": r.fi_product,
        "transaction_kind": r.transaction_kind,
        "match_type": r.match_type,
        "match_score": r.match_score,
    }
