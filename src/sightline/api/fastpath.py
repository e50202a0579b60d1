"""A pure-ASGI fast path for the two hot lookups, in front of FastAPI's routing.

``POST /merchant/v1/partners/{partner_id}/merchant`` and
``GET /kli/v1/partners/{partner_id}/ucics/{ucic}/kli_assignments`` (no query string) are
answered here when everything is simple: the same credential check as ``api/deps.py``
(:func:`~sightline.api.deps.verify_bearer`: cache, revocation), the caller's own partner, a body
that validates, a customer that exists. The handler code is the routes' own
(``cleanse_one_body``, ``ucic_assignments_body``), so the 200 body is produced once for both paths.
Anything else — another route, a query string, a missing or bad credential, another partner, an
invalid body, an unknown customer, an error — goes on to the FastAPI app unchanged (the request
body replayed), which answers with the one error shape and documents the routes in OpenAPI.

It runs ahead of the whole FastAPI app (``SightlineAPI.__call__`` in ``api/app.py``), and
answers with the request id and access-log line of
:class:`~sightline.api.middleware.RequestIdMiddleware` (the same helpers), so both paths tag and
log requests alike (``scope["route"]`` names the route template).

Why: FastAPI's route matching, dependency solving and body validation cost ≈ 100-150 µs per
request, and its outer layers (telemetry check, error middleware) several more, against
≈ 10-90 µs for the handlers themselves (see ``docs/benchmarks.md``).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sightline.api.deps import verify_bearer
from sightline.api.middleware import log_request, request_id_of
from sightline.logs import request_id_var

if TYPE_CHECKING:
    from sightline.enrich.schemas import MerchantRequest
    from sightline.insights.repository import KliReader

MERCHANT = "/merchant/v1/partners/{partner_id}/merchant"
KLI = "/kli/v1/partners/{partner_id}/ucics/{ucic}/kli_assignments"

_MERCHANT_PREFIX = "/merchant/v1/partners/"
_KLI_PREFIX = "/kli/v1/partners/"
_JSON = b"application/json"


class _Fallthrough(Exception):
    """The fast path declines: the FastAPI app answers instead."""


class FastPath:
    """Answers the hot routes of ``app``; everything else goes to ``fallback`` (the app's own
    ASGI entry). See the module docstring."""

    def __init__(self, app: Any, fallback: ASGIApp) -> None:
        self.app = app
        self.fallback = fallback
        self._routes: dict[str, BaseRoute] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            path: str = scope["path"]
            if path.startswith(_KLI_PREFIX) and scope["method"] == "GET":
                if await self._kli(scope, path, send):
                    return
            elif path.startswith(_MERCHANT_PREFIX) and scope["method"] == "POST":
                await self._merchant(scope, path, receive, send)
                return
        await self.fallback(scope, receive, send)

    def _route(self, scope: Scope, template: str) -> BaseRoute | None:
        """The app's own route for ``template`` if it is still the shipped handler (a test or an
        embedding app that replaced it, or set dependency overrides, gets no fast path)."""
        if self.app.dependency_overrides:
            return None
        if self._routes is None:
            self._routes = _hot_routes(self.app)
        return self._routes.get(template)

    async def _kli(self, scope: Scope, path: str, send: Send) -> bool:
        parts = path.split("/")
        # ['', 'kli', 'v1', 'partners', partner, 'ucics', ucic, 'kli_assignments']
        if (
            len(parts) != 8
            or parts[5] != "ucics"
            or parts[7] != "kli_assignments"
            or not parts[4]
            or not parts[6]
            or scope.get("query_string")
        ):
            return False
        route = self._route(scope, KLI)
        if route is None:
            return False
        started = time.perf_counter()
        app = self.app
        handlers = _handlers()
        try:
            partner_id = _partner(app, scope, parts[4])
            body = await handlers.kli_reader(app.state).run(
                lambda db: handlers.kli_body(db, partner_id=partner_id, ucic=parts[6])
            )
        except Exception:  # FastAPI answers (404, 401, ...) in the one error shape
            return False
        scope["app"] = app
        scope["route"] = route
        await _answer(scope, send, body, started)
        return True

    async def _merchant(self, scope: Scope, path: str, receive: Receive, send: Send) -> None:
        parts = path.split("/")
        # ['', 'merchant', 'v1', 'partners', partner, 'merchant']
        route = (
            self._route(scope, MERCHANT)
            if len(parts) == 6 and parts[5] == "merchant" and parts[4]
            else None
        )
        if route is None:
            await self.fallback(scope, receive, send)
            return
        started = time.perf_counter()
        raw, receive = await _read_body(receive)
        try:
            if raw is None or _header(scope, b"content-type") != _JSON:
                raise _Fallthrough
            _partner(self.app, scope, parts[4])
            handlers = _handlers()
            body = handlers.merchant_body(
                handlers.merchant_request.model_validate(orjson.loads(raw))
            )
        except Exception:  # FastAPI answers (400, 401, 404, ...), one error shape
            await self.fallback(scope, receive, send)
            return
        scope["app"] = self.app
        scope["route"] = route
        await _answer(scope, send, body, started)


@dataclass(frozen=True)
class _Handlers:
    """The routes' own code, imported once on first use (the domain routers import this
    package, so not at import time)."""

    kli_reader: Callable[[Any], KliReader]
    kli_body: Callable[..., bytes]
    merchant_request: type[MerchantRequest]
    merchant_body: Callable[[MerchantRequest], bytes]


@functools.cache
def _handlers() -> _Handlers:
    from sightline.enrich.endpoints import cleanse_one_body
    from sightline.enrich.schemas import MerchantRequest
    from sightline.insights.endpoints import reader_for, ucic_assignments_body

    return _Handlers(reader_for, ucic_assignments_body, MerchantRequest, cleanse_one_body)


def _hot_routes(app: Any) -> dict[str, BaseRoute]:
    """The route of each hot path template (what FastAPI puts in ``scope["route"]``), if it is
    still the shipped handler."""
    from sightline.enrich.endpoints import cleanse_one
    from sightline.insights.endpoints import ucic_kli_assignments

    wanted = {MERCHANT: ("POST", cleanse_one), KLI: ("GET", ucic_kli_assignments)}
    found: dict[str, BaseRoute] = {}
    for context in iter_route_contexts(app.router.routes):
        template = context.path_format
        if template in wanted and template not in found:
            method, endpoint = wanted[template]
            if context.endpoint is endpoint and method in (context.methods or ()):
                found[template] = context.original_route
    return found


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _partner(app: Any, scope: Scope, partner_id: str) -> str:
    """The caller's partner if it is ``partner_id`` (what ``deps.partner_scope`` checks)."""
    header = _header(scope, b"authorization")
    principal = verify_bearer(app.state.ctx, header.decode("latin-1") if header else None)
    if principal.partner_id != partner_id:
        raise _Fallthrough
    return partner_id


async def _read_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole request body (``None`` if the client went away), and a ``receive`` that replays
    what was read for the FastAPI app."""
    chunks: list[bytes] = []
    message: Message = {"type": "http.request", "more_body": True}
    while message["type"] == "http.request" and message.get("more_body", False):
        message = await receive()
        chunks.append(message.get("body", b""))
    raw = b"".join(chunks)
    if message["type"] != "http.request":
        partial = {"type": "http.request", "body": raw, "more_body": True}
        return None, _replay([partial, message], receive)
    return raw, _replay([{"type": "http.request", "body": raw, "more_body": False}], receive)


def _replay(messages: list[Message], receive: Receive) -> Callable[[], Awaitable[Message]]:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


async def _answer(scope: Scope, send: Send, body: bytes, started: float) -> None:
    """200 with the headers Starlette's ``Response(body, media_type="application/json")`` sends,
    in its order, then the request id as ``RequestIdMiddleware`` appends it; the access log."""
    request_id = request_id_of(scope)
    token = request_id_var.set(request_id)
    try:
        headers = [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", _JSON),
            (b"x-request-id", request_id.encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    finally:
        log_request(scope, 200, started)
        request_id_var.reset(token)
