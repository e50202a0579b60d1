from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from sightline.errors import Conflict, NotFound, Unauthorized
from sightline.partners import service
from sightline.store.models import ApiKey, AuditEntry


def test_key_stores_only_a_hash(session: Session) -> None:
    service.create_partner(session, "acme", name="Acme CU")
    key = service.create_key(session, "acme")
    row = session.scalars(select(ApiKey)).one()
    assert key.secret not in (row.secret_hash, row.client_id, row.key_id)
    assert row.secret_hash == service.hash_secret(key.secret)
    principal = service.authenticate_bearer(session, key.secret, server_secret="x" * 32)
    assert principal.partner_id == "acme"


def test_duplicate_partner_and_bad_id(session: Session) -> None:
    service.create_partner(session, "acme", name="Acme CU")
    with pytest.raises(Conflict):
        service.create_partner(session, "acme", name="again")
    with pytest.raises(ValueError, match="partner_id"):
        service.create_partner(session, "Bad Id!", name="x")


def test_revoked_key_and_its_tokens_stop_working(session: Session) -> None:
    service.create_partner(session, "acme", name="Acme CU")
    key = service.create_key(session, "acme")
    principal = service.authenticate_basic(session, key.client_id, key.secret)
    token = service.issue_token(principal, server_secret="s" * 32, ttl_seconds=60)
    assert service.authenticate_bearer(session, token, server_secret="s" * 32) == principal
    service.revoke_key(session, key.key_id)
    for credential in (key.secret, token):
        with pytest.raises(Unauthorized):
            service.authenticate_bearer(session, credential, server_secret="s" * 32)
    actions = session.scalars(select(AuditEntry.action)).all()
    assert actions == ["partner.create", "key.create", "key.revoke"]


def test_tampered_and_expired_tokens(session: Session) -> None:
    service.create_partner(session, "acme", name="Acme CU")
    key = service.create_key(session, "acme")
    principal = service.authenticate_basic(session, key.client_id, key.secret)
    token = service.issue_token(principal, server_secret="s" * 32, ttl_seconds=60)
    with pytest.raises(Unauthorized):
        service.authenticate_bearer(session, token, server_secret="t" * 32)
    expired = service.issue_token(principal, server_secret="s" * 32, ttl_seconds=-5)
    with pytest.raises(Unauthorized, match="expired"):
        service.authenticate_bearer(session, expired, server_secret="s" * 32)
    with pytest.raises(Unauthorized):
        service.authenticate_bearer(session, "slt_garbage", server_secret="s" * 32)


def test_unknown_partner_key(session: Session) -> None:
    with pytest.raises(NotFound):
        service.create_key(session, "nobody")
