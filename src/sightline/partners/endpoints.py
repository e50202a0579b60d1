"""``POST /auth/v1/token``: HTTP Basic (client id : secret) → bearer token. A public route."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from sightline.api.deps import Context, DbSession
from sightline.api.errors import ERROR_RESPONSES
from sightline.errors import Unauthorized
from sightline.partners.schemas import TokenResponse
from sightline.partners.service import authenticate_basic, issue_token

public_router = APIRouter(tags=["auth"])
_basic = HTTPBasic(auto_error=False, description="client_id as user name, secret as password")


@public_router.post(
    "/auth/v1/token", response_model=TokenResponse, responses={401: ERROR_RESPONSES[401]}
)
def create_token(
    ctx: Context,
    session: DbSession,
    credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
) -> TokenResponse:
    if credentials is None:
        raise Unauthorized("HTTP Basic credentials (client_id:secret) are required.")
    principal = authenticate_basic(session, credentials.username, credentials.password)
    ttl = ctx.settings.token_ttl_seconds
    token = issue_token(principal, server_secret=ctx.settings.secret_key, ttl_seconds=ttl)
    return TokenResponse(token=token, expires_in=ttl)
