"""``sightline enrich INPUT -o OUTPUT`` and ``sightline enrich-lake PARTNER``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sightline.cli_support import console, err_console, fail, settings
from sightline.errors import SightlineError

PROGRESS_FROM = 5_000  # distinct descriptors; smaller jobs finish before a bar would help


def enrich(
    input_path: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT",
            help="CSV or Parquet file with a 'description' column and optionally 'amount', "
            "'direction' (debit|credit), 'mcc', 'trans_category' (olb|pos|other), 'channel'.",
        ),
    ],
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Output file (.csv or .parquet): input + fields."),
    ],
    description_column: Annotated[
        str, typer.Option("--description-column", help="Name of the descriptor column.")
    ] = "description",
) -> None:
    """Cleanse every descriptor of a file: merchant, location, categories, competing FI."""
    from sightline.enrich.batch import enrich_file
    from sightline.enrich.engine import default_enricher

    try:
        engine = default_enricher()
        with _progress() as bar:
            task = bar.add_task("enriching descriptors", total=None, visible=False)

            def tick(done: int, total: int) -> None:
                if total >= PROGRESS_FROM:
                    bar.update(task, completed=done, total=total, visible=True)

            stats = enrich_file(
                input_path,
                output,
                enricher=engine,
                progress=tick,
                description=description_column,
            )
    except SightlineError as exc:
        fail(str(exc))
    console.print(
        f"enriched {stats.rows:,} rows ({stats.distinct_descriptors:,} distinct descriptors) "
        f"in {stats.seconds:.1f} s → {output}"
    )


def enrich_lake_command(
    partner: Annotated[str, typer.Argument(help="Partner id.")],
    dates: Annotated[
        list[str] | None,
        typer.Option("--date", help="Only this posting date (YYYY-MM-DD); repeatable."),
    ] = None,
) -> None:
    """Enrich a partner's lake transactions into lake/enriched_transactions (per date)."""
    from sightline.enrich.batch import enrich_lake

    parsed: list[date] = []
    for d in dates or []:
        try:
            parsed.append(date.fromisoformat(d))
        except ValueError:
            fail(f"--date {d!r} is not a YYYY-MM-DD date", 2)
    try:
        with _progress() as bar:
            task = bar.add_task("enriching descriptors", total=None, visible=False)

            def tick(done: int, total: int) -> None:
                if total >= PROGRESS_FROM:
                    bar.update(task, completed=done, total=total, visible=True)

            stats = enrich_lake(settings(), partner, dates=parsed or None, progress=tick)
    except SightlineError as exc:
        fail(str(exc))
    if not stats.rows:
        err_console.print(f"no transactions in the lake for partner {partner}")
        return
    console.print(
        f"enriched {stats.rows:,} rows, {len(stats.dates)} dates "
        f"({stats.distinct_descriptors:,} distinct descriptors) in {stats.seconds:.1f} s"
    )


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


def register(app: typer.Typer) -> None:
    app.command("enrich")(enrich)
    app.command("enrich-lake")(enrich_lake_command)
