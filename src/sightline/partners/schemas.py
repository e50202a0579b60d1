"""API models for authentication."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TokenResponse(BaseModel):
    token: str = Field(description="Bearer token for the Authorization header.")
    expires_in: int = Field(description="Seconds until the token expires.")
    token_type: str = Field("bearer", description="Always 'bearer'.")
