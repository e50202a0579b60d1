"""``sightline refresh --partner ID [--full]`` and ``sightline refresh-log --partner ID``."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.exc import DBAPIError

from sightline.cli_support import console, database_problem, fail, settings, unit_of_work
from sightline.errors import SightlineError
from sightline.store.db import make_engine, make_sessionmaker


def refresh(
    partner: Annotated[str, typer.Option("--partner", help="Partner id.")],
    full: Annotated[
        bool, typer.Option("--full", help="Recompute every customer (default: incremental).")
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Date the windows end on (YYYY-MM-DD); default: newest lake date."
        ),
    ] = None,
    rules_file: Annotated[
        Path | None, typer.Option("--rules", help="A rule file (YAML); default: packaged rules.")
    ] = None,
    no_enrich: Annotated[
        bool, typer.Option("--no-enrich", help="Do not enrich new transactions first.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Enrich new transactions, compute the KLIs and publish them (full or incremental)."""
    from sightline.insights.refresh import run_refresh
    from sightline.insights.rules import load_rules

    s = settings()
    day: date | None = None
    if as_of is not None:
        try:
            day = date.fromisoformat(as_of)
        except ValueError:
            fail(f"--as-of {as_of!r} is not a YYYY-MM-DD date", 2)
    engine = make_engine(s.resolved_database_url)
    try:
        rules = load_rules(rules_file) if rules_file else None
        with console.status(f"refreshing {partner} ({'full' if full else 'incremental'})…"):
            if no_enrich:
                result = run_refresh(
                    s, make_sessionmaker(engine), partner, full=full, as_of=day, rules=rules,
                    enrich=None,
                )  # fmt: skip
            else:
                result = run_refresh(
                    s, make_sessionmaker(engine), partner, full=full, as_of=day, rules=rules
                )
    except SightlineError as exc:
        fail(str(exc))
    except DBAPIError as exc:
        fail(database_problem(exc))
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(result.as_dict()))
        return
    console.print(
        f"[bold]{result.refresh_id}[/] {result.mode} refresh of {partner} as of {result.as_of}: "
        f"{result.customers:,} customers, {result.assignments:,} assignments "
        f"(+{result.gained:,} / -{result.lost:,}) in {result.duration_seconds:.1f}s"
    )


def refresh_log(
    partner: Annotated[str, typer.Option("--partner", help="Partner id.")],
    limit: Annotated[int, typer.Option(help="Most recent refreshes to show.", min=1)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a partner's recent refreshes with their counts and durations."""
    from sightline.insights.refresh import list_refreshes
    from sightline.partners.service import require_partner

    with unit_of_work() as session:
        require_partner(session, partner)
        rows = [
            {
                "refresh_id": r.refresh_id,
                "mode": r.mode,
                "trigger": r.trigger,
                "status": r.status,
                "as_of": r.as_of.isoformat(),
                "started_at": r.started_at.isoformat(timespec="seconds"),
                "duration_seconds": r.duration_seconds,
                "customers": r.customers,
                "assignments": r.assignments,
                "gained": r.gained,
                "lost": r.lost,
                "error": r.error,
            }
            for r in list_refreshes(session, partner, limit=limit)
        ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table("refresh_id", "mode", "trigger", "status", "as_of", "started", "secs",
                  "customers", "assignments", "gained", "lost")  # fmt: skip
    for r in rows:
        table.add_row(
            *(
                str(r[k])
                for k in ("refresh_id", "mode", "trigger", "status", "as_of", "started_at")
            ),
            f"{float(r['duration_seconds'] or 0):.1f}",
            *(f"{r[k]:,}" for k in ("customers", "assignments", "gained", "lost")),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("refresh")(refresh)
    app.command("refresh-log")(refresh_log)
