"""Dependencies every router uses: the context, a session per request, the caller, its partner.

Secure by default: every router is mounted under ``authenticated`` (see ``app.py``); routes with a
``{partner_id}`` path parameter also pass through ``partner_scope``, which answers 404 for any
partner but the caller's own, exactly as for a partner that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from sightline.api.context import AppContext
from sightline.errors import BadRequest, NotFound, Unauthorized
from sightline.partners.service import Principal, authenticate_bearer
from sightline.store.db import transaction


async def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Context = Annotated[AppContext, Depends(get_context)]


def get_session(ctx: Context) -> Iterator[Session]:
    """The request owns the transaction: commit on success, roll back on error."""
    with transaction(ctx.sessions) as session:
        yield session


DbSession = Annotated[Session, Depends(get_session)]


_PRINCIPAL = "sightline.principal"
"""Where the verified caller is kept in the ASGI scope, so one request authenticates once."""

BEARER_SCHEME = "HTTPBearer"
"""The OpenAPI security scheme every authenticated route documents (see ``app.py``)."""


async def _authenticate(request: Request) -> Principal:
    """Read ``Authorization: Bearer`` straight from the request and verify it.

    One plain function instead of a chain of dependencies (context, HTTPBearer, principal):
    FastAPI resolves every dependency node per request, and the chain cost more than the work.
    Async on purpose: a verified credential is served from a short-lived cache without leaving
    the event loop; a miss is one indexed lookup by primary or unique key."""
    scope = request.scope
    principal: Principal | None = scope.get(_PRINCIPAL)
    if principal is not None:
        return principal
    principal = verify_bearer(request.app.state.ctx, request.headers.get("authorization"))
    scope[_PRINCIPAL] = principal
    return principal


def verify_bearer(ctx: AppContext, header: str | None) -> Principal:
    """The caller behind an ``Authorization`` header value, else :class:`Unauthorized`.

    Shared by the dependencies above and the pure-ASGI fast path (``api/fastpath.py``), so both
    apply the same credential cache and the same revocation semantics."""
    scheme, _, credential = (header or "").partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise Unauthorized("Authorization: Bearer <token or key> is required.")
    principal = ctx.credentials.get(credential)
    if principal is None:
        with ctx.sessions() as session:
            principal = authenticate_bearer(
                session, credential, server_secret=ctx.settings.secret_key
            )
        ctx.credentials.put(credential, principal)
    return principal


async def get_principal(request: Request) -> Principal:
    """The caller."""
    return await _authenticate(request)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def partner_scope(partner_id: str, request: Request) -> str:
    """The caller's own partner id, else 404 exactly as for a partner that does not exist.
    Authenticates by itself (one dependency node), reusing the router-level check if it ran."""
    principal = await _authenticate(request)
    if partner_id != principal.partner_id:
        raise NotFound(f"Partner {partner_id} not found.")
    _reject_nul(request)
    return partner_id


def _reject_nul(request: Request) -> None:
    """400 for a path or query value holding NUL: PostgreSQL refuses NUL in text, so such a
    value would otherwise fail deep inside a query as a 500 (SQLite would answer differently)."""
    scope = request.scope
    query: bytes = scope.get("query_string", b"")
    if "\x00" not in scope["path"] and b"%00" not in query and b"\x00" not in query:
        return
    params = [*request.path_params.items(), *request.query_params.multi_items()]
    bad = dict.fromkeys(name for name, value in params if "\x00" in str(value))
    if bad:
        raise BadRequest(*(f"Field {name} must not contain NUL characters." for name in bad))


PartnerId = Annotated[str, Depends(partner_scope)]
