"""The ASGI app. Routers are mounted under an authenticated group unless listed as public."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI

from sightline import __version__
from sightline.api import errors
from sightline.api.context import AppContext
from sightline.api.deps import get_principal
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

DESCRIPTION = """Sightline's REST API. Every route needs `Authorization: Bearer <token or key>`
(get a token from `POST /auth/v1/token` with HTTP Basic client_id:secret). A key of one partner
sees only that partner: any other `/partners/{partner_id}` answers 404."""


def create_app(settings: Settings | None = None, *, context: AppContext | None = None) -> FastAPI:
    settings = settings or (context.settings if context else load_settings())
    configure_logging(settings.log_level)
    ctx = context or AppContext.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for hook in app.state.startup_hooks:
            await hook(app)
        try:
            yield
        finally:
            for hook in app.state.shutdown_hooks:
                await hook(app)
            if context is None:
                ctx.engine.dispose()

    app = FastAPI(
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

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    authenticated = APIRouter(
        dependencies=[Depends(get_principal)], responses={401: errors.ERROR_RESPONSES[401]}
    )
    for name in ROUTER_MODULES:
        module = importlib.import_module(name)
        if hasattr(module, "public_router"):
            app.include_router(module.public_router)
        if hasattr(module, "router"):
            authenticated.include_router(module.router)
        if hasattr(module, "on_startup"):
            app.state.startup_hooks.append(module.on_startup)
        if hasattr(module, "on_shutdown"):
            app.state.shutdown_hooks.append(module.on_shutdown)
    app.include_router(authenticated)
    return app
