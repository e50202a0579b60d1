"""Partners, API keys and bearer tokens.

A key is a client id plus a secret shown once; only the SHA-256 of the secret is stored. Secrets
carry 256 bits of randomness, so a fast hash is enough (no password stretching needed) and a key
is found by the hash of the presented secret in one indexed lookup. Tokens are HMAC-signed
``key_id`` + expiry, checked against the key on every request so revocation is immediate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sightline.errors import Conflict, NotFound, Unauthorized
from sightline.partners import repository as repo
from sightline.store.base import utcnow
from sightline.store.models import ApiKey, Partner

PARTNER_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
TOKEN_PREFIX = "slt_"  # noqa: S105 - a prefix, not a secret
SECRET_PREFIX = "sk_"  # noqa: S105 - a prefix, not a secret


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: one key of one partner."""

    partner_id: str
    key_id: str


@dataclass(frozen=True, slots=True)
class NewKey:
    key_id: str
    partner_id: str
    client_id: str
    secret: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_partner(
    session: Session, partner_id: str, *, name: str, webhook_secret: str | None = None
) -> Partner:
    if not PARTNER_ID.match(partner_id):
        raise ValueError(
            "partner_id must be 1-64 lowercase letters, digits, '-' or '_', starting alphanumeric"
        )
    if repo.get_partner(session, partner_id) is not None:
        raise Conflict(f"Partner {partner_id} already exists.")
    partner = Partner(
        partner_id=partner_id, name=name, created_at=utcnow(), webhook_secret=webhook_secret
    )
    repo.add(session, partner)
    repo.audit(session, actor="cli", action="partner.create", partner_id=partner_id)
    return partner


def require_partner(session: Session, partner_id: str) -> Partner:
    partner = repo.get_partner(session, partner_id)
    if partner is None:
        raise NotFound(f"Partner {partner_id} not found.")
    return partner


def create_key(session: Session, partner_id: str) -> NewKey:
    require_partner(session, partner_id)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    new = NewKey(
        key_id="key_" + secrets.token_hex(8),
        partner_id=partner_id,
        client_id="sl_" + secrets.token_hex(10),
        secret=secret,
    )
    repo.add(
        session,
        ApiKey(
            key_id=new.key_id,
            partner_id=partner_id,
            client_id=new.client_id,
            secret_hash=hash_secret(secret),
            created_at=utcnow(),
            last_four=secret[-4:],
        ),
    )
    repo.audit(session, actor="cli", action="key.create", partner_id=partner_id, target=new.key_id)
    return new


def revoke_key(session: Session, key_id: str) -> ApiKey:
    key = repo.get_key(session, key_id)
    if key is None:
        raise NotFound(f"Key {key_id} not found.")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        repo.audit(
            session, actor="cli", action="key.revoke", partner_id=key.partner_id, target=key_id
        )
    return key


def _active(key: ApiKey | None) -> Principal:
    if key is None or key.revoked_at is not None:
        raise Unauthorized("Invalid or revoked credentials.")
    return Principal(partner_id=key.partner_id, key_id=key.key_id)


def authenticate_basic(session: Session, client_id: str, secret: str) -> Principal:
    key = repo.key_by_client_id(session, client_id)
    if key is None or not hmac.compare_digest(key.secret_hash, hash_secret(secret)):
        raise Unauthorized("Invalid client id or secret.")
    return _active(key)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(server_secret: str, payload: str) -> str:
    return _b64(hmac.new(server_secret.encode(), payload.encode(), hashlib.sha256).digest())


def issue_token(principal: Principal, *, server_secret: str, ttl_seconds: int) -> str:
    payload = f"{principal.key_id}.{int(time.time()) + ttl_seconds}"
    return f"{TOKEN_PREFIX}{payload}.{_sign(server_secret, payload)}"


def authenticate_bearer(session: Session, credential: str, *, server_secret: str) -> Principal:
    """A bearer credential is a token from ``/auth/v1/token`` or the key's secret itself."""
    if credential.startswith(TOKEN_PREFIX):
        try:
            key_id, expires, signature = credential.removeprefix(TOKEN_PREFIX).split(".")
            expires_at = int(expires)
        except ValueError:
            raise Unauthorized("Malformed token.") from None
        expected = _sign(server_secret, f"{key_id}.{expires}")
        if not hmac.compare_digest(signature, expected):
            raise Unauthorized("Invalid token.")
        if expires_at < time.time():
            raise Unauthorized("Token expired.")
        return _active(repo.get_key(session, key_id))
    if ":" in credential:  # "client_id:secret" is accepted too
        client_id, _, secret = credential.partition(":")
        return authenticate_basic(session, client_id, secret)
    return _active(repo.key_by_secret_hash(session, hash_secret(credential)))
