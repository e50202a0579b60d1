"""The ASGI app. Routers are mounted under an authenticated group unless listed as public."""

from __future__ import annotations

import functools
import gc
import importlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import _get_api_route_for_openapi
from fastapi.routing import iter_route_contexts
from starlette.types import Receive, Scope, Send

from sightline import __version__
from sightline.api import errors
from sightline.api.context import AppContext
from sightline.api.deps import BEARER_SCHEME, get_principal, partner_scope
from sightline.api.fastpath import FastPath
from sightline.api.middleware import RequestIdMiddleware
from sightline.config import Settings, load_settings
from sightline.logs import configure_logging

# Each module exposes ``router`` (authenticated) and/or ``public_router`` (deliberately public).
ROUTER_MODULES = [
    "sightline.partners.endpoints",
    "sightline.ingest.endpoints",
    "sightline.enrich.endpoints",
    "sightline.insights.endpoints",
    "sightline.insights.private_endpoints",
]

HOT_ROUTERS = ("sightline.enrich.endpoints", "sightline.insights.endpoints")
"""Matched first: the per-transaction and per-customer lookups (see docs/benchmarks.md)."""

DESCRIPTION = """Sightline's REST API. Every route needs `Authorization: Bearer <token or key>`
(get a token from `POST /auth/v1/token` with HTTP Basic client_id:secret). A key of one partner
sees only that partner: any other `/partners/{partner_id}` answers 404."""


class SightlineAPI(FastAPI):
    """FastAPI, with the hot lookups answered ahead of all of it by ``fast_path`` (see
    ``api/fastpath.py``): its outer layers alone cost several µs per request."""

    fast_path: FastPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fast = self.fast_path
        if fast is None or scope["type"] != "http":
            await super().__call__(scope, receive, send)
        else:
            await fast(scope, receive, send)


def create_app(
    settings: Settings | None = None, *, context: AppContext | None = None, fast_path: bool = True
) -> FastAPI:
    """The app; ``fast_path=False`` leaves the hot lookups to FastAPI's routing too (tests and
    benchmarks compare the two)."""
    settings = settings or (context.settings if context else load_settings())
    configure_logging(settings.log_level)
    ctx = context or AppContext.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for hook in app.state.startup_hooks:
            await hook(app)
        # What startup loaded lives as long as the process: keep full collections from
        # re-scanning it (each one a stop-the-world pause that lands in request latency).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            for hook in app.state.shutdown_hooks:
                await hook(app)
            if context is None:
                ctx.engine.dispose()

    app = SightlineAPI(
        title="Sightline",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.startup_hooks = []
    app.state.shutdown_hooks = []
    errors.install(app)
    app.add_middleware(RequestIdMiddleware)
    if fast_path:
        app.fast_path = FastPath(app, functools.partial(FastAPI.__call__, app))

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    modules = [importlib.import_module(name) for name in ROUTER_MODULES]
    for module in modules:
        if hasattr(module, "public_router"):
            app.include_router(module.public_router)
        if hasattr(module, "on_startup"):
            app.state.startup_hooks.append(module.on_startup)
        if hasattr(module, "on_shutdown"):
            app.state.shutdown_hooks.append(module.on_shutdown)
    # Routers are included flat (nesting them costs every request a level of route matching),
    # the hot ones first. A router whose every route depends on ``partner_scope`` is already
    # authenticated by it; any other gets ``get_principal`` on all its routes.
    for module in sorted(modules, key=lambda m: m.__name__ not in HOT_ROUTERS):
        if hasattr(module, "router"):
            scoped = _partner_scoped(module.router)
            app.include_router(
                module.router,
                dependencies=[] if scoped else [Depends(get_principal)],
                responses={401: errors.ERROR_RESPONSES[401]},
            )
    _document_bearer(app)
    return app


def _document_bearer(app: FastAPI) -> None:
    """Authentication reads the header directly (see ``deps._authenticate``), so FastAPI no longer
    sees a security dependency; document the bearer scheme on every operation that depends on
    ``get_principal`` or ``partner_scope``, exactly where HTTPBearer used to appear."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()  # FastAPI caches it until the routes change; the patch is idempotent
        secured: set[tuple[str, str]] = set()
        for context in iter_route_contexts(app.routes):
            route = _get_api_route_for_openapi(context)
            if route is not None and _authenticates(route.dependant):
                secured.update((route.path_format, method.lower()) for method in route.methods)
        components = schema.setdefault("components", {})
        components.setdefault("securitySchemes", {})[BEARER_SCHEME] = {
            "type": "http",
            "description": "A token from /auth/v1/token, or the API key.",
            "scheme": "bearer",
        }
        schemas = components.get("schemas", {})
        error_body = {"$ref": "#/components/schemas/ErrorBody"} if "ErrorBody" in schemas else None
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                if (path, method) in secured:
                    operation["security"] = [{BEARER_SCHEME: []}]
                # a request FastAPI cannot validate is answered 400 with the one error shape
                # (api/errors.py), never FastAPI's 422: document what the API answers
                responses = operation.get("responses", {})
                dropped = responses.pop("422", None) is not None
                if dropped and "400" not in responses and error_body is not None:
                    responses["400"] = {
                        "description": "bad request",
                        "content": {"application/json": {"schema": error_body}},
                    }
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _partner_scoped(router: APIRouter) -> bool:
    """Whether every route of ``router`` passes through ``partner_scope`` (which authenticates)."""
    routes = [_get_api_route_for_openapi(context) for context in iter_route_contexts(router.routes)]
    return bool(routes) and all(
        route is not None and _depends_on(route.dependant, partner_scope) for route in routes
    )


def _depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(dep.call is call or _depends_on(dep, call) for dep in dependant.dependencies)


def _authenticates(dependant: Dependant) -> bool:
    return any(
        dep.call in (get_principal, partner_scope) or _authenticates(dep)
        for dep in dependant.dependencies
    )
