"""One error shape for every error: ``{"error": [messages], "code": ..., "request_id": ...}``.

``error`` is a list of human-readable messages, which is also the established body of the
merchant endpoint's 400 (``{"error": ["Field merchant_description is required."]}``).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from sightline.api.middleware import REQUEST_ID_KEY
from sightline.errors import SightlineError
from sightline.logs import request_id_var

log = logging.getLogger("sightline.api")

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "bad_request",
    429: "too_many_requests",
}


class ErrorBody(BaseModel):
    error: list[str] = Field(description="Human-readable messages, one per problem.")
    code: str = Field(description="Machine-readable error code.")
    request_id: str = Field(description="The request id, also in the x-request-id header.")


def error_response(status: int, code: str, messages: list[str], **headers: str) -> JSONResponse:
    body = {"error": messages, "code": code, "request_id": request_id_var.get()}
    return JSONResponse(body, status_code=status, headers=headers or None)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) if parts else "body"


def validation_messages(errors: list[Any]) -> list[str]:
    messages = []
    for err in errors:
        field = _field_name(tuple(err.get("loc", ())))
        if err.get("type") == "missing":
            messages.append(f"Field {field} is required.")
        elif err.get("type") == "json_invalid":
            messages.append("Request body is not valid JSON.")
        else:
            messages.append(f"Field {field}: {err.get('msg', 'is invalid')}.")
    return messages


def install(app: FastAPI) -> None:
    @app.exception_handler(SightlineError)
    async def _domain(_: Request, exc: SightlineError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else {}
        return error_response(exc.status_code, exc.code, exc.messages, **headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, "bad_request", validation_messages(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        detail = exc.detail if isinstance(exc.detail, str) else code
        return error_response(exc.status_code, code, [detail])

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette calls this from its outermost middleware, once RequestIdMiddleware has
        # finished: take the id from the scope so the body, header and log line carry it.
        request_id = request.scope.get(REQUEST_ID_KEY) or request_id_var.get()
        token = request_id_var.set(request_id)
        try:
            log.error("unhandled error", exc_info=exc)
            return error_response(
                500,
                "internal_error",
                ["Internal error; quote the request id."],
                **{"x-request-id": request_id},
            )
        finally:
            request_id_var.reset(token)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": code.replace("_", " ")}
    for status, code in ((400, "bad_request"), (401, "unauthorized"), (404, "not_found"))
}
