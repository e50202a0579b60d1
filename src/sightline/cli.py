"""The ``sightline`` command: one Typer sub-app per domain over the same services as the API."""

from __future__ import annotations

import importlib
from typing import Annotated

import typer
from alembic.util import CommandError
from sqlalchemy.exc import DBAPIError

from sightline.cli_support import console, database_problem, fail, settings
from sightline.store import db

app = typer.Typer(
    help="Sightline: customer insights for banks and credit unions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Serving database.", no_args_is_help=True)
app.add_typer(db_app, name="db")

# Each module has ``register(app)`` adding its commands.
CLI_MODULES = [
    "sightline.partners.cli",
    "sightline.ingest.cli",
    "sightline.synth.cli",
    "sightline.enrich.cli",
    "sightline.taxonomy.cli",
    "sightline.demo_cli",
    "sightline.insights.cli",
]


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "heads",
) -> None:
    """Apply the Alembic migrations to the serving DB."""
    try:
        db.upgrade(settings().resolved_database_url, revision)
    except CommandError as exc:
        fail(f"revision {revision!r}: {exc}", 2)
    except DBAPIError as exc:
        fail(database_problem(exc))
    console.print("database is up to date")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (SIGHTLINE_HOST).")] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (SIGHTLINE_PORT).", min=1, max=65535)
    ] = None,
) -> None:
    """Run the API server with uvicorn."""
    import uvicorn

    s = settings()
    db.upgrade(s.resolved_database_url)
    uvicorn.run(
        "sightline.api.app:create_app",
        factory=True,
        host=host or s.host,
        port=port or s.port,
        workers=s.workers,
        log_config=None,
        access_log=False,
        loop="uvloop",
        http="httptools",
    )


for _name in CLI_MODULES:
    importlib.import_module(_name).register(app)


if __name__ == "__main__":
    app()
