"""What every CLI command shares: settings loaded once at the edge, a unit of work, clean exits."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import NoReturn

import typer
from rich.console import Console
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from sightline.config import Settings, SettingsError, load_settings
from sightline.errors import SightlineError
from sightline.store.db import make_engine, make_sessionmaker, transaction

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


@cache
def settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(str(exc), 2)


def database_problem(exc: DBAPIError) -> str:
    """The driver's own message, without the SQL and parameters SQLAlchemy appends."""
    reason = str(exc.orig).strip()
    if "no such table" in reason or ("relation" in reason and "does not exist" in reason):
        return f"the serving database is not set up ({reason}): run `sightline db upgrade` first."
    return f"serving database error: {reason}"


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A session whose work commits at the end; domain errors become a clean exit."""
    engine = make_engine(settings().resolved_database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            yield session
    except SightlineError as exc:
        fail(str(exc))
    except ValueError as exc:
        fail(str(exc), 2)
    except DBAPIError as exc:
        fail(database_problem(exc))
    finally:
        engine.dispose()


def is_interactive() -> bool:
    return sys.stdout.isatty()
