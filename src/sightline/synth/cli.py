"""``sightline synth``: write a synthetic FI (feeds + ground truth) to a folder."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from sightline.cli_support import console, fail
from sightline.errors import SightlineError
from sightline.synth.generator import DEFAULT_END_DATE, Format, SynthConfig, generate


def _parse_date(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        fail(f"--end-date {value!r} is not a date in YYYY-MM-DD form", 2)


def synth(
    customers: Annotated[int, typer.Option("--customers", help="Number of customers.")] = 5000,
    months: Annotated[int, typer.Option("--months", help="Months of history.")] = 6,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same files).")] = 42,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("synthetic-fi"),
    fmt: Annotated[str, typer.Option("--format", help="Feed file format: csv or parquet.")] = "csv",
    end_date: Annotated[
        str,
        typer.Option("--end-date", help="Last day of the history (YYYY-MM-DD)."),
    ] = DEFAULT_END_DATE.isoformat(),
) -> None:
    """Generate a synthetic FI: the six input feeds and, under truth/, the ground truth."""
    if fmt not in ("csv", "parquet"):
        fail("Field format must be csv or parquet.", 2)
    chosen: Format = "csv" if fmt == "csv" else "parquet"
    config = SynthConfig(
        customers=customers,
        months=months,
        seed=seed,
        out=out,
        format=chosen,
        end_date=_parse_date(end_date),
    )
    try:
        with console.status("generating…") as status:
            result = generate(config, progress=lambda msg: status.update(f"generating {msg}…"))
    except SightlineError as exc:
        fail(str(exc), 2)
    console.print(
        f"wrote {result.customers:,} customers, {result.accounts:,} accounts, "
        f"{result.transactions:,} transactions, {result.events:,} events, "
        f"{result.telemetry:,} telemetry rows, {result.consents:,} consent changes "
        f"to {result.out} in {result.seconds:.1f} s"
    )


def register(app: typer.Typer) -> None:
    app.command("synth")(synth)
