"""Alerts: a failed run, or one that quarantines more than ``alert_quarantine_share`` of its rows,
is logged as an error and posted to the partner's alert webhooks (Standard Webhooks signed)."""

from __future__ import annotations

import base64
import logging
import secrets
from datetime import UTC, datetime

import httpx
import orjson
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks.webhooks import Webhook

from sightline.config import Settings
from sightline.errors import BadRequest
from sightline.ingest import repository as repo
from sightline.ingest.models import AlertWebhook
from sightline.store.db import transaction

log = logging.getLogger("sightline.ingest.alerts")
TIMEOUT = httpx.Timeout(5.0)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def add_webhook(
    session: Session, partner_id: str, url: str, secret: str | None = None
) -> AlertWebhook:
    if not url.startswith(("http://", "https://")):
        raise BadRequest("Field url must be an http:// or https:// URL.")
    secret = secret or new_secret()
    try:
        if not secret.startswith("whsec_") or len(base64.b64decode(secret[6:], validate=True)) < 16:
            raise ValueError(secret)
        Webhook(secret)
    except Exception:
        raise BadRequest(
            "Field secret must be a Standard Webhooks secret (whsec_<base64>)."
        ) from None
    return repo.add_alert_webhook(session, partner_id, url, secret)


def reason_for(summary: object, threshold: float) -> str | None:
    status = getattr(summary, "status", "")
    if status == "failed":
        return f"run failed: {getattr(summary, 'message', '') or 'no message'}"
    share = float(getattr(summary, "quarantine_share", 0.0))
    if share > threshold:
        return f"{share:.1%} of the rows were quarantined (threshold {threshold:.1%})"
    return None


def alert_if_needed(sessions: sessionmaker[Session], settings: Settings, summary: object) -> bool:
    reason = reason_for(summary, settings.alert_quarantine_share)
    if reason is None:
        return False
    as_dict = getattr(summary, "as_dict")()  # noqa: B009 - RunSummary, imported lazily
    partner_id = as_dict["partner_id"]
    log.error(
        "ingest alert",
        extra={
            "fields": {
                "partner_id": partner_id,
                "run_id": as_dict["run_id"],
                "feed": as_dict["feed"],
                "status": as_dict["status"],
                "reason": reason,
            }
        },
    )
    with transaction(sessions) as session:
        hooks = [(h.url, h.secret) for h in repo.alert_webhooks(session, partner_id)]
    if not hooks:
        return True
    payload = {
        "type": "ingest.run.alert",
        "timestamp": datetime.now(UTC).isoformat(),
        "data": {**as_dict, "reason": reason},
    }
    body = orjson.dumps(payload).decode()
    with httpx.Client(timeout=TIMEOUT) as client:
        for url, secret in hooks:
            msg_id = "msg_" + secrets.token_hex(12)
            now = datetime.now(UTC)
            signature = Webhook(secret).sign(msg_id, now, body)
            headers = {
                "content-type": "application/json",
                "webhook-id": msg_id,
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": signature,
            }
            try:
                resp = client.post(url, content=body, headers=headers)
                if resp.status_code >= 300:
                    log.warning(
                        "alert webhook answered an error",
                        extra={"fields": {"partner_id": partner_id, "status": resp.status_code}},
                    )
            except httpx.HTTPError as exc:
                log.warning(
                    "alert webhook unreachable",
                    extra={"fields": {"partner_id": partner_id, "error": type(exc).__name__}},
                )
    return True
