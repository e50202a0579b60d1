"""Dependencies every router uses: the context, a session per request, the caller, its partner.

Secure by default: every router is mounted under ``authenticated`` (see ``app.py``); routes with a
``{partner_id}`` path parameter also pass through ``partner_scope``, which answers 404 for any
partner but the caller's own, exactly as for a partner that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from sightline.api.context import AppContext
from sightline.errors import NotFound, Unauthorized
from sightline.partners.service import Principal, authenticate_bearer
from sightline.store.db import transaction

_bearer = HTTPBearer(auto_error=False, description="A token from /auth/v1/token, or the API key.")


async def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Context = Annotated[AppContext, Depends(get_context)]


def get_session(ctx: Context) -> Iterator[Session]:
    """The request owns the transaction: commit on success, roll back on error."""
    with transaction(ctx.sessions) as session:
        yield session


DbSession = Annotated[Session, Depends(get_session)]


async def get_principal(
    ctx: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller. Async on purpose: a verified credential is served from a short-lived cache
    without leaving the event loop; a miss is one indexed lookup by primary or unique key."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Authorization: Bearer <token or key> is required.")
    cached = ctx.credentials.get(credentials.credentials)
    if cached is not None:
        return cached
    with ctx.sessions() as session:
        principal = authenticate_bearer(
            session, credentials.credentials, server_secret=ctx.settings.secret_key
        )
    ctx.credentials.put(credentials.credentials, principal)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def partner_scope(partner_id: str, principal: CurrentPrincipal) -> str:
    if partner_id != principal.partner_id:
        raise NotFound(f"Partner {partner_id} not found.")
    return partner_id


PartnerId = Annotated[str, Depends(partner_scope)]
