"""All SQL for partners, keys and the audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sightline.store.base import utcnow
from sightline.store.models import ApiKey, AuditEntry, Partner


def get_partner(session: Session, partner_id: str) -> Partner | None:
    return session.get(Partner, partner_id)


def list_partners(session: Session) -> Sequence[Partner]:
    return session.scalars(select(Partner).order_by(Partner.partner_id)).all()


def add(session: Session, obj: Any) -> None:
    session.add(obj)
    session.flush()


def get_key(session: Session, key_id: str) -> ApiKey | None:
    return session.get(ApiKey, key_id)


def key_by_secret_hash(session: Session, secret_hash: str) -> ApiKey | None:
    return session.scalars(select(ApiKey).where(ApiKey.secret_hash == secret_hash)).first()


def key_by_client_id(session: Session, client_id: str) -> ApiKey | None:
    return session.scalars(select(ApiKey).where(ApiKey.client_id == client_id)).first()


def list_keys(session: Session, partner_id: str | None = None) -> Sequence[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.created_at)
    if partner_id is not None:
        query = query.where(ApiKey.partner_id == partner_id)
    return session.scalars(query).all()


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    partner_id: str | None = None,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            at=utcnow(),
            actor=actor,
            action=action,
            partner_id=partner_id,
            target=target,
            detail=detail,
        )
    )
