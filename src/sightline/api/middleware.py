"""Pure-ASGI request-id and access-log middleware (BaseHTTPMiddleware costs throughput)."""

from __future__ import annotations

import logging
import os
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sightline.logs import request_id_var

log = logging.getLogger("sightline.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
REQUEST_ID_KEY = "sightline.request_id"
"""Where the request id is kept in the ASGI scope, for the 500 handler (see ``api/errors.py``)."""


def request_id_of(scope: Scope) -> str:
    """The caller's ``X-Request-Id`` (the last one sent) if it is a safe token, else a new one."""
    incoming = ""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            incoming = value.decode("latin-1")
    return incoming if _SAFE_ID.match(incoming) else _uuid4_hex()


def _uuid4_hex() -> str:
    """``uuid.uuid4().hex`` without building a UUID object (a few µs on every request)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    return raw.hex()


def log_request(scope: Scope, status: int, started: float) -> None:
    """The access-log line: method, route template (paths can carry customer ids), status, ms."""
    if log.isEnabledFor(logging.INFO):
        route = scope.get("route")
        log.info(
            "request",
            extra={
                "fields": {
                    "method": scope["method"],
                    "route": getattr(route, "path", "unmatched"),
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                }
            },
        )


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        scope[REQUEST_ID_KEY] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log_request(scope, status["code"], started)
            request_id_var.reset(token)
